package main

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netprim/netprim/firewall"
)

// firewallDocs collects the NetworkDefaultActionConfig and
// NetworkRuleConfig documents.
type firewallDocs struct {
	seen        bool
	action      firewall.DefaultAction
	actionWhere value
	rules       []talosRule
	names       map[string]string
}

// talosRule is one NetworkRuleConfig.
type talosRule struct {
	where    value
	name     string
	protocol firewall.Protocol
	ports    []string
	subnets  []netip.Prefix
	except   []netip.Prefix
}

// add reads a document with a kind: a firewall document, or another kind
// (dispatchKind).
func (d *firewallDocs) add(top value, kind string, where value) error {
	switch kind {
	case kindDefaultAction:
		path, err := kindDoc(top, kind, where)
		if err != nil {
			return err
		}
		top.path = path
		f, err := top.fields("apiVersion", "kind", "ingress")
		if err != nil {
			return err
		}
		if d.actionWhere.n != nil {
			return where.errorf("a second %s (the first is at line %d)", kind, d.actionWhere.n.Line)
		}
		iv, ok := f["ingress"]
		if !ok {
			return top.errorf("ingress is required: accept or block")
		}
		s, err := iv.str()
		if err != nil {
			return err
		}
		switch a := firewall.DefaultAction(s); a {
		case firewall.DefaultAccept, firewall.DefaultBlock:
			d.action = a
		default:
			return iv.errorf("%q: want accept or block", s)
		}
		d.seen, d.actionWhere = true, top
		return nil
	case kindRule:
		path, err := kindDoc(top, kind, where)
		if err != nil {
			return err
		}
		if n, ok := lookup(top.n, "name"); ok {
			path += " " + strconv.Quote(deref(n).Value)
		}
		top.path = path
		r, err := readRule(top)
		if err != nil {
			return err
		}
		if d.names == nil {
			d.names = map[string]string{}
		}
		if line, dup := d.names[r.name]; dup {
			return top.errorf("a second %s named %q (the first is at line %s)", kind, r.name, line)
		}
		d.names[r.name] = strconv.Itoa(top.n.Line)
		d.rules = append(d.rules, r)
		d.seen = true
		return nil
	}
	return dispatchKind(top, kind, where)
}

// readRule reads a NetworkRuleConfig.
func readRule(top value) (talosRule, error) {
	r := talosRule{where: top}
	f, err := top.fields("apiVersion", "kind", "name", "portSelector", "ingress")
	if err != nil {
		return r, err
	}
	nv, ok := f["name"]
	if !ok || nv.null() {
		return r, top.errorf("name is required")
	}
	if r.name, err = nv.str(); err != nil {
		return r, err
	}
	if r.name == "" {
		return r, nv.errorf("name is required")
	}
	ps, ok := f["portSelector"]
	if !ok || ps.null() {
		return r, top.errorf("portSelector is required")
	}
	pf, err := ps.fields("ports", "protocol")
	if err != nil {
		return r, err
	}
	pv, ok := pf["protocol"]
	if !ok {
		return r, ps.errorf("protocol is required: tcp, udp, icmp or icmpv6")
	}
	proto, err := pv.str()
	if err != nil {
		return r, err
	}
	switch p := firewall.Protocol(proto); p {
	case firewall.TCP, firewall.UDP, firewall.ICMP, firewall.ICMPv6:
		r.protocol = p
	default:
		return r, pv.errorf("%q: want tcp, udp, icmp or icmpv6", proto)
	}
	ports, err := pf["ports"].list()
	if err != nil {
		return r, err
	}
	if len(ports) == 0 {
		return r, ps.errorf("ports is required")
	}
	var ranges []firewall.PortRange
	for _, p := range ports {
		s, err := p.str()
		if err != nil {
			return r, err
		}
		pr, err := firewall.ParsePortRange(s)
		if err != nil {
			return r, p.errorf("%v: want a port 1-65535 or a range \"LOW-HIGH\"", err)
		}
		for i, o := range ranges {
			if pr.First <= o.Last && o.First <= pr.Last {
				return r, p.errorf("%s overlaps %s (ports[%d])", pr, o, i)
			}
		}
		ranges = append(ranges, pr)
		r.ports = append(r.ports, pr.String())
	}
	items, err := f["ingress"].list()
	if err != nil {
		return r, err
	}
	for _, it := range items {
		inf, err := it.fields("subnet", "except")
		if err != nil {
			return r, err
		}
		sv, ok := inf["subnet"]
		if !ok {
			return r, it.errorf("subnet is required")
		}
		p, err := sv.prefix()
		if err != nil {
			return r, err
		}
		r.subnets = append(r.subnets, p)
		if ev, ok := inf["except"]; ok && !ev.null() && ev.n.Value != "" {
			e, err := ev.prefix()
			if err != nil {
				return r, err
			}
			r.except = append(r.except, e)
		}
	}
	return r, nil
}

