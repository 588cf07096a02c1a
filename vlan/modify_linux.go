package vlan

import "github.com/vishvananda/netlink"

// modify changes the QoS maps of an existing VLAN link with one
// RTM_NEWLINK request that carries only the name, the id and the maps.
func modify(h *netlink.Handle, have netlink.Link, id int, ingress, egress map[uint32]uint32) error {
	attrs := netlink.NewLinkAttrs() // TxQLen -1: not sent
	attrs.Index = have.Attrs().Index
	attrs.Name = have.Attrs().Name
	return h.LinkModify(&netlink.Vlan{LinkAttrs: attrs, VlanId: id, IngressQosMap: ingress, EgressQosMap: egress})
}
