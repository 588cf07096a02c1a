package addr

import (
	"net/netip"
	"strconv"
	"time"
)

// Status is an address as the kernel reports it.
type Status struct {
	// LinkIndex and Link identify the link that carries the address.
	LinkIndex int    `json:"linkIndex" yaml:"linkIndex"`
	Link      string `json:"link" yaml:"link"`
	// Family is "inet" or "inet6".
	Family string `json:"family" yaml:"family"`
	// Address is the local address with its prefix length.
	Address netip.Prefix `json:"address" yaml:"address"`
	// Peer is the point-to-point peer address, zero when there is none.
	Peer netip.Addr `json:"peer,omitzero" yaml:"peer"`
	// Scope is "global", "site", "link", "host", "nowhere" or a number.
	Scope string `json:"scope" yaml:"scope"`
	// Label is the IPv4 label; empty for IPv6.
	Label string `json:"label,omitempty" yaml:"label,omitempty"`
	// Flags are all flags, managed and kernel-set, by their ip(8) names:
	// secondary (IPv4) or temporary (IPv6), nodad, optimistic, dadfailed,
	// homeaddress, deprecated, tentative, permanent, mngtmpaddr,
	// noprefixroute, autojoin, stable-privacy.
	Flags []string `json:"flags,omitempty" yaml:"flags,omitempty"`
	// ValidLifetime and PreferredLifetime are the remaining lifetimes,
	// zero for forever. A preferred lifetime that ran out is also zero,
	// with the "deprecated" flag set.
	ValidLifetime     time.Duration `json:"validLifetime,omitempty" yaml:"validLifetime,omitempty"`
	PreferredLifetime time.Duration `json:"preferredLifetime,omitempty" yaml:"preferredLifetime,omitempty"`
	// Broadcast is the IPv4 broadcast address, zero when there is none.
	Broadcast netip.Addr `json:"broadcast,omitzero" yaml:"broadcast"`
	// Metric is the metric of the address's prefix route (IFA_RT_PRIORITY).
	Metric uint32 `json:"metric,omitempty" yaml:"metric,omitempty"`
	// Protocol is the IFA_PROTO owner mark: 0 unmarked, 1 loopback, 2
	// router advertisement, 3 link-local (the last three set by the
	// kernel), otherwise the Owner.ID of whoever added the address.
	Protocol uint8 `json:"protocol,omitempty" yaml:"protocol,omitempty"`
}

// String renders the address as Plan and Watch name it, with Spec.String:
// "192.0.2.10/24 dev veth0" or "10.0.0.1 peer 10.0.0.2/32 dev ppp0".
func (st Status) String() string { return object(st.Address, st.Peer, st.Link) }

// Spec returns the Spec that Apply would need to keep this address as it
// is: the managed flags only, and the remaining lifetimes. A deprecated
// address (preferred lifetime ran out) gets a preferred lifetime of one
// second, the closest a Spec can ask for.
func (st Status) Spec() Spec {
	s := Spec{
		Link:      st.Link,
		Address:   st.Address,
		Peer:      st.Peer,
		Scope:     st.Scope,
		Broadcast: st.Broadcast,
		Metric:    st.Metric,
	}
	if st.Address.Addr().Is4() {
		s.Label = st.Label
	}
	bits := flagBits(st.Flags)
	for _, bit := range managedFlagOrder {
		if bits&bit != 0 && (st.Address.Addr().Is6() || bit&managedFlags4 != 0) {
			s.Flags = append(s.Flags, flagNames[bit])
		}
	}
	s.ValidLifetime = st.ValidLifetime
	s.PreferredLifetime = st.PreferredLifetime
	if bits&unixIFA_F_DEPRECATED != 0 && s.PreferredLifetime == 0 {
		// A Spec cannot ask for "deprecated now"; one second is closest.
		s.PreferredLifetime = time.Second
	}
	return s
}

// Address flags (linux/if_addr.h), defined here so the pure code builds on
// every platform.
const (
	unixIFA_F_SECONDARY      = 0x01
	unixIFA_F_NODAD          = 0x02
	unixIFA_F_OPTIMISTIC     = 0x04
	unixIFA_F_DADFAILED      = 0x08
	unixIFA_F_HOMEADDRESS    = 0x10
	unixIFA_F_DEPRECATED     = 0x20
	unixIFA_F_TENTATIVE      = 0x40
	unixIFA_F_PERMANENT      = 0x80
	unixIFA_F_MANAGETEMPADDR = 0x100
	unixIFA_F_NOPREFIXROUTE  = 0x200
	unixIFA_F_MCAUTOJOIN     = 0x400
	unixIFA_F_STABLE_PRIVACY = 0x800
)

