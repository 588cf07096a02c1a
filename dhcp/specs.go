package dhcp

import (
	"net/netip"
	"slices"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
)

// DefaultRouteMetric is the metric of the routes made from a lease when
// SpecOptions.RouteMetric is zero (systemd-networkd's default for DHCP
// routes).
const DefaultRouteMetric = 1024

// SpecOptions tune the specs made from a lease.
type SpecOptions struct {
	// RouteMetric is the metric of every route; 0 means
	// DefaultRouteMetric.
	RouteMetric uint32 `json:"routeMetric,omitempty" yaml:"routeMetric,omitempty"`
	// RouteTable is the routing table of every route; 0 means main.
	RouteTable uint32 `json:"routeTable,omitempty" yaml:"routeTable,omitempty"`
	// NoRoutes, NoDNS and NoMTU leave routes, resolvers and the link MTU
	// out of the specs (the lease still reports them).
	NoRoutes bool `json:"noRoutes,omitempty" yaml:"noRoutes,omitempty"`
	NoDNS    bool `json:"noDNS,omitempty" yaml:"noDNS,omitempty"`
	NoMTU    bool `json:"noMTU,omitempty" yaml:"noMTU,omitempty"`
	// Hostname makes Specs.Hostname from the host name option (12) and
	// the domain name (15). Off by default: a DHCP server naming the host
	// is a product's choice.
	Hostname bool `json:"hostname,omitempty" yaml:"hostname,omitempty"`
}

// Specs are the desired objects a lease implies, in the types of netprim's
// object packages, ready for a reconcile.State:
//
//	reconcile.State{
//		Links:     reconcile.Links(s.Links...),
//		Addresses: s.Addresses,
//		Routes:    s.Routes,
//		Resolvers: s.Resolvers,
//	}
type Specs struct {
	// Links sets the link's MTU (option 26); empty without one.
	Links []link.Spec `json:"links,omitempty"`
	// Addresses is the leased address, its lifetimes ending when the lease
	// does (addr.Spec.ValidUntil is the lease's expiry), so the kernel
	// removes it by itself when the lease runs out unrenewed, even if the
	// daemon died; a renewal moves ValidUntil.
	Addresses []addr.Spec `json:"addresses,omitempty"`
	// Routes are the default routes via the routers (option 3), or the
	// classless static routes (option 121) with an on-link /32 for every
	// gateway outside the leased subnet.
	Routes []route.Spec `json:"routes,omitempty"`
	// Resolvers are the DNS servers and search domains (option 119, or the
	// domain name, option 15); nil when the lease has no DNS servers.
	Resolvers *resolv.ResolverSpec `json:"resolvers,omitempty"`
	// Hostname is set with SpecOptions.Hostname when the lease names the
	// host.
	Hostname *resolv.HostnameSpec `json:"hostname,omitempty"`
}

// Equal reports whether two Specs want the same objects, the ends of the
// address's lifetimes included: the specs of a lease before and after a
// renewal differ in ValidUntil.
func (s Specs) Equal(o Specs) bool { return s.equal(o, true) }

