package route

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/netprim/netprim"
)

// Spec is a desired route. The zero value of a field means the kernel
// default; Normalize fills in the defaults the kernel would pick, so that a
// normalized Spec equals the Spec part of the Status that List reports for
// the route Apply wrote.
//
// The net/netip fields have no yaml omitempty: yaml.v3 takes every netip
// value for empty (their fields are unexported) and would drop set ones.
type Spec struct {
	// Destination is the destination prefix; 0.0.0.0/0 and ::/0 are the
	// default routes. Bits outside the prefix are cleared by Normalize.
	Destination netip.Prefix `json:"destination" yaml:"destination"`
	// Gateway is the next hop's address. An IPv4 route may use an IPv6
	// gateway (RFC 8950); then Link is needed when the gateway is
	// link-local.
	Gateway netip.Addr `json:"gateway,omitzero" yaml:"gateway"`
	// Link is the name of the outgoing link. With a Gateway it may be empty:
	// the kernel picks the link that reaches the gateway, and the link is
	// then not compared.
	Link string `json:"link,omitempty" yaml:"link,omitempty"`
	// Source is the preferred source address (ip's "src", RTA_PREFSRC); it
	// must be an address of this host.
	Source netip.Addr `json:"source,omitzero" yaml:"source"`
	// Table is the routing table id; 0 means main (254), or local (255)
	// for routes of type local. Table 252 is reserved; table 255 holds only
	// routes of type local.
	Table uint32 `json:"table,omitempty" yaml:"table,omitempty"`
	// Metric is the route priority; lower wins. For IPv6 0 means the
	// kernel's default, 1024.
	Metric uint32 `json:"metric,omitempty" yaml:"metric,omitempty"`
	// Scope is the route scope (IPv4 only; IPv6 routes are always global).
	// Empty picks what ip(8) picks: link for a route without gateway, host
	// for type local, global otherwise.
	Scope Scope `json:"scope,omitempty" yaml:"scope,omitempty"`
	// Type is unicast (empty), blackhole, unreachable, prohibit or local.
	Type Type `json:"type,omitempty" yaml:"type,omitempty"`
	// MTU is the path MTU of the route (RTAX_MTU); 0 means none.
	MTU uint32 `json:"mtu,omitempty" yaml:"mtu,omitempty"`
	// OnLink makes the kernel treat Gateway as directly reachable on Link
	// even though no route covers it.
	OnLink bool `json:"onLink,omitempty" yaml:"onLink,omitempty"`
	// TOS is the IPv4 type-of-service (DS field) the route matches; 0
	// matches any. IPv6 routes have none.
	TOS uint8 `json:"tos,omitempty" yaml:"tos,omitempty"`
	// NextHops makes the route multipath (ECMP). Gateway, Link and OnLink
	// stay empty then. A single next hop is folded into Gateway/Link by
	// Normalize, as the kernel reports it so.
	NextHops []NextHop `json:"nextHops,omitempty" yaml:"nextHops,omitempty"`
}

// NextHop is one path of a multipath route.
type NextHop struct {
	// Gateway is the next hop's address (IPv6 for an IPv4 route is RFC
	// 8950). IPv6 routes need one on every hop.
	Gateway netip.Addr `json:"gateway,omitzero" yaml:"gateway"`
	// Link is the outgoing link; it may be empty when Gateway is set and not
	// link-local.
	Link string `json:"link,omitempty" yaml:"link,omitempty"`
	// Weight is the share of flows this hop gets, 1-256; 0 means 1.
	Weight int `json:"weight,omitempty" yaml:"weight,omitempty"`
	// OnLink treats Gateway as directly reachable on Link.
	OnLink bool `json:"onLink,omitempty" yaml:"onLink,omitempty"`
}

// Family returns the address family of the destination.
func (s *Spec) Family() Family {
	if s.Destination.Addr().Is6() {
		return FamilyIPv6
	}
	return FamilyIPv4
}

// key identifies a route in the kernel: the kernel keeps at most one route
// (one IPv6 route per link for routes without gateway) per key, and
// replaces in place by key. It packs family, destination, table, metric and
// tos into plain words so that maps hash it fast.
type key struct {
	hi, lo uint64 // destination address (IPv4 as IPv4-mapped IPv6)
	tm     uint64 // table << 32 | metric
	meta   uint64 // is4 << 16 | prefix length << 8 | tos
}

