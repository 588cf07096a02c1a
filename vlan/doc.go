// Package vlan manages 802.1Q and 802.1ad VLAN links: a VLAN id on a
// parent link (a physical link, a bond or a bridge), with its MTU,
// administrative state and QoS priority maps.
//
// A Spec names the parent and the id; the link's name defaults to
// "PARENT.ID" (the name must fit the kernel's 15 bytes). Instead of by
// name the parent may be given by a device selector (package selector),
// which Plan and Apply resolve against the links of the namespace: it must
// match exactly one, and the default name is then the selected parent's.
//
//	vlans:
//	  - parentSelector: {driver: virtio_net, hardwareAddr: "52:54:00:*"}
//	    id: 100
//
// Plan and Apply are built on package link: VLAN links Apply creates
// carry link's ownership marker, and with netprim.WithPrune Apply deletes
// owned VLAN links that are not wanted, never links of other kinds and
// never links it does not own.
//
// Prune is owner-wide: Apply with netprim.WithPrune deletes every owned
// VLAN link that is not in want, whoever created it. So when several producers
// share an owner, only one caller may prune: in a composed daemon, the
// reconcile package's Reconciler, which prunes over the merged desired
// state of all its sources. The others apply without netprim.WithPrune.
//
// The kernel cannot change a VLAN's id, parent or protocol in place: a
// change of one of them recreates the link, and Plan says so. When the
// name stays the same (an explicit Name) the old link is deleted before
// the new one is added, a disruptive change; with the default name the
// new link has a new name, so it is added first and the old one, when
// owned and netprim.WithPrune is given, deleted after it. The QoS maps,
// MTU and up state change in place.
//
//	fmt.Println(plan):
//	+ link eth0.100 (vlan 802.1Q id 100 on eth0, up)
//	~ link eth0.200 egressQoS 1:3 -> 1:5
package vlan
