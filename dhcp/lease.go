package dhcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/rfc1035label"

	"github.com/netprim/netprim"
)

// Limits on what a lease may carry. Longer options are dropped with an
// error naming them.
const (
	// MaxStaticRoutes is the most classless static routes (option 121)
	// a lease may carry.
	MaxStaticRoutes = 64
	// MaxServers is the most DNS or NTP servers taken from one option.
	MaxServers = 16
	// MaxSearchDomains is the most search domains taken from option 119.
	MaxSearchDomains = 32
	// MinMTU is the smallest interface MTU (option 26) accepted: every
	// host must accept datagrams of 576 octets (RFC 791, RFC 1122
	// 3.3.3), so a smaller MTU, although RFC 2132 allows down to 68, is
	// taken for a broken or hostile server. An MTU from 576 to 1279 is
	// applied, but the kernel disables IPv6 on a link whose MTU is below
	// IPv6's minimum of 1280 (RFC 8200).
	MinMTU = 576
)

// InfiniteLease is the lease time of a lease that never expires (the
// value 0xffffffff of option 51).
const InfiniteLease = time.Duration(0xffffffff) * time.Second

// Lease is an IPv4 lease as the client holds it: what the server's DHCPACK
// assigned, checked and converted to net/netip values. Options that were
// malformed or out of range are left out (see ParseAck).
type Lease struct {
	// Link is the name of the link the lease was obtained on.
	Link string `json:"link"`
	// Address is the leased address with the prefix length of the subnet
	// mask (option 1, or the classful mask when the server sent none).
	Address netip.Prefix `json:"address"`
	// Server is the server identifier (option 54).
	Server netip.Addr `json:"server"`
	// Routers are the routers of option 3, in order; empty when the lease
	// carries classless static routes (option 121 replaces option 3, RFC
	// 3442).
	Routers []netip.Addr `json:"routers,omitempty"`
	// Routes are the classless static routes of option 121.
	Routes []Route `json:"routes,omitempty"`
	// DNS are the DNS servers of option 6.
	DNS []netip.Addr `json:"dns,omitempty"`
	// DomainName is option 15.
	DomainName string `json:"domainName,omitempty"`
	// SearchDomains are the domain search list of option 119.
	SearchDomains []string `json:"searchDomains,omitempty"`
	// MTU is the interface MTU of option 26, at least MinMTU; 0 when
	// absent or dropped. Below 1280 it disables IPv6 on the link.
	MTU int `json:"mtu,omitempty"`
	// Hostname is the host name of option 12.
	Hostname string `json:"hostname,omitempty"`
	// NTP are the NTP servers of option 42. They are reported only: no
	// spec is made from them.
	NTP []netip.Addr `json:"ntp,omitempty"`
	// LeaseTime is option 51; InfiniteLease for a lease without end.
	LeaseTime time.Duration `json:"leaseTime"`
	// T1 is when the client starts renewing, after BoundAt: option 58, or
	// half the lease time.
	T1 time.Duration `json:"t1"`
	// T2 is when the client starts rebinding, after BoundAt: option 59, or
	// 7/8 of the lease time.
	T2 time.Duration `json:"t2"`
	// BoundAt is when the client sent the REQUEST the DHCPACK answers (the
	// first transmission of it, RFC 2131 4.4.1: the server's lease cannot
	// have begun earlier, so the lease never outlives the server's): a
	// time.Now, which carries a monotonic reading, so that the expiry and the timers count
	// on the monotonic clock in the process that bound the lease (a step
	// of the wall clock does not move them); a lease read from a file
	// counts on the wall clock. For a lease taken up again after a restart
	// without an answer from a server (INIT-REBOOT), it is when it was
	// taken up, and LeaseTime, T1 and T2 are what was left of them (T1 and
	// T2 zero once passed).
	BoundAt time.Time `json:"boundAt"`
}

// Route is one classless static route of option 121. A zero Gateway means
// the destination is on the link.
type Route struct {
	// Destination is the destination prefix.
	Destination netip.Prefix `json:"destination"`
	// Gateway is the router; zero for a destination on the link.
	Gateway netip.Addr `json:"gateway,omitzero"`
}

// Expiry returns when the lease ends, BoundAt plus LeaseTime, or the zero
// time for an infinite lease. It is the ValidUntil of the leased address's
// spec.
func (l *Lease) Expiry() time.Time {
	if l.LeaseTime >= InfiniteLease {
		return time.Time{}
	}
	return l.BoundAt.Add(l.LeaseTime)
}

