package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// This file merges the contributions of the sources into one State: pure
// code, tested without a kernel.

// Shadow is an object that two sources contribute: the one of the source
// with the higher priority is applied, the other is shadowed. Equal
// priorities are decided by source name (the lower name wins), so the
// outcome never depends on timing.
type Shadow struct {
	// Kind is the object type: "link", "address", "route", ...
	Kind string `json:"kind"`
	// Object identifies the object by its merge key, e.g. "address
	// 192.0.2.10 dev eth0" or "route 0.0.0.0/0 table main metric 100".
	Object string `json:"object"`
	// By is the name of the source whose object is applied instead.
	By string `json:"by"`
}

// String renders "route 0.0.0.0/0 table main metric 100 (shadowed by dhcp)".
func (s Shadow) String() string { return s.Kind + " " + s.Object + " (shadowed by " + s.By + ")" }

// contribution is one source's part of a merge: the sections it may
// contribute (each valid, or its last valid version).
type contribution struct {
	source   string
	priority int
	state    State
}

// merged is the outcome of a merge.
type merged struct {
	state State
	// objects lists, per source, the objects it contributes ("address
	// 192.0.2.10 dev eth0"), and shadows what of it is shadowed.
	objects map[string][]string
	shadows map[string][]Shadow
}

// picker merges the objects of one kind: the first contribution of a key
// wins, since contributions come in order of precedence.
type picker struct {
	m     *merged
	kind  string
	owner map[string]string // key -> winning source
}

func (m *merged) picker(kind string) *picker {
	return &picker{m: m, kind: kind, owner: map[string]string{}}
}

// take reports whether the object with key from source src is applied,
// recording it and any shadowing.
func (p *picker) take(src, key string) bool {
	p.m.objects[src] = append(p.m.objects[src], p.kind+" "+key)
	if by, ok := p.owner[key]; ok {
		p.m.shadows[src] = append(p.m.shadows[src], Shadow{Kind: p.kind, Object: key, By: by})
		return false
	}
	p.owner[key] = src
	return true
}

// merge merges the contributions: for each object key the contribution of
// the highest priority wins (ties: the lower source name). Link entries
// must have their device selectors resolved (Name set).
func merge(cs []contribution) merged {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b contribution) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return cmp.Compare(a.source, b.source)
	})
	m := merged{objects: map[string][]string{}, shadows: map[string][]Shadow{}}
	out := &m.state
	links, wgs, bonds, vlans, bridges := m.picker("link"), m.picker("wireguard"), m.picker("bond"), m.picker("vlan"), m.picker("bridge")
	addrs, routes, rules := m.picker("address"), m.picker("route"), m.picker("rule")
	fw, res, hosts, hn := m.picker("firewall"), m.picker("resolvers"), m.picker("hosts"), m.picker("hostname")
	name := func(n string) string { return strings.TrimSpace(n) }
	for _, c := range cs {
		s := &c.state
		src := c.source
		out.Links = appendTaken(out.Links, s.Links, links, src, linkKey)
		out.WireGuard = appendTaken(out.WireGuard, s.WireGuard, wgs, src, func(w wireguard.Spec) string { return name(w.Name) })
		out.Bonds = appendTaken(out.Bonds, s.Bonds, bonds, src, func(b bond.Spec) string { return name(b.Name) })
		out.VLANs = appendTaken(out.VLANs, s.VLANs, vlans, src, vlanKey)
		out.Bridges = appendTaken(out.Bridges, s.Bridges, bridges, src, func(b bridge.Spec) string { return name(b.Name) })
		out.Addresses = appendTaken(out.Addresses, s.Addresses, addrs, src, addrKey)
		out.Routes = appendTaken(out.Routes, s.Routes, routes, src, routeKey)
		out.Rules = appendTaken(out.Rules, s.Rules, rules, src, ruleKey)
		out.Hosts = appendTaken(out.Hosts, s.Hosts, hosts, src, func(h resolv.HostEntry) string { return h.Address.String() })
		if s.Firewall != nil && fw.take(src, "table") {
			out.Firewall = s.Firewall
		}
		if s.Resolvers != nil && res.take(src, "resolv.conf") {
			out.Resolvers = s.Resolvers
		}
		if s.Hostname != nil && hn.take(src, "hostname") {
			out.Hostname = s.Hostname
		}
	}
	return m
}

// linkKey is a link's name as Normalize leaves it.
func linkKey(l Link) string {
	s := l.Spec
	s.Normalize()
	return s.Name
}

// appendTaken appends to out the items whose key p lets src have.
func appendTaken[T any](out, items []T, p *picker, src string, key func(T) string) []T {
	for _, x := range items {
		if p.take(src, key(x)) {
			out = append(out, x)
		}
	}
	return out
}

// vlanKey is a VLAN's name, its default name when it has none, or, for a
// parent chosen by selector, the selector and id.
func vlanKey(v vlan.Spec) string {
	v.Normalize()
	if v.Name != "" {
		return v.Name
	}
	if v.ParentSelector != nil {
		return fmt.Sprintf("id %d parentSelector %+v", v.ID, *v.ParentSelector)
	}
	return fmt.Sprintf("id %d", v.ID)
}

// addrKey is an address's identity: its host address and link (two
// prefix lengths of one host address on one link are one address).
func addrKey(a addr.Spec) string {
	return a.Address.Addr().String() + " dev " + a.Link
}

// routeKey is a route's identity in the kernel: table, destination,
// metric and TOS, after the defaults Normalize fills in.
func routeKey(r route.Spec) string {
	r.Normalize()
	k := fmt.Sprintf("%s table %s metric %d", r.Destination, route.TableName(r.Table), r.Metric)
	if r.TOS != 0 {
		k += fmt.Sprintf(" tos %#x", r.TOS)
	}
	return k
}

// ruleKey is a rule's identity: all of its fields, normalized.
func ruleKey(r route.Rule) string {
	r.Normalize()
	return r.String()
}
