// Package link manages network links: the attributes of existing links
// (MTU, up/down, hardware address, alias, transmit queue length, master)
// and the creation and deletion of logical links (veth pairs, vxlan,
// macvlan, vrf, and kinds without parameters such as dummy or ifb), with
// the ownership and Plan/Apply flow that packages bond, vlan and bridge
// build on.
//
// # Kinds
//
// Spec.Kind names the kind of a link Apply creates; the kinds that take
// parameters have them in a sub-structure of Spec, which also sets the
// kind when Kind is empty:
//
//	kind      sub-structure  changed in place         recreated on change
//	veth      Veth           -                        peer, peer namespace
//	vxlan     VXLAN          ttl, learning,           vni, port, dev, group,
//	                         remote, local (same      an address added,
//	                         address family)          removed or of another family
//	macvlan   MACVLAN        mode (not to or from     parent
//	                         passthru)
//	vrf       VRF            -                        table
//	dummy, ifb, nlmon, ...   (no parameters)
//
// A macvlan's parent and a vxlan's dev must exist or be created by the same
// Apply (they are created first). The ports of a vrf are the links whose
// Master names it. In YAML the sub-structures are the keys veth, vxlan,
// macvlan and vrf:
//
//	links:
//	- {name: vx0, vxlan: {vni: 42, remote: 192.0.2.1, port: 4789, dev: eth0}}
//	- {name: mv0, macvlan: {parent: eth0, mode: bridge}}
//	- {name: vrf0, vrf: {table: 10}}
//	- {name: eth1, master: vrf0}
//
// # Spec, Status, List
//
// A Spec is one wanted link. Its attribute fields are managed only when set
// (non-zero, non-nil): Apply leaves the rest as the kernel has them. A Spec
// without Kind names a link that must already exist; Apply never creates or
// deletes it. A Spec with Kind is created when missing.
//
// A Status is a link as the kernel reports it, including the facts only
// ethtool knows (driver, bus, PCI id, speed, duplex): List reads them with
// ioctls on a socket created inside the link's namespace, never from
// /sys/class/net, which shows the devices of whatever namespace mounted it.
// A Status carries the kind parameters of veth (Peer), vxlan, macvlan and
// vrf links in the sub-structures a Spec uses, so Status.Spec (and Specs,
// for a whole namespace) turns what List found back into Specs that Apply
// reproduces without a single write.
//
// # Ownership
//
// Every link Apply creates carries a marker recorded in the kernel: the
// alternative name Marker(owner, name), "<owner>.<name>" (netprim.WithOwner
// sets the owner; the default is "netprim"). With netprim.WithPrune, Apply
// deletes owned links that are not in want and never a link without the
// marker: links made by someone else that appear in want have their
// attributes managed but are never deleted or replaced.
//
// Prune is owner-wide: Apply with netprim.WithPrune deletes every owned
// link (of the kinds the caller manages) that is not in want, whoever
// created it. So when several producers share an owner, only one caller
// may prune: in a composed daemon, the reconcile package's Reconciler,
// which prunes over the merged desired state of all its sources. The
// others apply without netprim.WithPrune.
//
// Creating a link and marking it are two requests (the kernel ignores
// alternative names in the request that creates a link). Apply never lets a
// cancelled context separate them, and deletes the link again when the
// marker is refused; only a process that dies between the two requests
// leaves an unmarked link, which later Applies manage as a foreign link and
// never delete. Kernels before 5.5 lack alternative names: there the marker
// is written as the alias, and an alias equal to the marker counts as
// ownership.
//
// Only the first end of a veth pair carries the marker; deleting it deletes
// the pair. The peer may be created in another namespace (Veth.PeerNetns);
// its attributes can be managed by a Spec without a kind, in the namespace
// it lives in.
//
// # Plan and Apply
//
// Plan returns the changes Apply would make; its String method renders
// them one per line:
//
//	fmt.Println(plan):
//	+ link veth1 (veth peer veth2, mtu 1400, up)
//	~ link veth0 mtu 1500 -> 1400
//	- link veth9
//
// Apply makes them in this order: creations (and recreations of owned
// links whose kind or veth peer changed, which are disruptive), then the
// attributes of each link (down first when it is to go down, then MTU,
// hardware address, queue length, alias, master, and up last, so that a
// port is enslaved before it comes up; bond ports are enslaved while
// down), then deletions. A hardware address or MTU change that the driver
// refuses on a running link (EBUSY) is retried with the link down and
// reported as disruptive. A second Apply with the same specs sends no write
// request; netprim.WithWriteCounter counts them.
//
// Creations are sent in batches of up to 64 add requests, followed by the
// marker requests of the links added, each request with its own answer:
// a link the kernel refuses fails alone, and a cancelled context is
// noticed between two batches. Links on a lower link (macvlan, vxlan with
// dev) and links whose add request package link does not build itself
// (vxlan, most kinds of other packages) are created one by one, in order.
//
// # Building on link
//
// A package that creates links of its own kind (bond, vlan, bridge) puts
// its kind-specific settings in Spec.Settings and calls ApplyKinds with its
// kinds: creation, marking, recreation, attribute ordering and pruning are
// the same as here, and pruning is limited to the package's kinds. Plan
// and Apply never prune bond, bridge, vlan or wireguard links.
//
// # Errors
//
// Invalid specs wrap netprim.ErrInvalidSpec and name the field
// ("link: spec[2].mtu: 70000 out of range 68..65535"). Kernel errors are
// netprim.OpError values naming the link: EPERM wraps
// netprim.ErrPermission (CAP_NET_ADMIN is needed), a kind the kernel lacks
// wraps netprim.ErrUnsupported and names the module ("kernel lacks link
// kind dummy: modprobe dummy"), a missing link wraps netprim.ErrNotFound.
//
// Errors of independent links are joined, one per link: Plan and Apply go
// on with the other links, so Plan's changes next to its error are the
// changes Apply would make.
package link