func makeKey(dst netip.Prefix, table, metric uint32, tos uint8) key {
	a := dst.Addr().As16()
	k := key{
		hi:   binary.BigEndian.Uint64(a[:8]),
		lo:   binary.BigEndian.Uint64(a[8:]),
		tm:   uint64(table)<<32 | uint64(metric),
		meta: uint64(dst.Bits()&0xff)<<8 | uint64(tos),
	}
	if dst.Addr().Is4() {
		k.meta |= 1 << 16
	}
	return k
}

// key returns the key of s as Normalize would leave it, without copying s.
func (s *Spec) key() key {
	table, metric := s.Table, s.Metric
	if table == 0 {
		table = TableMain
		if s.Type == TypeLocal {
			table = TableLocal
		}
	}
	if metric == 0 && s.Destination.Addr().Is6() {
		metric = 1024
	}
	return makeKey(s.Destination.Masked(), table, metric, s.TOS)
}

// Normalize fills in the defaults the kernel (and ip(8)) would pick, so
// that equivalent specs compare equal and a Spec equals what List reports
// after Apply: the destination is masked, Type defaults to unicast, Table
// to main (local for type local), the IPv6 metric to 1024, Scope to link
// for an IPv4 route without gateway, host for type local and global
// otherwise, next-hop weights to 1, and a single next hop is folded into
// Gateway, Link and OnLink. IPv4-mapped addresses of IPv4 routes are
// unmapped. Invalid values are left for Validate to report (Validate checks
// a normalized copy): a next hop is folded only when that hides no error.
func (s *Spec) Normalize() {
	s.Destination = s.Destination.Masked()
	v6 := s.Destination.Addr().Is6()
	if !v6 {
		s.Gateway = s.Gateway.Unmap()
		s.Source = s.Source.Unmap()
	}
	if s.Type == "" {
		s.Type = TypeUnicast
	}
	if s.Table == 0 {
		s.Table = TableMain
		if s.Type == TypeLocal {
			s.Table = TableLocal
		}
	}
	if v6 && s.Metric == 0 {
		s.Metric = 1024
	}
	if len(s.NextHops) > 0 {
		// Copy the hops before changing them: they are the caller's.
		hops := s.NextHops
		for i := range hops {
			if hops[i].Weight == 0 || (!v6 && hops[i].Gateway.Is4In6()) {
				hops = make([]NextHop, len(s.NextHops))
				copy(hops, s.NextHops)
				break
			}
		}
		for i := range hops {
			if hops[i].Weight == 0 {
				hops[i].Weight = 1
			}
			if !v6 && hops[i].Gateway.Is4In6() {
				hops[i].Gateway = hops[i].Gateway.Unmap()
			}
		}
		s.NextHops = hops
		if len(hops) == 1 && s.foldable(&hops[0], v6) {
			s.Gateway, s.Link, s.OnLink = hops[0].Gateway, hops[0].Link, hops[0].OnLink
			s.NextHops = nil
		}
	}
	switch {
	case v6 && (s.Scope == "" || s.Scope == scopeUniverse):
		s.Scope = ScopeGlobal
	case v6:
	case s.Scope == scopeUniverse:
		s.Scope = ScopeGlobal
	case s.Scope != "":
	case s.Type == TypeLocal:
		s.Scope = ScopeHost
	case s.Type == TypeUnicast && !s.Gateway.IsValid() && len(s.NextHops) == 0:
		s.Scope = ScopeLink
	default:
		s.Scope = ScopeGlobal
	}
}

// foldable reports whether Normalize folds the single next hop h of s into
// Gateway, Link and OnLink, as the kernel reports a one-path route: only
// when that loses nothing and hides no error Validate would report about
// the hop (the hop is valid, the route is unicast and sets no gateway, link
// or onLink of its own).
func (s *Spec) foldable(h *NextHop, v6 bool) bool {
	f, _ := checkHop(h, v6)
	return f == "" && !s.Gateway.IsValid() && s.Link == "" && !s.OnLink &&
		(s.Type == "" || s.Type == TypeUnicast)
}

// Validate checks a normalized copy of the spec (s is not changed), so it
// accepts exactly what Plan and Apply accept, and returns an error that
// names the bad field and wraps netprim.ErrInvalidSpec. It cannot check
// what needs the kernel, such as whether Link exists.
func (s Spec) Validate() error {
	n := normalized(&s)
	if f, msg := n.check(); f != "" {
		return &specError{list: "", index: -1, field: f, msg: msg}
	}
	return nil
}

