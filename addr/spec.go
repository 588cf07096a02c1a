package addr

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netprim/netprim"
)

// Spec is one wanted IP address on a link.
//
// The zero value of an optional field means "kernel default": scope by
// address type, label equal to the link name, no managed flags, lifetimes
// forever, no broadcast address, metric 0.
//
// In YAML, lifetimes are durations such as "1h" or "90s"; in JSON they are
// nanoseconds (Go's time.Duration encoding). ValidUntil and PreferredUntil
// are RFC 3339 times in both.
type Spec struct {
	// Link is the name of the link that carries the address.
	Link string `json:"link" yaml:"link"`
	// Address is the host address with its prefix length, for example
	// 192.0.2.10/24 (not the masked network 192.0.2.0/24). With Peer set,
	// the prefix length belongs to the peer, as in
	// "ip address add 10.0.0.1 peer 10.0.0.2/32".
	Address netip.Prefix `json:"address" yaml:"address"`
	// Peer is the remote address of a point-to-point link (IFA_ADDRESS
	// different from IFA_LOCAL). Zero: none.
	Peer netip.Addr `json:"peer,omitzero" yaml:"peer"`
	// Scope is "global", "site", "link" or "host". Empty: "host" for
	// 127.0.0.0/8 and ::1, "link" for fe80::/10, "site" for fec0::/10, else
	// "global". IPv6 scope is fixed by the address type; IPv4 addresses may
	// take any scope.
	Scope string `json:"scope,omitempty" yaml:"scope,omitempty"`
	// Label is the IPv4 address label: the link name or the link name
	// followed by ":" and a suffix, at most 15 characters. Empty: the link
	// name. IPv6 addresses have no label.
	Label string `json:"label,omitempty" yaml:"label,omitempty"`
	// Flags are the address flags Apply manages, by their ip(8) names:
	// "noprefixroute" (IPv4 and IPv6), "nodad", "homeaddress", "mngtmpaddr"
	// (also spelt "managetempaddr"; needs a /64) and "optimistic" (IPv6
	// only). "optimistic" is only a request made when the address is added:
	// the kernel clears it when duplicate address detection ends, so it is
	// never compared.
	Flags []string `json:"flags,omitempty" yaml:"flags,omitempty"`
	// ValidLifetime is how long the address stays; zero means forever. It
	// is a whole number of seconds.
	ValidLifetime time.Duration `json:"validLifetime,omitempty" yaml:"validLifetime,omitempty"`
	// PreferredLifetime is how long the address is preferred for new
	// connections; zero means forever, or, when ValidLifetime is set, the
	// same as ValidLifetime. It must not exceed ValidLifetime.
	PreferredLifetime time.Duration `json:"preferredLifetime,omitempty" yaml:"preferredLifetime,omitempty"`
	// ValidUntil is when the address goes: an absolute end instead of the
	// relative ValidLifetime, with which it cannot be combined (nor with
	// PreferredLifetime). Zero: not used. Plan and Apply give the kernel
	// the whole seconds that remain, rounded down, so the kernel removes
	// the address by ValidUntil even when nobody applies again (a daemon
	// that died). Less than one second before ValidUntil, or after it, the
	// address is expired: it is not added, and an existing one is left to
	// the kernel (or, with netprim.WithPrune, deleted if it is ours). The
	// remaining time is counted on the monotonic clock when ValidUntil
	// carries a monotonic reading (a time derived from time.Now in this
	// process), so a step of the wall clock does not move it. See
	// "Lifetimes" in the package documentation for when Apply writes.
	ValidUntil time.Time `json:"validUntil,omitzero" yaml:"validUntil,omitempty"`
	// PreferredUntil is when the address stops being preferred for new
	// connections, an absolute end like ValidUntil, which it needs and must
	// not be after. Zero: the same as ValidUntil. Once it has passed and
	// ValidUntil has not, the address is kept deprecated (preferred
	// lifetime 0).
	PreferredUntil time.Time `json:"preferredUntil,omitzero" yaml:"preferredUntil,omitempty"`
	// Broadcast is the IPv4 broadcast address. Zero: none (what
	// "ip address add" does without "brd").
	Broadcast netip.Addr `json:"broadcast,omitzero" yaml:"broadcast"`
	// AutoBroadcast computes Broadcast from Address (all host bits set) for
	// IPv4 prefixes up to /30, like "brd +". Normalize replaces it with the
	// computed Broadcast.
	AutoBroadcast bool `json:"autoBroadcast,omitempty" yaml:"autoBroadcast,omitempty"`
	// Metric is the metric of the prefix route the kernel adds for the
	// address (IFA_RT_PRIORITY). Zero: the kernel default (0 for IPv4, 256
	// for IPv6).
	Metric uint32 `json:"metric,omitempty" yaml:"metric,omitempty"`
}

