//go:build linux

package nl

import (
	"errors"
	"fmt"

	mdnl "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// Handle returns a vishvananda netlink handle whose sockets live in ns (the
// caller's namespace for nil). The caller closes it with Delete.
func Handle(ns *netprim.Namespace) (*netlink.Handle, error) {
	var (
		h   *netlink.Handle
		err error
	)
	if ns == nil {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		h, err = netlink.NewHandleAt(netns.NsHandle(ns.FD()), unix.NETLINK_ROUTE)
	}
	if err != nil {
		return nil, netprim.KernelError("open", "netlink socket in netns "+ns.String(), err)
	}
	return h, nil
}

// Dial opens a raw NETLINK_ROUTE connection in ns for batched requests.
func Dial(ns *netprim.Namespace) (*mdnl.Conn, error) {
	cfg := &mdnl.Config{Strict: true}
	if ns != nil {
		cfg.NetNS = ns.FD()
	}
	c, err := mdnl.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return nil, netprim.KernelError("open", "netlink socket in netns "+ns.String(), err)
	}
	return c, nil
}

// errf formats an internal error.
func errf(format string, a ...any) error { return fmt.Errorf("netlink: "+format, a...) }

// LinkList lists the links of h's namespace with one RTM_GETLINK dump,
// repeated (up to dumpRetries times) when the kernel reports the dump was
// interrupted by concurrent changes: vishvananda/netlink then returns
// ErrDumpInterrupted with no data.
func LinkList(h *netlink.Handle) ([]netlink.Link, error) {
	for range dumpRetries {
		links, err := h.LinkList()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return nil, netprim.KernelError("list", "links", err)
		}
		return links, nil
	}
	return nil, netprim.KernelError("list", "links", fmt.Errorf("%w %d times in a row", ErrDumpInterrupted, dumpRetries))
}
