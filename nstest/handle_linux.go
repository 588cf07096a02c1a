package nstest

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// handle returns a netlink handle whose socket lives in ns. nstest does not
// use internal/nl for this: that package's own tests use nstest.
func handle(ns *netprim.Namespace) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(netns.NsHandle(ns.FD()), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket in netns %s: %w", ns, err)
	}
	return h, nil
}