// Scope names accepted in Spec.Scope and reported in Status.Scope.
const (
	ScopeGlobal = "global"
	ScopeSite   = "site"
	ScopeLink   = "link"
	ScopeHost   = "host"
)

// maxLifetime is the largest finite lifetime the kernel accepts: one second
// less than the "forever" value 0xFFFFFFFF.
const maxLifetime = time.Duration(0xFFFFFFFE) * time.Second

// ifNameMax is the longest interface name or label (IFNAMSIZ - 1).
const ifNameMax = 15

// Validate checks a normalized copy of one Spec (s is not changed), so it
// accepts exactly what Plan and Apply accept. Errors name the bad field,
// for example "addr: label: ...", and wrap netprim.ErrInvalidSpec. Use the
// package function Validate for a list, which also finds duplicates.
func (s Spec) Validate() error {
	s.Normalize() // copies Flags before changing them
	if err := s.validate(); err != nil {
		return fmt.Errorf("addr: %w", err)
	}
	return nil
}

// Validate checks every Spec of a list, normalized as Apply takes them
// (specs is not changed), and that no (link, address) pair appears twice.
// Errors name the entry and field, for example
// "addr: spec[1].label: ...", wrap netprim.ErrInvalidSpec and are joined.
// Two entries with the same host address on the same link are duplicates
// even when their prefix lengths differ.
func Validate(specs []Spec) error {
	var errs []error
	type key struct {
		link string
		ip   netip.Addr
	}
	// seen holds the first spec of each address; multi, made only when an
	// address is on several links, every (link, address) of those.
	seen := make(map[netip.Addr]int, len(specs))
	var multi map[key]int
	for i, s := range specs {
		s.Normalize()
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("addr: spec[%d].%w", i, err))
			continue
		}
		a := s.Address.Addr()
		j, ok := seen[a]
		if !ok {
			seen[a] = i
			continue
		}
		if specs[j].Link != s.Link {
			if multi == nil {
				multi = make(map[key]int)
			}
			if _, ok := multi[key{specs[j].Link, a}]; !ok {
				multi[key{specs[j].Link, a}] = j
			}
			if j, ok = multi[key{s.Link, a}]; !ok {
				multi[key{s.Link, a}] = i
				continue
			}
		}
		errs = append(errs, fmt.Errorf("addr: spec[%d].address: %w: %s on %s duplicates spec[%d]",
			i, netprim.ErrInvalidSpec, a, s.Link, j))
	}
	return errors.Join(errs...)
}

// fieldError is "FIELD: ErrInvalidSpec: MSG".
func fieldError(field, format string, a ...any) error {
	return fmt.Errorf("%s: %w: %s", field, netprim.ErrInvalidSpec, fmt.Sprintf(format, a...))
}