// Clone returns a deep copy of l.
func (l *Lease) Clone() *Lease {
	if l == nil {
		return nil
	}
	c := *l
	c.Routers = slices.Clone(l.Routers)
	c.Routes = slices.Clone(l.Routes)
	c.DNS = slices.Clone(l.DNS)
	c.SearchDomains = slices.Clone(l.SearchDomains)
	c.NTP = slices.Clone(l.NTP)
	return &c
}

// OptionError is an option of a server's message that was dropped, or
// that made the client refuse the message.
type OptionError struct {
	Code uint8  // the option code, 0 for a field of the fixed header
	Name string // the option's name, e.g. "router" or "yiaddr"
	Err  error  // why, wrapping netprim.ErrInvalidSpec for a bad value
}

// Error renders "dhcp: option 3 (router): ...".
func (e *OptionError) Error() string {
	if e.Code == 0 {
		return "dhcp: " + e.Name + ": " + e.Err.Error()
	}
	return fmt.Sprintf("dhcp: option %d (%s): %v", e.Code, e.Name, e.Err)
}

// Unwrap returns the reason.
func (e *OptionError) Unwrap() error { return e.Err }

func optErr(code uint8, name, format string, a ...any) *OptionError {
	return &OptionError{Code: code, Name: name, Err: fmt.Errorf("%w: %s", netprim.ErrInvalidSpec, fmt.Sprintf(format, a...))}
}

// Option codes the client asks for and reads.
const (
	optSubnetMask    = 1
	optRouter        = 3
	optDNS           = 6
	optHostname      = 12
	optDomainName    = 15
	optMTU           = 26
	optBroadcast     = 28
	optNTP           = 42
	optLeaseTime     = 51
	optServerID      = 54
	optRenewalTime   = 58
	optRebindingTime = 59
	optDomainSearch  = 119
	optClasslessRts  = 121
)

// ParameterRequestList is the parameter request list (option 55) the client
// sends in every DISCOVER, REQUEST, renewal and rebinding.
var ParameterRequestList = []uint8{
	optSubnetMask, optRouter, optDNS, optHostname, optDomainName, optMTU,
	optBroadcast, optNTP, optLeaseTime, optRenewalTime, optRebindingTime,
	optDomainSearch, optClasslessRts,
}

// ParseAck converts a server's DHCPACK (or DHCPOFFER) received on link
// into a Lease bound at now (a client passes when it sent the REQUEST
// that m answers). A message the client cannot use — no or a
// bad address, a missing or zero lease time, no server identifier — is
// refused: the Lease is nil and the error, an *OptionError, names the
// field. A malformed or hostile option is dropped: the Lease is returned
// without it, and dropped names each option left out and why. Nothing of
// a dropped option is used, except in lists of addresses (routers, DNS and
// NTP servers): there only the bad entries, and the servers past
// MaxServers, are left out, and the option is named in dropped.
func ParseAck(link string, m *dhcpv4.DHCPv4, now time.Time) (lease *Lease, dropped []*OptionError, err error) {
	if m == nil {
		return nil, nil, &OptionError{Name: "message", Err: errors.New("no message")}
	}
	return parseLease(link, m.YourIPAddr.To4(), m.Options, now)
}