// Flags Apply compares: everything else is the kernel's.
const (
	managedFlags6 = unixIFA_F_NODAD | unixIFA_F_HOMEADDRESS | unixIFA_F_MANAGETEMPADDR | unixIFA_F_NOPREFIXROUTE
	managedFlags4 = unixIFA_F_NOPREFIXROUTE
)

// managedFlagOrder is the order flag names sort in (alphabetical).
var managedFlagOrder = []uint32{unixIFA_F_HOMEADDRESS, unixIFA_F_MANAGETEMPADDR, unixIFA_F_NODAD, unixIFA_F_NOPREFIXROUTE}

var flagNames = map[uint32]string{
	unixIFA_F_SECONDARY:      "secondary",
	unixIFA_F_NODAD:          "nodad",
	unixIFA_F_OPTIMISTIC:     "optimistic",
	unixIFA_F_DADFAILED:      "dadfailed",
	unixIFA_F_HOMEADDRESS:    "homeaddress",
	unixIFA_F_DEPRECATED:     "deprecated",
	unixIFA_F_TENTATIVE:      "tentative",
	unixIFA_F_PERMANENT:      "permanent",
	unixIFA_F_MANAGETEMPADDR: "mngtmpaddr",
	unixIFA_F_NOPREFIXROUTE:  "noprefixroute",
	unixIFA_F_MCAUTOJOIN:     "autojoin",
	unixIFA_F_STABLE_PRIVACY: "stable-privacy",
}

var flagByName = func() map[string]uint32 {
	m := make(map[string]uint32, len(flagNames)+2)
	for bit, name := range flagNames {
		m[name] = bit
	}
	m["temporary"] = unixIFA_F_SECONDARY
	m["managetempaddr"] = unixIFA_F_MANAGETEMPADDR
	return m
}()

// flagStrings names the bits of flags; IPv6 calls bit 0 "temporary".
func flagStrings(flags uint32, v6 bool) []string {
	var out []string
	for bit := uint32(1); bit != 0 && bit <= flags; bit <<= 1 {
		if flags&bit == 0 {
			continue
		}
		name, ok := flagNames[bit]
		switch {
		case !ok:
			name = "0x" + strconv.FormatUint(uint64(bit), 16)
		case v6 && bit == unixIFA_F_SECONDARY:
			name = "temporary"
		}
		out = append(out, name)
	}
	return out
}

// flagBits is the inverse of flagStrings (unknown names are ignored).
func flagBits(names []string) uint32 {
	var bits uint32
	for _, n := range names {
		if bit, ok := flagByName[n]; ok {
			bits |= bit
		} else if v, err := strconv.ParseUint(n, 0, 32); err == nil {
			bits |= uint32(v)
		}
	}
	return bits
}

// Scopes (linux/rtnetlink.h rt_scope_t).
const (
	scopeUniverse = 0
	scopeSite     = 200
	scopeLink     = 253
	scopeHost     = 254
	scopeNowhere  = 255
)

var scopeNames = map[uint8]string{
	scopeUniverse: ScopeGlobal,
	scopeSite:     ScopeSite,
	scopeLink:     ScopeLink,
	scopeHost:     ScopeHost,
	scopeNowhere:  "nowhere",
}

var scopeByName = map[string]uint8{
	ScopeGlobal: scopeUniverse,
	"universe":  scopeUniverse,
	ScopeSite:   scopeSite,
	ScopeLink:   scopeLink,
	ScopeHost:   scopeHost,
}

func scopeString(sc uint8) string {
	if n, ok := scopeNames[sc]; ok {
		return n
	}
	return strconv.Itoa(int(sc))
}

// scopeValue parses a scope name or number.
func scopeValue(s string) uint8 {
	if v, ok := scopeByName[s]; ok {
		return v
	}
	if s == "nowhere" {
		return scopeNowhere
	}
	v, _ := strconv.ParseUint(s, 10, 8)
	return uint8(v)
}

var (
	loopback4  = netip.MustParsePrefix("127.0.0.0/8")
	linkLocal6 = netip.MustParsePrefix("fe80::/10")
	siteLocal6 = netip.MustParsePrefix("fec0::/10")
)

// defaultScope is the scope an address gets when Spec.Scope is empty; for
// IPv6 it is the only scope the kernel gives it.
func defaultScope(a netip.Addr) uint8 {
	switch {
	case a.Is4() && loopback4.Contains(a), a == netip.IPv6Loopback():
		return scopeHost
	case a.Is6() && linkLocal6.Contains(a):
		return scopeLink
	case a.Is6() && siteLocal6.Contains(a):
		return scopeSite
	}
	return scopeUniverse
}
