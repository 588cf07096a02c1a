package wireguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netprim/netprim"
)

// Spec is a wanted WireGuard device. The zero value of ListenPort,
// FirewallMark and MTU means: random port, no mark, MTU 1420.
//
// The net/netip fields have no yaml omitempty: yaml.v3 takes every netip
// value for empty and would drop set ones.
type Spec struct {
	// Name is the link name (1-15 characters). With the userspace backend
	// and WithUAPISocket it must also be unique on the host.
	Name string `json:"name" yaml:"name"`
	// PrivateKey is the device's private key. It never prints.
	PrivateKey PrivateKey `json:"privateKey" yaml:"privateKey"`
	// ListenPort is the UDP port; 0 lets the device pick one.
	ListenPort int `json:"listenPort,omitempty" yaml:"listenPort,omitempty"`
	// FirewallMark marks the device's own UDP packets (wg's fwmark); 0 is
	// none.
	FirewallMark uint32 `json:"firewallMark,omitempty" yaml:"firewallMark,omitempty"`
	// MTU is the link MTU; 0 means DefaultMTU.
	MTU int `json:"mtu,omitempty" yaml:"mtu,omitempty"`
	// AllowOverlap permits nested allowed IPs between peers (longest
	// prefix wins, e.g. 0.0.0.0/0 via a gateway peer and /32s via others).
	// Identical prefixes on two peers remain an error.
	AllowOverlap bool `json:"allowOverlap,omitempty" yaml:"allowOverlap,omitempty"`
	// Peers are the device's peers, identified by public key.
	Peers []PeerSpec `json:"peers,omitempty" yaml:"peers,omitempty"`
}

// PeerSpec is one wanted peer.
type PeerSpec struct {
	// PublicKey identifies the peer.
	PublicKey Key `json:"publicKey" yaml:"publicKey"`
	// PresharedKey adds a symmetric key; zero is none. It never prints.
	PresharedKey PresharedKey `json:"presharedKey,omitzero" yaml:"presharedKey,omitempty"`
	// Endpoint is "address:port" or "host:port" ("[v6]:port" for IPv6);
	// a host name is resolved at Apply. Empty: the peer's address is
	// learnt from its packets.
	Endpoint string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	// AllowedIPs are the prefixes routed to and accepted from the peer.
	AllowedIPs []netip.Prefix `json:"allowedIPs,omitempty" yaml:"allowedIPs,omitempty"`
	// PersistentKeepalive is the keepalive interval in seconds (wg's
	// PersistentKeepalive); 0 is off.
	PersistentKeepalive int `json:"persistentKeepalive,omitempty" yaml:"persistentKeepalive,omitempty"`
}

// DefaultMTU is the MTU of a device whose Spec leaves MTU at 0: right for
// an underlying MTU of 1500 with an IPv6 outer header.
const DefaultMTU = 1420

// MaxKeepalive is the largest PersistentKeepalive wg accepts (seconds).
const MaxKeepalive = 65535

// Normalize fills defaults and canonical forms so that equivalent specs
// compare equal: MTU 0 becomes DefaultMTU, allowed IPs are masked, sorted
// and de-duplicated, peers are sorted by public key, and an endpoint that
// is an address is written in its canonical form. It copies Peers and
// their AllowedIPs before changing them: a copy of a Spec shares them with
// the caller's.
func (s *Spec) Normalize() {
	s.normalize(true)
	slices.SortFunc(s.Peers, func(a, b PeerSpec) int { return strings.Compare(string(a.PublicKey[:]), string(b.PublicKey[:])) })
}

