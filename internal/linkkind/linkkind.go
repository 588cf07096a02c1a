// Package linkkind is the extension point through which the packages that
// create links (link itself for veth and the parameterless kinds, bond, vlan,
// bridge) plug the kind-specific part of a link into link's Plan/Apply flow:
// creation with the ownership marker, in-place changes, recreation and
// pruning stay in package link.
//
// A package that creates links of its kind implements Settings and passes
// it in link.Spec.Settings; link.ApplyKinds with the package's kinds then
// creates, changes and prunes those links.
package linkkind

import "github.com/vishvananda/netlink"

// Settings is the kind-specific part of a link that Apply creates.
type Settings interface {
	// Kind is the kernel's name of the link kind (IFLA_INFO_KIND), e.g.
	// "veth", "bond".
	Kind() string
	// Validate checks the settings. An error names the field relative to
	// the link spec ("veth.peer: ..."); link prefixes "link: spec[i]." and
	// wraps netprim.ErrInvalidSpec.
	Validate() error
	// Describe renders the settings for a Plan, e.g. "veth peer veth2".
	Describe() string
	// Link returns the link to add with attrs as its generic attributes.
	// release, when not nil, is called once the add request has been sent
	// (to close a namespace opened for it, say).
	Link(attrs netlink.LinkAttrs) (l netlink.Link, release func(), err error)
	// Diff compares the settings with an existing link of the same kind.
	// A non-empty recreate says why the link must be deleted and added
	// again; otherwise changes are the in-place changes to make, in order.
	Diff(have Observed) (recreate string, changes []Change)
}

// Observed is an existing link as Diff sees it.
type Observed struct {
	// Link is the link as the kernel reported it in a dump.
	Link netlink.Link
	// Peer describes a veth's peer the way Settings.Describe names it
	// ("veth2" or "veth2 netns NAME"), or says where the peer is when it
	// is not where the settings expect it. Empty for other kinds.
	Peer string
	// Names maps the interface indexes of the namespace to names.
	Names map[int]string
}

// Change is one in-place change of a kind-specific attribute.
type Change struct {
	// Field, From and To render the change in a Plan: "miimon", "0", "100".
	Field, From, To string
	// Disruptive marks a change that interrupts traffic; Reason says why.
	Disruptive bool
	Reason     string
	// Apply makes the change with exactly one write request on h, on the
	// link have (whose Index is set).
	Apply func(h *netlink.Handle, have netlink.Link) error
}
