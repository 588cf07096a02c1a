package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
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
	for _, c := range cs {
		s := &c.state
		for _, l := range s.Links {
			if links.take(c.source, linkKey(l)) {
				out.Links = append(out.Links, l)
			}
		}
		for _, w := range s.WireGuard {
			if wgs.take(c.source, strings.TrimSpace(w.Name)) {
				out.WireGuard = append(out.WireGuard, w)
			}
		}
		for _, b := range s.Bonds {
			if bonds.take(c.source, strings.TrimSpace(b.Name)) {
				out.Bonds = append(out.Bonds, b)
			}
		}
		for _, v := range s.VLANs {
			if vlans.take(c.source, vlanKey(v)) {
				out.VLANs = append(out.VLANs, v)
			}
		}
		for _, b := range s.Bridges {
			if bridges.take(c.source, strings.TrimSpace(b.Name)) {
				out.Bridges = append(out.Bridges, b)
			}
		}
		for _, a := range s.Addresses {
			if addrs.take(c.source, addrKey(a)) {
				out.Addresses = append(out.Addresses, a)
			}
		}
		for _, r := range s.Routes {
			if routes.take(c.source, routeKey(r)) {
				out.Routes = append(out.Routes, r)
			}
		}
		for _, r := range s.Rules {
			if rules.take(c.source, ruleKey(r)) {
				out.Rules = append(out.Rules, r)
			}
		}
		if s.Firewall != nil && fw.take(c.source, "table") {
			out.Firewall = s.Firewall
		}
		if s.Resolvers != nil && res.take(c.source, "resolv.conf") {
			out.Resolvers = s.Resolvers
		}
		for _, h := range s.Hosts {
			if hosts.take(c.source, h.Address.String()) {
				out.Hosts = append(out.Hosts, h)
			}
		}
		if s.Hostname != nil && hn.take(c.source, "hostname") {
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