func (s Spec) validate() error {
	if err := validLinkName(s.Link); err != nil {
		return fieldError("link", "%v", err)
	}
	a := s.Address.Addr()
	switch {
	case !s.Address.IsValid():
		return fieldError("address", "missing or not a prefix (want e.g. 192.0.2.10/24)")
	case a.Is4In6():
		return fieldError("address", "%s is an IPv4-mapped IPv6 address: write it as IPv4", a)
	case a.IsUnspecified():
		return fieldError("address", "%s is the unspecified address", a)
	case a.IsMulticast():
		return fieldError("address", "%s is a multicast address", a)
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fieldError("address", "%s is the limited broadcast address", a)
	}
	v4 := a.Is4()
	if s.Peer.IsValid() {
		switch {
		case s.Peer.Zone() != "":
			return fieldError("peer", "%s: zones are not allowed", s.Peer)
		case s.Peer.Is4() != v4 || s.Peer.Is4In6():
			return fieldError("peer", "%s is not in the address family of %s", s.Peer, s.Address)
		case s.Peer.IsUnspecified(), s.Peer.IsMulticast():
			return fieldError("peer", "%s is not a unicast address", s.Peer)
		}
	}
	if s.Scope != "" {
		sc, ok := scopeByName[s.Scope]
		if !ok {
			return fieldError("scope", "%q is not one of global, site, link, host", s.Scope)
		}
		if !v4 && sc != defaultScope(a) {
			return fieldError("scope", "IPv6 scope is fixed by the address: %s has scope %s, not %s",
				a, scopeNames[defaultScope(a)], s.Scope)
		}
	}
	if s.Label != "" {
		switch {
		case !v4:
			return fieldError("label", "IPv6 addresses have no label")
		case len(s.Label) > ifNameMax:
			return fieldError("label", "%q is longer than %d characters", s.Label, ifNameMax)
		case s.Label != s.Link && !strings.HasPrefix(s.Label, s.Link+":"):
			return fieldError("label", "%q must be the link name %q or start with %q", s.Label, s.Link, s.Link+":")
		case strings.ContainsFunc(s.Label, func(r rune) bool { return r < 0x21 || r > 0x7e }):
			return fieldError("label", "%q contains a space or non-printable character", s.Label)
		}
	}
	for _, f := range s.Flags {
		bit, ok := flagByName[f]
		if !ok || bit&managedFlags6 == 0 && bit != unixIFA_F_OPTIMISTIC {
			return fieldError("flags", "%q is not one of nodad, noprefixroute, homeaddress, mngtmpaddr, optimistic", f)
		}
		if v4 && bit != unixIFA_F_NOPREFIXROUTE {
			return fieldError("flags", "%s applies to IPv6 addresses only", f)
		}
		if bit == unixIFA_F_MANAGETEMPADDR && s.Address.Bits() != 64 {
			return fieldError("flags", "%s needs a /64 prefix, not /%d", f, s.Address.Bits())
		}
	}
	for _, lt := range []struct {
		name string
		d    time.Duration
	}{{"validLifetime", s.ValidLifetime}, {"preferredLifetime", s.PreferredLifetime}} {
		switch {
		case lt.d < 0:
			return fieldError(lt.name, "%v is negative", lt.d)
		case lt.d%time.Second != 0:
			return fieldError(lt.name, "%v is not a whole number of seconds", lt.d)
		case lt.d > maxLifetime:
			return fieldError(lt.name, "%v is longer than the kernel's maximum %v", lt.d, maxLifetime)
		}
	}
	if s.ValidLifetime > 0 && s.PreferredLifetime > s.ValidLifetime {
		return fieldError("preferredLifetime", "%v is longer than validLifetime %v", s.PreferredLifetime, s.ValidLifetime)
	}
	switch {
	case s.ValidUntil.IsZero() && !s.PreferredUntil.IsZero():
		return fieldError("preferredUntil", "needs validUntil")
	case s.ValidUntil.IsZero():
	case s.ValidLifetime != 0:
		return fieldError("validUntil", "cannot be combined with validLifetime: give an absolute or a relative lifetime")
	case s.PreferredLifetime != 0:
		return fieldError("preferredLifetime", "cannot be combined with validUntil: use preferredUntil")
	case s.PreferredUntil.After(s.ValidUntil):
		return fieldError("preferredUntil", "%s is after validUntil %s",
			s.PreferredUntil.Format(time.RFC3339Nano), s.ValidUntil.Format(time.RFC3339Nano))
	}
	if s.Broadcast.IsValid() {
		switch {
		case !v4:
			return fieldError("broadcast", "IPv6 has no broadcast address")
		case !s.Broadcast.Is4():
			return fieldError("broadcast", "%s is not an IPv4 address", s.Broadcast)
		case s.AutoBroadcast && s.Broadcast != autoBroadcast(s.Address):
			return fieldError("broadcast", "%s conflicts with autoBroadcast (%s)", s.Broadcast, autoBroadcast(s.Address))
		}
	}
	if s.AutoBroadcast && !v4 {
		return fieldError("autoBroadcast", "IPv6 has no broadcast address")
	}
	return nil
}