// equal is Equal, comparing the ends of the address's lifetimes only with
// ends (a renewal that changes nothing else is not a change of the lease's
// parameters).
func (s Specs) equal(o Specs, ends bool) bool {
	eqRes := func(a, b *resolv.ResolverSpec) bool {
		if a == nil || b == nil {
			return a == b
		}
		return slices.Equal(a.Nameservers, b.Nameservers) && slices.Equal(a.SearchDomains, b.SearchDomains)
	}
	eqHost := func(a, b *resolv.HostnameSpec) bool {
		if a == nil || b == nil {
			return a == b
		}
		return *a == *b
	}
	return slices.EqualFunc(s.Links, o.Links, func(a, b link.Spec) bool { return a.Name == b.Name && a.MTU == b.MTU }) &&
		slices.EqualFunc(s.Addresses, o.Addresses, func(a, b addr.Spec) bool {
			return a.Link == b.Link && a.Address == b.Address && a.Broadcast == b.Broadcast &&
				a.ValidLifetime == b.ValidLifetime && a.PreferredLifetime == b.PreferredLifetime &&
				(!ends || a.ValidUntil.Equal(b.ValidUntil) && a.PreferredUntil.Equal(b.PreferredUntil))
		}) &&
		slices.EqualFunc(s.Routes, o.Routes, func(a, b route.Spec) bool {
			return a.Destination == b.Destination && a.Gateway == b.Gateway && a.Link == b.Link &&
				a.Metric == b.Metric && a.Table == b.Table && a.Scope == b.Scope && a.OnLink == b.OnLink
		}) &&
		eqRes(s.Resolvers, o.Resolvers) && eqHost(s.Hostname, o.Hostname)
}

// Specs returns the objects the lease implies (see Specs). Every spec it
// returns is valid: ParseAck has dropped what could not be.
func (l *Lease) Specs(o SpecOptions) Specs {
	var s Specs
	if l == nil || !l.Address.IsValid() {
		return s
	}
	metric := o.RouteMetric
	if metric == 0 {
		metric = DefaultRouteMetric
	}
	a := addr.Spec{Link: l.Link, Address: l.Address}
	if l.Address.Bits() <= 30 {
		a.Broadcast = lastAddr(l.Address.Masked())
	}
	if l.LeaseTime < InfiniteLease {
		a.ValidUntil = l.Expiry()
	}
	s.Addresses = []addr.Spec{a}

	if !o.NoRoutes {
		subnet := l.Address.Masked()
		mk := func(dst netip.Prefix, gw netip.Addr) route.Spec {
			r := route.Spec{Destination: dst, Gateway: gw, Link: l.Link, Metric: metric, Table: o.RouteTable}
			if !gw.IsValid() {
				r.Scope = route.ScopeLink
			}
			return r
		}
		onlink := map[netip.Addr]bool{}
		if len(l.Routes) > 0 {
			for _, rt := range l.Routes {
				r := mk(rt.Destination, rt.Gateway)
				if rt.Gateway.IsValid() && !subnet.Contains(rt.Gateway) {
					r.OnLink = true
					if !onlink[rt.Gateway] {
						onlink[rt.Gateway] = true
						s.Routes = append(s.Routes, mk(netip.PrefixFrom(rt.Gateway, 32), netip.Addr{}))
					}
				}
				s.Routes = append(s.Routes, r)
			}
			// A /32 made for a gateway may duplicate a route the server
			// gave: keep the first of each destination.
			seen := map[netip.Prefix]bool{}
			s.Routes = slices.DeleteFunc(s.Routes, func(r route.Spec) bool {
				if seen[r.Destination] {
					return true
				}
				seen[r.Destination] = true
				return false
			})
		} else if len(l.Routers) > 0 {
			// One default route: the first router (routes of equal key
			// would replace each other).
			s.Routes = append(s.Routes, mk(netip.PrefixFrom(netip.IPv4Unspecified(), 0), l.Routers[0]))
		}
	}

	if !o.NoDNS && len(l.DNS) > 0 {
		res := &resolv.ResolverSpec{Nameservers: slices.Clone(l.DNS)}
		switch {
		case len(l.SearchDomains) > 0:
			res.SearchDomains = slices.Clone(l.SearchDomains)
		case l.DomainName != "":
			res.SearchDomains = []string{l.DomainName}
		}
		s.Resolvers = res
	}
	if !o.NoMTU && l.MTU > 0 {
		s.Links = []link.Spec{{Name: l.Link, MTU: l.MTU}}
	}
	if o.Hostname && l.Hostname != "" {
		s.Hostname = &resolv.HostnameSpec{Hostname: l.Hostname, Domainname: l.DomainName}
	}
	return s
}
