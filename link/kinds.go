package link

import (
	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim/internal/linkkind"
)

// settingsOf returns the kind-specific settings Apply creates s with, or
// nil when s does not create a link.
func settingsOf(s *Spec) linkkind.Settings {
	switch {
	case s.Settings != nil:
		return s.Settings
	case s.Kind == "veth" && s.Veth != nil:
		return vethSettings{*s.Veth}
	case s.Kind == "vxlan" && s.VXLAN != nil:
		return vxlanSettings{v: *s.VXLAN}
	case s.Kind == "macvlan" && s.MACVLAN != nil:
		return macvlanSettings{m: *s.MACVLAN}
	case s.Kind == "vrf" && s.VRF != nil:
		return vrfSettings{v: *s.VRF}
	case s.Kind != "":
		return genericSettings{s.Kind}
	}
	return nil
}

// vethSettings creates a veth pair. The peer is not marked as owned:
// deleting the owned end deletes the pair.
type vethSettings struct{ v Veth }

func (vethSettings) Kind() string    { return "veth" }
func (vethSettings) Validate() error { return nil } // Spec.validate checks Veth
func (s vethSettings) Describe() string {
	return "veth peer " + peerDesc(s.v.Peer, s.v.PeerNetns)
}

func (s vethSettings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	l := &netlink.Veth{LinkAttrs: attrs, PeerName: s.v.Peer, PeerTxQLen: -1}
	if s.v.PeerNetns == "" {
		return l, nil, nil
	}
	ns, err := openNetns(s.v.PeerNetns)
	if err != nil {
		return nil, nil, err
	}
	l.PeerNamespace = netlink.NsFd(ns.FD())
	return l, func() { ns.Close() }, nil
}

func (s vethSettings) Diff(have linkkind.Observed) (string, []linkkind.Change) {
	want := peerDesc(s.v.Peer, s.v.PeerNetns)
	if have.Peer != want {
		from := have.Peer
		if from == "" {
			from = "unknown"
		}
		return "veth peer " + from + " -> " + want, nil
	}
	return "", nil
}

// peerDesc names a veth peer as Describe and Observed.Peer do.
func peerDesc(name, netns string) string {
	if netns == "" {
		return name
	}
	return name + " netns " + netns
}

// genericSettings creates a link of a kind that takes no parameters
// (dummy, ifb, nlmon, vcan, ...).
type genericSettings struct{ kind string }

func (s genericSettings) Kind() string     { return s.kind }
func (genericSettings) Validate() error    { return nil }
func (s genericSettings) Describe() string { return s.kind }

func (s genericSettings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	return &netlink.GenericLink{LinkAttrs: attrs, LinkType: s.kind}, nil, nil
}

func (genericSettings) Diff(linkkind.Observed) (string, []linkkind.Change) { return "", nil }