// parseLease is ParseAck on the raw fields: yiaddr and the options by code.
func parseLease(link string, yiaddr []byte, opts dhcpv4.Options, now time.Time) (*Lease, []*OptionError, error) {
	var dropped []*OptionError
	drop := func(e *OptionError) { dropped = append(dropped, e) }

	if len(yiaddr) != 4 {
		return nil, nil, &OptionError{Name: "yiaddr", Err: fmt.Errorf("%w: missing", netprim.ErrInvalidSpec)}
	}
	ip := netip.AddrFrom4([4]byte(yiaddr))
	if err := checkHostAddr(ip); err != nil {
		return nil, nil, &OptionError{Name: "yiaddr", Err: err}
	}

	l := &Lease{Link: link, BoundAt: now}

	// Server identifier: required in OFFER and ACK.
	sid, ok := opts[optServerID]
	switch {
	case !ok:
		return nil, nil, optErr(optServerID, "server identifier", "missing")
	case len(sid) != 4:
		return nil, nil, optErr(optServerID, "server identifier", "length %d, want 4", len(sid))
	}
	l.Server = netip.AddrFrom4([4]byte(sid))
	if err := checkHostAddr(l.Server); err != nil {
		return nil, nil, &OptionError{Code: optServerID, Name: "server identifier", Err: err}
	}

	// Lease time: required, not zero.
	lt, ok := opts[optLeaseTime]
	switch {
	case !ok:
		return nil, nil, optErr(optLeaseTime, "lease time", "missing")
	case len(lt) != 4:
		return nil, nil, optErr(optLeaseTime, "lease time", "length %d, want 4", len(lt))
	}
	secs := binary.BigEndian.Uint32(lt)
	if secs == 0 {
		return nil, nil, optErr(optLeaseTime, "lease time", "zero")
	}
	l.LeaseTime = time.Duration(secs) * time.Second

	// Subnet mask: invalid ones are dropped for the classful mask.
	bits := -1
	if m, ok := opts[optSubnetMask]; ok {
		b, err := maskBits(m)
		if err != nil {
			drop(&OptionError{Code: optSubnetMask, Name: "subnet mask", Err: err})
		} else {
			bits = b
		}
	}
	if bits < 0 {
		bits = classfulBits(ip)
	}
	l.Address = netip.PrefixFrom(ip, bits)
	if bits <= 30 {
		p := l.Address.Masked()
		if ip == p.Addr() {
			return nil, nil, &OptionError{Name: "yiaddr", Err: fmt.Errorf("%w: %s is the network address of %s", netprim.ErrInvalidSpec, ip, p)}
		}
		if ip == lastAddr(p) {
			return nil, nil, &OptionError{Name: "yiaddr", Err: fmt.Errorf("%w: %s is the broadcast address of %s", netprim.ErrInvalidSpec, ip, p)}
		}
	}

	// Timers: T1 < T2 < lease time, else the defaults.
	l.T1, l.T2 = l.LeaseTime/2, l.LeaseTime/8*7
	if l.LeaseTime >= InfiniteLease {
		l.T1, l.T2 = InfiniteLease, InfiniteLease
	}
	t1, t1ok := durationOpt(opts, optRenewalTime, "renewal time", drop)
	t2, t2ok := durationOpt(opts, optRebindingTime, "rebinding time", drop)
	if l.LeaseTime < InfiniteLease {
		if t2ok {
			if t2 > 0 && t2 < l.LeaseTime {
				l.T2 = t2
			} else {
				drop(optErr(optRebindingTime, "rebinding time", "%v is not within the lease time %v", t2, l.LeaseTime))
			}
		}
		if t1ok {
			if t1 > 0 && t1 < l.T2 {
				l.T1 = t1
			} else {
				drop(optErr(optRenewalTime, "renewal time", "%v is not before the rebinding time %v", t1, l.T2))
			}
		}
		if l.T1 >= l.T2 { // a T2 option earlier than the default T1
			l.T1 = l.T2 / 8 * 7
		}
		if l.T1 <= 0 {
			l.T1, l.T2 = l.LeaseTime/2, l.LeaseTime/8*7
		}
	}

	// Classless static routes replace the router option (RFC 3442).
	if raw, ok := opts[optClasslessRts]; ok {
		rts, err := parseClasslessRoutes(raw, ip)
		if err != nil {
			drop(&OptionError{Code: optClasslessRts, Name: "classless static routes", Err: err})
		} else {
			l.Routes = rts
		}
	}
	if raw, ok := opts[optRouter]; ok && l.Routes == nil {
		rs, err := parseAddrs(raw, "router")
		var errs []error
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range rs {
			switch {
			case r == ip:
				errs = append(errs, fmt.Errorf("%w: router %s is the leased address", netprim.ErrInvalidSpec, r))
			case !l.Address.Masked().Contains(r):
				errs = append(errs, fmt.Errorf("%w: router %s is outside the subnet %s", netprim.ErrInvalidSpec, r, l.Address.Masked()))
			default:
				l.Routers = append(l.Routers, r)
			}
		}
		if len(errs) > 0 {
			drop(&OptionError{Code: optRouter, Name: "router", Err: errors.Join(errs...)})
		}
	}

	l.DNS = serverList(opts, optDNS, "domain name server", drop)
	l.NTP = serverList(opts, optNTP, "NTP servers", drop)

	if raw, ok := opts[optDomainName]; ok {
		d, err := domainName(string(raw))
		if err != nil {
			drop(&OptionError{Code: optDomainName, Name: "domain name", Err: err})
		} else {
			l.DomainName = d
		}
	}
	if raw, ok := opts[optDomainSearch]; ok {
		ds, err := searchList(raw)
		if err != nil {
			drop(&OptionError{Code: optDomainSearch, Name: "domain search", Err: err})
		} else {
			l.SearchDomains = ds
		}
	}
	if raw, ok := opts[optHostname]; ok {
		h, err := hostName(string(raw))
		if err != nil {
			drop(&OptionError{Code: optHostname, Name: "host name", Err: err})
		} else {
			l.Hostname = h
		}
	}
	if raw, ok := opts[optMTU]; ok {
		switch {
		case len(raw) != 2:
			drop(optErr(optMTU, "interface MTU", "length %d, want 2", len(raw)))
		case binary.BigEndian.Uint16(raw) < MinMTU:
			drop(optErr(optMTU, "interface MTU", "%d is below the minimum %d every host must accept (RFC 791)", binary.BigEndian.Uint16(raw), MinMTU))
		default:
			l.MTU = int(binary.BigEndian.Uint16(raw))
		}
	}
	return l, dropped, nil
}