// normalize is Normalize without sorting the peers; with reorder false it
// also keeps the order and duplicates of allowed IPs (masked), so that
// Validate names peers and prefixes by their index in the caller's Spec.
// Neither order changes whether a Spec is valid.
func (s *Spec) normalize(reorder bool) {
	if s.MTU == 0 {
		s.MTU = DefaultMTU
	}
	s.Peers = slices.Clone(s.Peers)
	for i := range s.Peers {
		p := &s.Peers[i]
		p.AllowedIPs = slices.Clone(p.AllowedIPs)
		for j, pfx := range p.AllowedIPs {
			p.AllowedIPs[j] = pfx.Masked()
		}
		if reorder {
			slices.SortFunc(p.AllowedIPs, comparePrefix)
			p.AllowedIPs = slices.Compact(p.AllowedIPs)
		}
		if ap, err := netip.ParseAddrPort(p.Endpoint); err == nil {
			p.Endpoint = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
		}
	}
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// String describes the device with its public key; the private key is
// never shown.
func (s Spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wireguard %s public-key %s", s.Name, s.PrivateKey.PublicKey())
	if s.ListenPort != 0 {
		fmt.Fprintf(&b, " listen-port %d", s.ListenPort)
	}
	if s.FirewallMark != 0 {
		fmt.Fprintf(&b, " fwmark 0x%x", s.FirewallMark)
	}
	if s.MTU != 0 {
		fmt.Fprintf(&b, " mtu %d", s.MTU)
	}
	fmt.Fprintf(&b, " peers %d", len(s.Peers))
	return b.String()
}

// String describes the peer; a preshared key shows as "(hidden)".
func (p PeerSpec) String() string {
	var b strings.Builder
	b.WriteString("peer ")
	b.WriteString(p.PublicKey.String())
	if p.Endpoint != "" {
		b.WriteString(" endpoint ")
		b.WriteString(p.Endpoint)
	}
	if len(p.AllowedIPs) > 0 {
		b.WriteString(" allowed-ips ")
		b.WriteString(prefixList(p.AllowedIPs))
	}
	if p.PersistentKeepalive != 0 {
		fmt.Fprintf(&b, " persistent-keepalive %d", p.PersistentKeepalive)
	}
	if !p.PresharedKey.IsZero() {
		b.WriteString(" preshared-key " + hidden)
	}
	return b.String()
}

func prefixList(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Validate checks a normalized copy of the spec (s is not changed), so it
// accepts exactly what Apply accepts; errors name the field ("wireguard:
// wg0: peers[2].allowedIPs: ...") by its index in s and wrap
// netprim.ErrInvalidSpec. Several problems are joined. Keys are never part
// of a message except public keys.
func (s Spec) Validate() error {
	s.normalize(false)
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("wireguard: %s: %s: %w: %s", orName(s.Name), field, netprim.ErrInvalidSpec, fmt.Sprintf(format, a...)))
	}
	if err := validName(s.Name); err != nil {
		bad("name", "%v", err)
	}
	if s.PrivateKey.IsZero() {
		bad("privateKey", "required")
	}
	if s.ListenPort < 0 || s.ListenPort > 65535 {
		bad("listenPort", "%d is out of range 0-65535", s.ListenPort)
	}
	if s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
		bad("mtu", "%d is out of range 68-65535", s.MTU)
	}
	self := s.PrivateKey.PublicKey()
	seen := map[Key]int{}
	type owned struct {
		peer, idx int
		pfx       netip.Prefix
	}
	var all []owned
	for i, p := range s.Peers {
		f := fmt.Sprintf("peers[%d]", i)
		if p.PublicKey.IsZero() {
			bad(f+".publicKey", "required")
		} else if j, dup := seen[p.PublicKey]; dup {
			bad(f+".publicKey", "duplicate peer %s (also peers[%d])", p.PublicKey, j)
		} else {
			seen[p.PublicKey] = i
		}
		if !s.PrivateKey.IsZero() && p.PublicKey == self {
			bad(f+".publicKey", "%s is the device's own public key", p.PublicKey)
		}
		if p.Endpoint != "" {
			if err := validEndpoint(p.Endpoint); err != nil {
				bad(f+".endpoint", "%v", err)
			}
		}
		if p.PersistentKeepalive < 0 || p.PersistentKeepalive > MaxKeepalive {
			bad(f+".persistentKeepalive", "%d is out of range 0-%d seconds", p.PersistentKeepalive, MaxKeepalive)
		}
		for j, pfx := range p.AllowedIPs {
			if !pfx.IsValid() {
				bad(fmt.Sprintf("%s.allowedIPs[%d]", f, j), "invalid prefix")
				continue
			}
			all = append(all, owned{i, j, pfx.Masked()})
		}
	}
	// Overlapping prefixes are nested. Sorted by address, then shorter
	// first, each prefix overlaps exactly the prefixes on the stack of
	// enclosing ones that still contain its address: O(n log n).
	slices.SortStableFunc(all, func(a, b owned) int { return comparePrefix(a.pfx, b.pfx) })
	var stack []owned
	for _, o := range all {
		for len(stack) > 0 && !stack[len(stack)-1].pfx.Contains(o.pfx.Addr()) {
			stack = stack[:len(stack)-1]
		}
		for _, e := range stack {
			if e.peer == o.peer || (s.AllowOverlap && e.pfx != o.pfx) {
				continue
			}
			first, second := e, o
			if second.peer < first.peer {
				first, second = second, first
			}
			bad(fmt.Sprintf("peers[%d].allowedIPs[%d]", second.peer, second.idx), "%s overlaps %s of peers[%d] %s (peer %s)",
				second.pfx, first.pfx, first.peer, s.Peers[first.peer].PublicKey, s.Peers[second.peer].PublicKey)
		}
		stack = append(stack, o)
	}
	return errors.Join(errs...)
}

func orName(n string) string {
	if n == "" {
		return "(unnamed)"
	}
	return n
}

func validName(n string) error {
	switch {
	case n == "":
		return errors.New("required")
	case len(n) > 15:
		return fmt.Errorf("%q is longer than 15 bytes", n)
	case n == "." || n == "..":
		return fmt.Errorf("%q is not a link name", n)
	case strings.ContainsAny(n, "/: \t\n"):
		return fmt.Errorf("%q contains '/', ':' or white space", n)
	}
	return nil
}

func validEndpoint(ep string) error {
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		return fmt.Errorf("%q is not host:port or address:port: %v", ep, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", ep)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is out of range 1-65535", ep, port)
	}
	return nil
}