// Rule names netd adds in block mode for the ICMP Talos accepts there.
const (
	ruleICMP   = "talos-icmp"
	ruleICMPv6 = "talos-icmpv6"
	// exceptSuffix names the rule that drops the except subnets of a
	// rule in accept mode.
	exceptSuffix = ":except"
)

// spec returns the firewall: nil without firewall documents (the firewall
// is left alone). Talos' semantics, in netprim's first-match rules:
//
//   - ingress: block: each rule accepts its ports from its subnets minus
//     the except subnets; ICMP and ICMPv6 are accepted (Talos limits them
//     to 5 packets/s, which package firewall does not offer).
//   - ingress: accept: each rule drops its ports from every source outside
//     its subnets, and from its except subnets; other traffic is accepted.
//     A rule's drops apply whatever other rules allow, as in Talos.
func (d *firewallDocs) spec() (*firewallSpec, error) {
	if !d.seen {
		return nil, nil
	}
	action := d.action
	if action == "" {
		action = firewall.DefaultAccept // Talos' default
	}
	s := &firewallSpec{DefaultAction: action}
	if action == firewall.DefaultBlock {
		s.Rules = append(s.Rules,
			firewall.Rule{Name: ruleICMP, Protocol: firewall.ICMP, Action: firewall.Accept},
			firewall.Rule{Name: ruleICMPv6, Protocol: firewall.ICMPv6, Action: firewall.Accept})
	}
	for _, r := range d.rules {
		if slices.Contains([]string{ruleICMP, ruleICMPv6}, r.name) || strings.HasSuffix(r.name, exceptSuffix) {
			return nil, r.where.errorf("the rule name %q is reserved by netd", r.name)
		}
		var add []firewall.Rule
		if action == firewall.DefaultBlock {
			// No subnet: Talos' rule matches no source.
			if len(r.subnets) > 0 {
				add = append(add, firewall.Rule{Name: r.name, Protocol: r.protocol, Ports: r.ports,
					Subnets: r.subnets, Except: r.except, Action: firewall.Accept})
			}
		} else {
			if len(r.except) > 0 {
				add = append(add, firewall.Rule{Name: r.name + exceptSuffix, Protocol: r.protocol, Ports: r.ports,
					Subnets: r.except, Action: firewall.Drop})
			}
			if !coversAll(r.subnets) {
				add = append(add, firewall.Rule{Name: r.name, Protocol: r.protocol, Ports: r.ports,
					Subnets: everywhere(), Except: r.subnets, Action: firewall.Drop})
			}
		}
		check := firewall.Spec{DefaultAction: action, Rules: add}
		if err := check.Validate(); err != nil {
			return nil, r.where.wrap(err)
		}
		s.Rules = append(s.Rules, add...)
	}
	if err := s.Validate(); err != nil {
		return nil, value{path: "firewall"}.wrap(err)
	}
	return s, nil
}

// firewallSpec is firewall.Spec (an alias keeps spec's signature short).
type firewallSpec = firewall.Spec

// everywhere returns the prefixes of every IPv4 and IPv6 source.
func everywhere() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
}

// coversAll reports whether ps includes 0.0.0.0/0 and ::/0: a rule that
// drops what is outside them drops nothing.
func coversAll(ps []netip.Prefix) bool {
	var v4, v6 bool
	for _, p := range ps {
		if p.Bits() == 0 {
			v4 = v4 || p.Addr().Is4()
			v6 = v6 || p.Addr().Is6()
		}
	}
	return v4 && v6
}