// checkHostAddr refuses addresses no host may hold.
func checkHostAddr(ip netip.Addr) error {
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: missing", netprim.ErrInvalidSpec)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is the unspecified address", netprim.ErrInvalidSpec, ip)
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: %s is the broadcast address", netprim.ErrInvalidSpec, ip)
	case ip.IsMulticast():
		return fmt.Errorf("%w: %s is a multicast address", netprim.ErrInvalidSpec, ip)
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is a loopback address", netprim.ErrInvalidSpec, ip)
	case ip.As4()[0] == 0:
		return fmt.Errorf("%w: %s is in 0.0.0.0/8 (this network)", netprim.ErrInvalidSpec, ip)
	case ip.As4()[0] >= 240:
		return fmt.Errorf("%w: %s is in the reserved 240.0.0.0/4", netprim.ErrInvalidSpec, ip)
	}
	return nil
}

// maskBits checks a subnet mask: 4 bytes, contiguous, /1 to /31... a /0 or
// /32 mask leaves no usable subnet.
func maskBits(m []byte) (int, error) {
	if len(m) != 4 {
		return 0, fmt.Errorf("%w: length %d, want 4", netprim.ErrInvalidSpec, len(m))
	}
	v := binary.BigEndian.Uint32(m)
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("%w: %d.%d.%d.%d is not contiguous", netprim.ErrInvalidSpec, m[0], m[1], m[2], m[3])
	}
	if ones == 0 || ones == 32 {
		return 0, fmt.Errorf("%w: /%d leaves no subnet", netprim.ErrInvalidSpec, ones)
	}
	return ones, nil
}

// classfulBits is the mask of the address's class (RFC 1122 3.3.1.3).
func classfulBits(ip netip.Addr) int {
	switch b := ip.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	}
	return 24
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

func durationOpt(opts dhcpv4.Options, code uint8, name string, drop func(*OptionError)) (time.Duration, bool) {
	raw, ok := opts[code]
	if !ok {
		return 0, false
	}
	if len(raw) != 4 {
		drop(optErr(code, name, "length %d, want 4", len(raw)))
		return 0, false
	}
	return time.Duration(binary.BigEndian.Uint32(raw)) * time.Second, true
}