// Validate checks every spec of a set, normalized as Apply takes them
// (specs is not changed), and that no two specs name the same route
// (family, table, destination, metric and tos). The error joins one error
// per bad spec, each naming it as spec[i].field.
func Validate(specs []Spec) error {
	var errs []error
	for i := range specs {
		n := normalized(&specs[i])
		if f, msg := n.check(); f != "" {
			errs = append(errs, &specError{list: "spec", index: i, field: f, msg: msg})
		}
	}
	if errs != nil {
		return errors.Join(errs...)
	}
	seen := make(map[key]int32, len(specs))
	for i := range specs {
		k := specs[i].key()
		if j, dup := seen[k]; dup {
			errs = append(errs, &specError{list: "spec", index: i, field: "destination",
				msg: "same destination, table, metric and tos as spec[" + strconv.Itoa(int(j)) + "]: the kernel holds one route per key"})
			continue
		}
		seen[k] = int32(i)
	}
	return errors.Join(errs...)
}

// normalized returns a normalized copy of s.
func normalized(s *Spec) Spec {
	n := *s
	n.Normalize()
	return n
}

// specError is a validation error naming the field; it wraps
// netprim.ErrInvalidSpec.
type specError struct {
	list  string // "spec" or "rule"; empty for a single spec
	index int
	field string
	msg   string
}

func (e *specError) Error() string {
	var b strings.Builder
	b.WriteString("route: ")
	if e.list != "" {
		b.WriteString(e.list)
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(e.index))
		b.WriteByte(']')
		if e.field != "" {
			b.WriteByte('.')
		}
	}
	b.WriteString(e.field)
	b.WriteString(": ")
	b.WriteString(e.msg)
	return b.String()
}

func (e *specError) Unwrap() error { return netprim.ErrInvalidSpec }

// check returns the first bad field and why, or "" when s is valid.
func (s *Spec) check() (field, msg string) {
	if !s.Destination.IsValid() {
		return "destination", "required (0.0.0.0/0 or ::/0 for a default route)"
	}
	v6 := s.Destination.Addr().Is6()
	if s.Destination.Addr().Zone() != "" {
		return "destination", "must not have a zone"
	}
	switch s.Type {
	case "", TypeUnicast, TypeBlackhole, TypeUnreachable, TypeProhibit, TypeLocal:
	default:
		return "type", fmt.Sprintf("%q is not one of unicast, blackhole, unreachable, prohibit, local", string(s.Type))
	}
	typ := s.Type
	if typ == "" {
		typ = TypeUnicast
	}
	hasHops := len(s.NextHops) > 0
	if s.Gateway.IsValid() {
		if typ != TypeUnicast {
			return "gateway", "a " + string(typ) + " route has no gateway"
		}
		if hasHops {
			return "gateway", "set either gateway or nextHops, not both"
		}
		if m := checkGateway(s.Gateway, v6, s.Link); m != "" {
			return "gateway", m
		}
	}
	if s.Link != "" {
		if typ.reject() {
			return "link", "a " + string(typ) + " route has no link"
		}
		if hasHops {
			return "link", "set the link of each next hop instead"
		}
		if m := checkLinkName(s.Link); m != "" {
			return "link", m
		}
	}
	if typ == TypeUnicast && !s.Gateway.IsValid() && s.Link == "" && !hasHops {
		return "gateway", "a unicast route needs a gateway, a link or nextHops"
	}
	if typ == TypeLocal && s.Link == "" {
		return "link", "a local route needs a link"
	}
	if s.Source.IsValid() {
		switch {
		case s.Source.Zone() != "":
			return "source", "must not have a zone"
		case s.Source.Unmap().Is4() == v6:
			return "source", s.Source.String() + " is not of the destination's family"
		case s.Source.IsUnspecified() || s.Source.IsMulticast():
			return "source", s.Source.String() + " is not a unicast address"
		case typ.reject():
			return "source", "a " + string(typ) + " route has no source"
		}
	}
	switch {
	case s.Table == tableCompat:
		return "table", "252 is reserved by the kernel"
	case s.Table == TableLocal && typ != TypeLocal:
		return "table", "the local table (255) holds only routes of type local"
	}
	if _, ok := s.Scope.kernel(); !ok {
		return "scope", fmt.Sprintf("%q is not one of global, site, link, host", string(s.Scope))
	}
	if s.Scope != "" {
		scope := s.Scope
		if scope == scopeUniverse {
			scope = ScopeGlobal
		}
		switch {
		case v6 && scope != ScopeGlobal:
			return "scope", "IPv6 routes are always global"
		case typ == TypeLocal && scope != ScopeHost && !v6:
			return "scope", "a local route has scope host"
		case typ != TypeLocal && scope == ScopeHost && (s.Gateway.IsValid() || hasHops):
			return "scope", "a route with a gateway cannot have scope host"
		case scope == ScopeLink && s.Gateway.IsValid() && !s.OnLink:
			return "scope", "a route via a gateway cannot have scope link unless onLink is set"
		}
	}
	if s.MTU != 0 {
		lo := uint32(68)
		if v6 {
			lo = 1280
		}
		if typ.reject() {
			return "mtu", "a " + string(typ) + " route has no mtu"
		}
		if s.MTU < lo || s.MTU > 65535 {
			return "mtu", fmt.Sprintf("%d is outside %d-65535", s.MTU, lo)
		}
	}
	if s.OnLink {
		if hasHops {
			return "onLink", "set onLink on each next hop instead"
		}
		if !s.Gateway.IsValid() {
			return "onLink", "needs a gateway"
		}
		if s.Link == "" {
			return "onLink", "needs a link"
		}
	}
	if s.TOS != 0 {
		if v6 {
			return "tos", "IPv6 routes have no tos"
		}
		if s.TOS&3 != 0 {
			return "tos", fmt.Sprintf("%#x sets ECN bits; only the DS field (multiples of 4) may be matched", s.TOS)
		}
	}
	if hasHops {
		if typ != TypeUnicast {
			return "nextHops", "a " + string(typ) + " route has no next hops"
		}
		for i, h := range s.NextHops {
			p := "nextHops[" + strconv.Itoa(i) + "]."
			if f, m := checkHop(&h, v6); f != "" {
				return p + f, m
			}
			for j := range i {
				o := s.NextHops[j]
				if o.Gateway.Unmap() == h.Gateway.Unmap() && o.Link == h.Link {
					return p + "gateway", "same gateway and link as nextHops[" + strconv.Itoa(j) + "]"
				}
			}
		}
	}
	return "", ""
}

