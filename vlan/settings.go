package vlan

import (
	"fmt"
	"maps"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim/internal/linkkind"
)

// settings is the linkkind.Settings of a VLAN link: how package link
// creates it and which changes it makes in place.
type settings struct {
	s           Spec
	parentIndex int // resolved before Apply; 0 when the parent is missing
}

var _ linkkind.Settings = settings{}

func (settings) Kind() string    { return "vlan" }
func (settings) Validate() error { return nil } // Spec.validate checked it

func (c settings) Describe() string {
	d := fmt.Sprintf("vlan %s id %d on %s", c.s.Protocol, c.s.ID, c.s.Parent)
	if c.s.IngressQoS != nil && len(c.s.IngressQoS) > 0 {
		d += ", ingressQoS " + FormatQoS(c.s.IngressQoS)
	}
	if c.s.EgressQoS != nil && len(c.s.EgressQoS) > 0 {
		d += ", egressQoS " + FormatQoS(c.s.EgressQoS)
	}
	return d
}

func (c settings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	if c.parentIndex == 0 {
		return nil, nil, fmt.Errorf("parent %s does not exist", c.s.Parent)
	}
	attrs.ParentIndex = c.parentIndex
	l := &netlink.Vlan{
		LinkAttrs:     attrs,
		VlanId:        c.s.ID,
		VlanProtocol:  protocolOf(c.s.Protocol),
		IngressQosMap: c.s.IngressQoS,
		EgressQosMap:  c.s.EgressQoS,
	}
	return l, nil, nil
}

// Diff recreates the link when its id, parent or protocol differ, and
// changes the QoS maps in place.
func (c settings) Diff(have linkkind.Observed) (string, []linkkind.Change) {
	v, ok := have.Link.(*netlink.Vlan)
	if !ok {
		return "not a VLAN link", nil
	}
	if v.VlanId != c.s.ID {
		return fmt.Sprintf("vlan id %d -> %d", v.VlanId, c.s.ID), nil
	}
	parent := parentName(v, have.Names)
	if parent != c.s.Parent {
		return fmt.Sprintf("parent %s -> %s", parent, c.s.Parent), nil
	}
	if p := protocolName(v.VlanProtocol); p != c.s.Protocol {
		return fmt.Sprintf("protocol %s -> %s", p, c.s.Protocol), nil
	}
	var changes []linkkind.Change
	if c.s.IngressQoS != nil && !maps.Equal(dropZero(v.IngressQosMap), c.s.IngressQoS) {
		m := qosUpdate(v.IngressQosMap, c.s.IngressQoS)
		changes = append(changes, linkkind.Change{
			Field: "ingressQoS", From: orNone(FormatQoS(dropZero(v.IngressQosMap))), To: orNone(FormatQoS(c.s.IngressQoS)),
			Apply: func(h *netlink.Handle, have netlink.Link) error {
				return modify(h, have, c.s.ID, m, nil)
			},
		})
	}
	if c.s.EgressQoS != nil && !maps.Equal(dropZero(v.EgressQosMap), c.s.EgressQoS) {
		m := qosUpdate(v.EgressQosMap, c.s.EgressQoS)
		changes = append(changes, linkkind.Change{
			Field: "egressQoS", From: orNone(FormatQoS(dropZero(v.EgressQosMap))), To: orNone(FormatQoS(c.s.EgressQoS)),
			Apply: func(h *netlink.Handle, have netlink.Link) error {
				return modify(h, have, c.s.ID, nil, m)
			},
		})
	}
	return "", changes
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// qosUpdate returns the mappings that turn have into want: want's, and a
// mapping to 0 (which removes it) for each of have's that want lacks.
func qosUpdate(have, want map[uint32]uint32) map[uint32]uint32 {
	m := maps.Clone(want)
	if m == nil {
		m = map[uint32]uint32{}
	}
	for k, v := range have {
		if _, ok := want[k]; !ok && v != 0 {
			m[k] = 0
		}
	}
	return m
}

// parentName names the parent of v, "index N" when it is not in names.
func parentName(v *netlink.Vlan, names map[int]string) string {
	a := v.Attrs()
	if a.NetNsID >= 0 {
		return fmt.Sprintf("index %d in netnsid %d", a.ParentIndex, a.NetNsID)
	}
	if n, ok := names[a.ParentIndex]; ok {
		return n
	}
	return fmt.Sprintf("index %d", a.ParentIndex)
}

func protocolOf(p string) netlink.VlanProtocol {
	if p == Protocol8021AD {
		return netlink.VLAN_PROTOCOL_8021AD
	}
	return netlink.VLAN_PROTOCOL_8021Q
}

func protocolName(p netlink.VlanProtocol) string {
	switch p {
	case netlink.VLAN_PROTOCOL_8021AD:
		return Protocol8021AD
	case netlink.VLAN_PROTOCOL_8021Q, netlink.VLAN_PROTOCOL_UNKNOWN:
		return Protocol8021Q
	}
	return fmt.Sprintf("0x%04x", uint16(p))
}