// parseAddrs decodes a list of IPv4 addresses.
func parseAddrs(raw []byte, what string) ([]netip.Addr, error) {
	if len(raw) == 0 || len(raw)%4 != 0 {
		return nil, fmt.Errorf("%w: length %d is not a non-zero multiple of 4", netprim.ErrInvalidSpec, len(raw))
	}
	out := make([]netip.Addr, 0, len(raw)/4)
	var errs []error
	for i := 0; i+4 <= len(raw); i += 4 {
		a := netip.AddrFrom4([4]byte(raw[i : i+4]))
		if err := checkHostAddr(a); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", what, a, err))
			continue
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

// serverList reads a list of server addresses: bad entries are dropped,
// duplicates removed, at most MaxServers kept.
func serverList(opts dhcpv4.Options, code uint8, name string, drop func(*OptionError)) []netip.Addr {
	raw, ok := opts[code]
	if !ok {
		return nil
	}
	as, err := parseAddrs(raw, "server")
	if len(raw)%4 != 0 || len(raw) == 0 {
		drop(&OptionError{Code: code, Name: name, Err: err})
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > MaxServers {
		err = errors.Join(err, fmt.Errorf("%w: %d servers, at most %d are used", netprim.ErrInvalidSpec, len(out), MaxServers))
		out = out[:MaxServers]
	}
	if err != nil {
		drop(&OptionError{Code: code, Name: name, Err: err})
	}
	return out
}

// parseClasslessRoutes decodes option 121 (RFC 3442): a width byte, the
// significant octets of the destination, and the router.
func parseClasslessRoutes(raw []byte, self netip.Addr) ([]Route, error) {
	var out []Route
	seen := map[netip.Prefix]bool{}
	for i := 0; i < len(raw); {
		w := int(raw[i])
		if w > 32 {
			return nil, fmt.Errorf("%w: route %d: prefix length %d", netprim.ErrInvalidSpec, len(out), w)
		}
		n := (w + 7) / 8
		if i+1+n+4 > len(raw) {
			return nil, fmt.Errorf("%w: route %d: truncated", netprim.ErrInvalidSpec, len(out))
		}
		var d [4]byte
		copy(d[:], raw[i+1:i+1+n])
		dst := netip.PrefixFrom(netip.AddrFrom4(d), w)
		if dst.Masked() != dst {
			return nil, fmt.Errorf("%w: route %d: %s has host bits set", netprim.ErrInvalidSpec, len(out), dst)
		}
		gw := netip.AddrFrom4([4]byte(raw[i+1+n : i+1+n+4]))
		i += 1 + n + 4
		if len(out) == MaxStaticRoutes {
			return nil, fmt.Errorf("%w: more than %d routes", netprim.ErrInvalidSpec, MaxStaticRoutes)
		}
		if dst.Addr().IsMulticast() || dst.Addr().IsLoopback() || (dst.Bits() > 0 && dst.Addr().As4()[0] >= 240) {
			return nil, fmt.Errorf("%w: route %d: destination %s is not unicast", netprim.ErrInvalidSpec, len(out), dst)
		}
		if gw.IsUnspecified() {
			gw = netip.Addr{}
		} else if err := checkHostAddr(gw); err != nil {
			return nil, fmt.Errorf("route %d (%s): gateway: %w", len(out), dst, err)
		} else if gw == self {
			return nil, fmt.Errorf("%w: route %d (%s): gateway %s is the leased address", netprim.ErrInvalidSpec, len(out), dst, gw)
		}
		if seen[dst] {
			return nil, fmt.Errorf("%w: route %d: destination %s given twice", netprim.ErrInvalidSpec, len(out), dst)
		}
		seen[dst] = true
		out = append(out, Route{Destination: dst, Gateway: gw})
	}
	if out == nil {
		return nil, fmt.Errorf("%w: empty", netprim.ErrInvalidSpec)
	}
	return out, nil
}

// domainName checks a DNS name: printable labels of at most 63 bytes, at
// most 253 bytes in all. It returns the name lower-cased without a
// trailing dot.
func domainName(s string) (string, error) {
	s = strings.TrimRight(s, "\x00")
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if s == "" {
		return "", fmt.Errorf("%w: empty", netprim.ErrInvalidSpec)
	}
	if len(s) > 253 {
		return "", fmt.Errorf("%w: %d bytes, at most 253", netprim.ErrInvalidSpec, len(s))
	}
	for _, lab := range strings.Split(s, ".") {
		if lab == "" || len(lab) > 63 {
			return "", fmt.Errorf("%w: %q has an empty or too long label", netprim.ErrInvalidSpec, s)
		}
		for _, c := range []byte(lab) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%w: %q has the character %q", netprim.ErrInvalidSpec, s, c)
			}
		}
		if lab[0] == '-' || lab[len(lab)-1] == '-' {
			return "", fmt.Errorf("%w: %q has a label starting or ending with '-'", netprim.ErrInvalidSpec, s)
		}
	}
	return s, nil
}

// hostName checks option 12: one RFC 1123 label (a server may send a fully
// qualified name: its first label is taken).
func hostName(s string) (string, error) {
	s = strings.TrimRight(s, "\x00")
	d, err := domainName(s)
	if err != nil {
		return "", err
	}
	h, _, _ := strings.Cut(d, ".")
	if strings.Contains(h, "_") {
		return "", fmt.Errorf("%w: %q has the character '_'", netprim.ErrInvalidSpec, h)
	}
	return h, nil
}

// searchList decodes option 119 (RFC 3397, DNS name compression).
func searchList(raw []byte) ([]string, error) {
	labels, err := rfc1035label.FromBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", netprim.ErrInvalidSpec, err)
	}
	var out []string
	for _, l := range labels.Labels {
		d, err := domainName(l)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty", netprim.ErrInvalidSpec)
	}
	if len(out) > MaxSearchDomains {
		return nil, fmt.Errorf("%w: %d domains, at most %d", netprim.ErrInvalidSpec, len(out), MaxSearchDomains)
	}
	return out, nil
}
