package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/selector"
)

// validate checks the state as the Reconciler checks it
// (State.Validate): what involves several sections.
func (c *netConfig) validate() error {
	if err := c.State.Validate(); err != nil {
		return &configError{path: "machine.network", msg: "translated state", err: err}
	}
	return nil
}

// resolve returns a copy of c in which every device selector of an
// interface is replaced by the name of the one device of links it selects:
// the State.Links entries and VLAN parents, the DHCP and shared-IP links,
// and the Bound objects, which join State, DHCP and VIPs. Bond member
// selectors stay (package bond resolves them). c is not changed. A
// selector that matches no device or several is an error naming the
// interface's path; the result is then nil.
func (c *netConfig) resolve(links []link.Status) (*netConfig, error) {
	out := &netConfig{State: c.State}
	st := &out.State
	st.Links = slices.Clone(c.State.Links)
	st.VLANs = slices.Clone(c.State.VLANs)
	st.Bridges = slices.Clone(c.State.Bridges)
	st.Addresses = slices.Clone(c.State.Addresses)
	st.Routes = slices.Clone(c.State.Routes)
	out.DHCP = slices.Clone(c.DHCP)
	out.VIPs = slices.Clone(c.VIPs)
	var errs []error
	match := func(s *selector.Selector, where string) (string, bool) {
		dev, err := s.MatchOne(links)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: deviceSelector: %w", where, err))
			return "", false
		}
		return dev.Name, true
	}
	for i := range st.Links {
		l := &st.Links[i]
		if l.DeviceSelector == nil {
			continue
		}
		if name, ok := match(l.DeviceSelector, fmt.Sprintf("links[%d]", i)); ok {
			l.Name, l.DeviceSelector = name, nil
		}
	}
	for i := range st.VLANs {
		v := &st.VLANs[i]
		if v.ParentSelector == nil {
			continue
		}
		if name, ok := match(v.ParentSelector, fmt.Sprintf("vlans[%d] (id %d)", i, v.ID)); ok {
			v.Parent, v.ParentSelector, v.Name = name, nil, vlanLinkName(name, v.ID)
		}
	}
	for i := range out.DHCP {
		d := &out.DHCP[i]
		if d.Selector == nil {
			continue
		}
		if name, ok := match(d.Selector, fmt.Sprintf("dhcp[%d]", i)); ok {
			d.Link, d.Selector = name, nil
		}
	}
	for i := range out.VIPs {
		v := &out.VIPs[i]
		if v.Selector == nil {
			continue
		}
		if name, ok := match(v.Selector, fmt.Sprintf("vip %s", v.Address)); ok {
			v.Link, v.Selector = name, nil
		}
	}
	for _, b := range c.Bound {
		dev, ok := match(b.Selector, b.Path)
		if !ok {
			continue
		}
		name := dev
		if b.VLAN != 0 {
			name = vlanLinkName(dev, b.VLAN)
		}
		for _, a := range b.Addresses {
			a.Link = name
			st.Addresses = append(st.Addresses, a)
		}
		for _, r := range b.Routes {
			r.Link = name
			st.Routes = append(st.Routes, r)
		}
		if b.DHCP != nil {
			d := *b.DHCP
			d.Link, d.Selector = name, nil
			out.DHCP = append(out.DHCP, d)
		}
		if b.VIP != nil {
			v := *b.VIP
			v.Link, v.Selector = name, nil
			out.VIPs = append(out.VIPs, v)
		}
		if b.BridgeMaster != "" {
			if err := joinBridge(st.Bridges, st.Links, b.BridgeMaster, name); err != nil {
				errs = append(errs, fmt.Errorf("%s: bridgePort: %w", b.Path, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// joinBridge makes port a port of master: a port of the bridge entry when
// the bridge is configured here, otherwise the master of port's link
// entry.
func joinBridge(bridges []bridge.Spec, links []reconcile.Link, master, port string) error {
	for i := range bridges {
		if bridges[i].Name == master {
			b := &bridges[i]
			b.Ports = append(slices.Clone(b.Ports), bridge.Port{Name: port})
			return nil
		}
	}
	for i := range links {
		if links[i].Name == port {
			m := master
			links[i].Master = &m
			return nil
		}
	}
	return fmt.Errorf("%s has no link entry", port)
}