func validLinkName(name string) error {
	switch {
	case name == "":
		return errors.New("missing")
	case len(name) > ifNameMax:
		return fmt.Errorf("%q is longer than %d characters", name, ifNameMax)
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a link name", name)
	case strings.ContainsFunc(name, func(r rune) bool { return r == '/' || r == ':' || r < 0x21 || r > 0x7e }):
		return fmt.Errorf("%q contains '/', ':', a space or a non-printable character", name)
	}
	return nil
}

// Normalize fills defaults so that two Specs that mean the same address
// compare equal: the scope by address type, the IPv4 label (the link name),
// flags in canonical spelling, sorted and without duplicates, the preferred
// lifetime equal to a finite valid lifetime when unset, PreferredUntil
// equal to ValidUntil when unset, and AutoBroadcast replaced by the
// computed Broadcast. Invalid values are left for Validate to report
// (Validate checks a normalized copy): AutoBroadcast stays on an IPv6
// address or next to a Broadcast it contradicts. Times are kept as given
// (with their monotonic reading and location).
func (s *Spec) Normalize() {
	a := s.Address.Addr()
	if s.Scope == "" {
		s.Scope = scopeNames[defaultScope(a)]
	}
	if a.Is4() && s.Label == "" {
		s.Label = s.Link
	}
	if len(s.Flags) == 0 {
		s.Flags = nil
	} else if !canonicalFlags(s.Flags) {
		fl := make([]string, 0, len(s.Flags))
		for _, f := range s.Flags {
			if bit, ok := flagByName[f]; ok {
				f = flagNames[bit]
			}
			fl = append(fl, f)
		}
		slices.Sort(fl)
		s.Flags = slices.Compact(fl)
	}
	if s.ValidLifetime > 0 && s.PreferredLifetime == 0 {
		s.PreferredLifetime = s.ValidLifetime
	}
	if !s.ValidUntil.IsZero() && s.PreferredUntil.IsZero() {
		s.PreferredUntil = s.ValidUntil
	}
	if s.AutoBroadcast && a.Is4() {
		if b := autoBroadcast(s.Address); !s.Broadcast.IsValid() || s.Broadcast == b {
			s.Broadcast = b
			s.AutoBroadcast = false
		}
	}
}

// canonicalFlags reports whether flags are already sorted, unique and in
// canonical spelling.
func canonicalFlags(flags []string) bool {
	for i, f := range flags {
		if bit, ok := flagByName[f]; !ok || flagNames[bit] != f || i > 0 && flags[i-1] >= f {
			return false
		}
	}
	return true
}

// autoBroadcast returns the all-ones host address of an IPv4 prefix up to
// /30, or the zero Addr.
func autoBroadcast(p netip.Prefix) netip.Addr {
	if !p.Addr().Is4() || p.Bits() > 30 || p.Bits() < 0 {
		return netip.Addr{}
	}
	b := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

// String renders the address as ip(8) would: "192.0.2.10/24 dev veth0", or
// "10.0.0.1 peer 10.0.0.2/32 dev ppp0".
func (s Spec) String() string {
	return object(s.Address, s.Peer, s.Link)
}

func object(p netip.Prefix, peer netip.Addr, link string) string {
	return string(appendObject(nil, p, peer, link))
}

func appendObject(b []byte, p netip.Prefix, peer netip.Addr, link string) []byte {
	if b == nil {
		b = make([]byte, 0, 64)
	}
	if peer.IsValid() {
		b = p.Addr().AppendTo(b)
		b = append(b, " peer "...)
		b = netip.PrefixFrom(peer, p.Bits()).AppendTo(b)
	} else {
		b = p.AppendTo(b)
	}
	b = append(b, " dev "...)
	return append(b, link...)
}
