package bridge

import (
	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim/internal/linkkind"
)

// settings is the linkkind.Settings of a bridge. Package link creates the
// bridge with its kind alone; its options are set after creation, in
// place, by this package (the kernel changes every bridge option in
// place, so a bridge is never recreated).
type settings struct{}

var _ linkkind.Settings = settings{}

func (settings) Kind() string     { return "bridge" }
func (settings) Validate() error  { return nil }
func (settings) Describe() string { return "bridge" }

func (settings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	return &netlink.Bridge{LinkAttrs: attrs}, nil, nil
}

func (settings) Diff(linkkind.Observed) (string, []linkkind.Change) { return "", nil }
