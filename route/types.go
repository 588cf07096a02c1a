package route

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is the kind of a route, as ip-route(8) names it. The empty Type in
// a Spec means unicast.
type Type string

// Route types a Spec may ask for.
const (
	TypeUnicast     Type = "unicast"     // forward to a gateway or link
	TypeBlackhole   Type = "blackhole"   // drop silently
	TypeUnreachable Type = "unreachable" // drop, answer ICMP unreachable
	TypeProhibit    Type = "prohibit"    // drop, answer ICMP administratively prohibited
	TypeLocal       Type = "local"       // deliver locally (the local table's kind)
)

// Route types the kernel reports that a Spec cannot ask for.
const (
	TypeBroadcast Type = "broadcast"
	TypeAnycast   Type = "anycast"
	TypeMulticast Type = "multicast"
	TypeThrow     Type = "throw"
	TypeNAT       Type = "nat"
	TypeXResolve  Type = "xresolve"
)

// Kernel route types (RTN_*), part of the Linux ABI.
const (
	rtnUnicast     = 1
	rtnLocal       = 2
	rtnBroadcast   = 3
	rtnAnycast     = 4
	rtnMulticast   = 5
	rtnBlackhole   = 6
	rtnUnreachable = 7
	rtnProhibit    = 8
	rtnThrow       = 9
	rtnNAT         = 10
	rtnXResolve    = 11
)

var typeNames = [...]Type{
	rtnUnicast: TypeUnicast, rtnLocal: TypeLocal, rtnBroadcast: TypeBroadcast,
	rtnAnycast: TypeAnycast, rtnMulticast: TypeMulticast, rtnBlackhole: TypeBlackhole,
	rtnUnreachable: TypeUnreachable, rtnProhibit: TypeProhibit, rtnThrow: TypeThrow,
	rtnNAT: TypeNAT, rtnXResolve: TypeXResolve,
}

func typeFromKernel(t uint8) Type {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return Type("type" + strconv.Itoa(int(t)))
}

// kernel returns the RTN_* number of t, 0 when unknown.
func (t Type) kernel() uint8 {
	if t == "" {
		return rtnUnicast
	}
	for i, n := range typeNames {
		if n == t {
			return uint8(i)
		}
	}
	return 0
}

// reject reports whether routes of type t drop packets (no next hop).
func (t Type) reject() bool {
	return t == TypeBlackhole || t == TypeUnreachable || t == TypeProhibit
}

// Scope is the distance to the destination, as ip-route(8) names it. The
// empty Scope in a Spec is filled in by Normalize the way ip(8) does.
type Scope string

// Route scopes.
const (
	ScopeGlobal Scope = "global" // the kernel's "universe"
	ScopeSite   Scope = "site"
	ScopeLink   Scope = "link" // directly attached destinations
	ScopeHost   Scope = "host" // local addresses
)

// scopeUniverse is an accepted alias of ScopeGlobal.
const scopeUniverse Scope = "universe"

// Kernel scopes (RT_SCOPE_*).
const (
	rtScopeUniverse = 0
	rtScopeSite     = 200
	rtScopeLink     = 253
	rtScopeHost     = 254
	rtScopeNowhere  = 255
)

func scopeFromKernel(s uint8) Scope {
	switch s {
	case rtScopeUniverse:
		return ScopeGlobal
	case rtScopeSite:
		return ScopeSite
	case rtScopeLink:
		return ScopeLink
	case rtScopeHost:
		return ScopeHost
	case rtScopeNowhere:
		return "nowhere"
	}
	return Scope(strconv.Itoa(int(s)))
}

// kernel returns the RT_SCOPE_* number of s and whether s is known.
func (s Scope) kernel() (uint8, bool) {
	switch s {
	case ScopeGlobal, scopeUniverse, "":
		return rtScopeUniverse, true
	case ScopeSite:
		return rtScopeSite, true
	case ScopeLink:
		return rtScopeLink, true
	case ScopeHost:
		return rtScopeHost, true
	}
	return 0, false
}

// Family is an address family as ip(8) names it.
type Family string

// Address families.
const (
	FamilyIPv4 Family = "inet"
	FamilyIPv6 Family = "inet6"
)

