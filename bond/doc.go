// Package bond manages bonding links (IFLA_INFO_KIND "bond"): their mode,
// their members and every option the bonding driver takes over rtnetlink,
// on top of package link.
//
// # Spec, Plan, Apply, List
//
// A Spec is one wanted bond: a name, a mode, the names of its members, the
// generic link attributes (MTU, up, hardware address) and the bonding
// options. An option left at its zero value (nil for pointers, "" for
// names) is not managed: a new bond gets the kernel's default and an
// existing one keeps what it has.
//
// Apply creates missing bonds (marked as owned, see link.Marker), changes
// options in place, enslaves members and releases links that are enslaved
// to a wanted bond but are no longer listed as its members. Released links
// are never deleted; the kernel leaves them down. With netprim.WithPrune it deletes owned bonds that are
// not wanted (the kernel releases their members) and never touches links of
// other kinds. A second Apply with the same specs sends no write request.
//
// Prune is owner-wide: Apply with netprim.WithPrune deletes every owned
// bond that is not in want, whoever created it. So when several producers
// share an owner, only one caller may prune: in a composed daemon, the
// reconcile package's Reconciler, which prunes over the merged desired
// state of all its sources. The others apply without netprim.WithPrune.
//
// Order: a new bond is created down; its members are taken down before
// they are enslaved (the bonding driver opens them itself); then the
// options its creation request cannot carry are written and the bond is
// brought up, each a change of its own after the members.
//
// Plan lists the same changes, in the same order, as the Plan that Apply
// returns for the same kernel state, one change per write request (two for
// a creation: the link and its ownership marker). For a new bond Plan
// assumes the kernel's defaults for the options the creation request
// cannot carry.
//
// # Members by selector
//
// Spec.MemberSelectors name members by what their hardware reports
// (driver, address, bus path; see package selector) instead of by name,
// as Talos Linux's deviceSelectors do for bond links:
//
//	name: bond0
//	mode: active-backup
//	memberSelectors:
//	  - driver: virtio_net
//	    hardwareAddr: "52:54:00:*"
//	  - busPath: "0000:00:1f.*"
//
// Plan and Apply resolve them against the links of the namespace as they
// read them, before anything is written: a link is a member when any
// selector matches it; every selector must match at least one link. The
// members are Members followed by the selected links in index order, each
// once. Only links that can be bond ports are selected: hardware NICs
// (links with no link kind), dummy, veth, tun/tap and netdevsim links.
// Loopback, the bond itself and links of every other kind are never
// selected, the stacked and upper kinds among them (vlan, macvlan,
// macvtap, ipvlan, ipvtap, bond, bridge, vrf, team): a VLAN carries the
// address of the link it sits on, so without this rule a selector by
// hardwareAddr would pick a VLAN on a selected NIC, or on the bond, and
// Apply would take it down to enslave it. Such links can still be named
// in Members. While a link is enslaved, the bonding driver gives it the bond's address; the
// selectors see, instead, the address it had when it was enslaved (which
// the driver gives back when it releases it), so a selector by
// hardwareAddr selects the same links before and after Apply, and a
// second Apply changes nothing. A permanentAddr selector matches only
// devices that report a permanent address (real hardware; not dummies or
// veths).
//
// A selector that matches nothing stops Plan and Apply with an error
// wrapping netprim.ErrNotFound; a link selected for two bonds, or a
// Primary that is not among the resolved members, with one wrapping
// netprim.ErrInvalidSpec; both name the field:
//
//	bond: spec[0].memberSelectors[1]: selector driver=e1000e: no link matches (among 3 that may be members): not found
//
// # Status
//
// List reads every bond with one rtnetlink dump: mode, active member,
// 802.3ad aggregator, every option valid in the bond's mode (as a Spec
// that Apply would leave unchanged) and, per member, its link state, MII
// status, active/backup state and LACP aggregator and port states.
//
// # In-place changes
//
// The bonding driver changes most options on a running bond with members:
// Apply does so with one request per option and never releases members or
// takes the bond down for them. Some options are accepted only while the
// bond is down (lacp_rate, ad_select, ad_user_port_key, ad_lacp_active,
// tlb_dynamic_lb): Apply takes the bond down, changes them and
// brings it back up, and Plan marks the steps disruptive. The mode and
// fail_over_mac are accepted only while the bond has no members: Apply
// releases the members, takes the bond down, changes the option, enslaves
// again the members the Spec still lists and brings the bond up, all
// disruptive in the Plan; a member the Spec no longer lists stays
// released. Cancelled at any point, the next Apply finishes the change.
// The bond keeps its interface index, addresses and routes on it are
// kept, and links it does not own are changed the same way (nothing is
// deleted).
//
// # Errors
//
// Invalid specs wrap netprim.ErrInvalidSpec and name the field:
//
//	bond: spec[0].lacpRate: only valid in mode 802.3ad, not active-backup
//
// A member that is enslaved to a master other than a bond in want (another
// bond, a bridge) is refused before anything is written, as are a bond
// listed as its own member and an unknown mode.
package bond