// checkHop returns the first bad field of a next hop of a route whose
// destination is IPv6 when v6 is set, and why; "" when h is valid.
func checkHop(h *NextHop, v6 bool) (field, msg string) {
	if !h.Gateway.IsValid() && h.Link == "" {
		return "gateway", "a next hop needs a gateway or a link"
	}
	if v6 && !h.Gateway.IsValid() {
		return "gateway", "IPv6 next hops need a gateway"
	}
	if h.Gateway.IsValid() {
		if m := checkGateway(h.Gateway, v6, h.Link); m != "" {
			return "gateway", m
		}
	}
	if h.Link != "" {
		if m := checkLinkName(h.Link); m != "" {
			return "link", m
		}
	}
	if h.Weight < 0 || h.Weight > 256 {
		return "weight", fmt.Sprintf("%d is outside 1-256", h.Weight)
	}
	if h.OnLink && (!h.Gateway.IsValid() || h.Link == "") {
		return "onLink", "needs a gateway and a link"
	}
	return "", ""
}

// checkGateway validates a gateway of a route whose destination is IPv6
// when v6 is set.
func checkGateway(gw netip.Addr, v6 bool, link string) string {
	if gw.Zone() != "" {
		return gw.String() + ": use link instead of a zone"
	}
	g := gw
	if !v6 {
		g = gw.Unmap()
	}
	switch {
	case g.IsUnspecified():
		return g.String() + " is unspecified"
	case g.IsMulticast():
		return g.String() + " is multicast"
	case v6 && g.Is4():
		return g.String() + " is IPv4; an IPv6 route needs an IPv6 gateway"
	case g.Is6() && g.IsLinkLocalUnicast() && link == "":
		return g.String() + " is link-local: the link must be given"
	}
	return ""
}

// checkLinkName validates an interface name the way the kernel does.
func checkLinkName(n string) string {
	if len(n) > 15 {
		return strconv.Quote(n) + " is longer than 15 bytes"
	}
	if n == "." || n == ".." {
		return strconv.Quote(n) + " is not a link name"
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c == '/' || c == ':' || c <= ' ' || c == 0x7f {
			return strconv.Quote(n) + " contains a character link names cannot have"
		}
	}
	return ""
}