const (
	afInet  = 2
	afInet6 = 10
)

func familyFromKernel(f uint8) Family {
	if f == afInet6 {
		return FamilyIPv6
	}
	return FamilyIPv4
}

func (f Family) kernel() uint8 {
	if f == FamilyIPv6 {
		return afInet6
	}
	return afInet
}

// Well-known routing tables.
const (
	TableDefault uint32 = 253 // consulted by the kernel's last rule
	TableMain    uint32 = 254 // where routes go when no table is named
	TableLocal   uint32 = 255 // local and broadcast addresses, kept by the kernel
	tableCompat  uint32 = 252 // placeholder for ids above 255 in 8-bit fields
)

// TableName returns "main", "local" or "default" for the well-known tables
// and the number otherwise.
func TableName(t uint32) string {
	switch t {
	case TableMain:
		return "main"
	case TableLocal:
		return "local"
	case TableDefault:
		return "default"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// Protocol is the originator of a route or rule recorded by the kernel
// (rtm_protocol, FRA_PROTOCOL). Routes and rules that netprim writes carry
// the owner id (netprim.Options.Owner.ID) as their protocol.
type Protocol uint8

// Protocols with special meaning to the kernel or common daemons.
const (
	ProtocolUnspec Protocol = 0
	ProtocolKernel Protocol = 2  // routes the kernel made for addresses
	ProtocolBoot   Protocol = 3  // ip route add without proto
	ProtocolStatic Protocol = 4  // administrator's static routes
	ProtocolRA     Protocol = 9  // IPv6 router advertisements
	ProtocolDHCP   Protocol = 16 // DHCP clients
)

var protocolNames = map[Protocol]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated",
	9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp",
	15: "ntk", 16: "dhcp", 17: "mrouted", 18: "keepalived", 42: "babel",
	84: "ovn", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip",
	192: "eigrp",
}

// String returns the name ip(8) uses ("kernel", "static", ...) or the
// number.
func (p Protocol) String() string {
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// MarshalText renders the protocol like String.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText accepts a name or a number.
func (p *Protocol) UnmarshalText(b []byte) error {
	s := string(b)
	for k, n := range protocolNames {
		if n == s {
			*p = k
			return nil
		}
	}
	v, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return fmt.Errorf("protocol %q: not a name or number 0-255", s)
	}
	*p = Protocol(v)
	return nil
}

// Flags are the next-hop flags the kernel reports for a route (RTNH_F_*).
type Flags uint32

// Route flags.
const (
	FlagDead       Flags = 0x1
	FlagPervasive  Flags = 0x2
	FlagOnLink     Flags = 0x4
	FlagOffload    Flags = 0x8
	FlagLinkDown   Flags = 0x10
	FlagUnresolved Flags = 0x20
	FlagTrap       Flags = 0x40
)

var flagNames = [...]struct {
	f Flags
	n string
}{
	{FlagDead, "dead"}, {FlagPervasive, "pervasive"}, {FlagOnLink, "onlink"},
	{FlagOffload, "offload"}, {FlagLinkDown, "linkdown"},
	{FlagUnresolved, "unresolved"}, {FlagTrap, "trap"},
}

// String lists the flags separated by commas, as ip(8) names them.
func (f Flags) String() string {
	var b strings.Builder
	for _, x := range flagNames {
		if f&x.f != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(x.n)
			f &^= x.f
		}
	}
	if f != 0 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString("0x")
		b.WriteString(strconv.FormatUint(uint64(f), 16))
	}
	return b.String()
}

// MarshalText renders the flags like String.
func (f Flags) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText parses the String form.
func (f *Flags) UnmarshalText(b []byte) error {
	var v Flags
	for _, part := range strings.Split(string(b), ",") {
		if part == "" {
			continue
		}
		found := false
		for _, x := range flagNames {
			if x.n == part {
				v |= x.f
				found = true
			}
		}
		if !found {
			n, err := strconv.ParseUint(part, 0, 32)
			if err != nil {
				return fmt.Errorf("route flags: unknown flag %q", part)
			}
			v |= Flags(n)
		}
	}
	*f = v
	return nil
}
