// Package bridge manages Linux bridges: their ports, spanning tree (on or
// off, priority, forward delay, hello time, maximum age), ageing time,
// multicast snooping, VLAN filtering with the default PVID, and the VLANs
// of each port (id or range, PVID, untagged).
//
// Plan and Apply are built on package link: bridges Apply creates carry
// link's ownership marker, and with netprim.WithPrune Apply deletes owned
// bridges that are not wanted, never links of other kinds and never
// bridges it does not own. Ports are links with their master set; a link
// enslaved to a wanted bridge but no longer among its Ports is released,
// never deleted. A port is taken only from a bridge of the same Apply (or
// an owned bridge it prunes): a port enslaved to any other master (a
// bridge or bond that is not ours, a vrf) makes Plan and Apply fail
// before any write with an error wrapping ErrPortInUse.
//
// Prune is owner-wide: Apply with netprim.WithPrune deletes every owned
// bridge that is not in want, whoever created it. So when several producers
// share an owner, only one caller may prune: in a composed daemon, the
// reconcile package's Reconciler, which prunes over the merged desired
// state of all its sources. The others apply without netprim.WithPrune.
//
// # Changes in place
//
// Every bridge option and port VLAN is changed in place, one rtnetlink
// request per change: Apply never takes a bridge down, never releases and
// re-adds its ports, and never recreates a bridge to change an option.
// The one change the kernel refuses while VLAN filtering is on is the
// default PVID: Apply turns filtering off, changes it and turns filtering
// back on, and Plan marks those changes disruptive (for that moment the
// bridge forwards without regard to VLANs).
//
// The options vishvananda/netlink does not know (STP state, priority and
// timers, bridge and root ids, port STP states, port VLANs) are read and
// written with raw rtnetlink messages: IFLA_BR_* and IFLA_BRPORT_*
// attributes, and AF_BRIDGE RTM_SETLINK/RTM_DELLINK requests with
// IFLA_BRIDGE_VLAN_INFO.
//
//	fmt.Println(plan):
//	+ link br0 (bridge, up)
//	~ link eth1 master none -> br0
//	~ bridge br0 stp false -> true
//	~ bridge br0 vlanFiltering false -> true
//	+ bridge vlan vid 10 dev eth1 master br0 pvid untagged
//	- bridge vlan vid 1 dev eth1 master br0
//
// # Kernel support
//
// VLAN filtering needs a kernel built with CONFIG_BRIDGE_VLAN_FILTERING;
// where it is missing, a Spec that asks for VLAN filtering, a default
// PVID other than 1 or port VLANs fails with netprim.ErrUnsupported.
// Spanning tree runs in the kernel (stp_state 1), also in a namespace
// other than the initial one.
package bridge
