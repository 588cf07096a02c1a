package nstest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// settleTimeout bounds Settle: duplicate address detection takes one to
// two seconds, far longer on a loaded machine. It guards against a hang;
// it is not a measured deadline.
const settleTimeout = 30 * time.Second

// Settle waits until the kernel has done what it does on its own, some time
// after a test's change, for the links and addresses now in n:
//
//   - a link that is up with its carrier on has been declared running
//     (the kernel's link watch ran, which starts IPv6 on it);
//   - IPv6 has started on such a link: it has its multicast route
//     (ff00::/8, table local) and its link-local address, unless IPv6 or
//     address generation (addr_gen_mode none) is off on it, or it is a
//     bond member or a VRF device;
//   - no IPv6 address on such a link is tentative: duplicate address
//     detection has finished;
//   - every IPv6 address on such a link has its local route (table local),
//     which the kernel adds only when duplicate address detection ends, and
//     with "nodad" only once the link is running.
//
// Until then the kernel adds addresses and routes, and reports events,
// at a moment of its choosing, late on a loaded machine. Call Settle
// before a test takes a dump or subscribes to events it compares exactly;
// a test that must not wait for duplicate address detection adds its
// IPv6 addresses with "nodad" and turns addr_gen_mode to none. Settle
// fails the test when the kernel has not settled after 30 seconds.
func Settle(t testing.TB, n *NS) {
	t.Helper()
	Eventually(t, settleTimeout, func() error { return unsettled(n) })
}

// unsettled returns what the kernel has still to do in n, or nil.
func unsettled(n *NS) error {
	h, err := handle(n.Namespace)
	if err != nil {
		return err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: unix.RT_TABLE_LOCAL}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	type key struct {
		index int
		ip    netip.Addr
	}
	local := map[key]bool{}
	multicast := map[int]bool{} // links with their ff00::/8 route
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(r.Dst.IP)
		switch {
		case !ok:
		case r.Type == unix.RTN_LOCAL:
			local[key{r.LinkIndex, ip.Unmap()}] = true
		case r.Type == unix.RTN_MULTICAST && ip == netip.MustParseAddr("ff00::"):
			multicast[r.LinkIndex] = true
		}
	}
	running := map[int]string{}
	linkLocal := map[int]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
			linkLocal[a.LinkIndex] = true
		}
	}
	for _, l := range links {
		a := l.Attrs()
		f := a.RawFlags
		if f&unix.IFF_LOOPBACK != 0 || f&unix.IFF_UP == 0 {
			continue
		}
		if f&unix.IFF_LOWER_UP != 0 && f&unix.IFF_RUNNING == 0 {
			return fmt.Errorf("link %s: carrier on, not yet running", a.Name)
		}
		if f&unix.IFF_RUNNING == 0 {
			continue
		}
		running[a.Index] = a.Name
		// IPv6 starts on a running link of a kind it configures itself,
		// but bond members and VRF devices: the multicast route first,
		// then the link-local address.
		if f&unix.IFF_SLAVE != 0 || l.Type() == "vrf" || (a.EncapType != "ether" && a.EncapType != "none") {
			continue
		}
		if multicast[a.Index] && linkLocal[a.Index] {
			continue
		}
		on, gen, err := ipv6Conf(n, a.Name)
		if err != nil {
			return err
		}
		if on && !multicast[a.Index] {
			return fmt.Errorf("link %s: IPv6 not yet started (no multicast route)", a.Name)
		}
		if on && gen && !linkLocal[a.Index] {
			return fmt.Errorf("link %s: no IPv6 link-local address yet", a.Name)
		}
	}
	for _, a := range addrs {
		name, ok := running[a.LinkIndex]
		if !ok || a.Flags&unix.IFA_F_DADFAILED != 0 {
			continue
		}
		if a.Flags&unix.IFA_F_TENTATIVE != 0 {
			return fmt.Errorf("%s on %s: duplicate address detection not finished", a.IPNet, name)
		}
		ip, _ := netip.AddrFromSlice(a.IP)
		if !local[key{a.LinkIndex, ip.Unmap()}] {
			return fmt.Errorf("%s on %s: no local route yet", a.IPNet, name)
		}
	}
	return nil
}

// ipv6Conf reports whether IPv6 is on for link name in n (the link has an
// IPv6 configuration, which links with an MTU below 1280 lack, and
// disable_ipv6 is 0) and whether the kernel generates a link-local address
// for it (addr_gen_mode is not none).
func ipv6Conf(n *NS, name string) (on, linkLocal bool, err error) {
	var disabled, mode string
	err = n.Do(func() error {
		// /proc/sys/net shows the network namespace of the thread
		// that opens it.
		dir := filepath.Join("/proc/sys/net/ipv6/conf", name)
		b, err := os.ReadFile(filepath.Join(dir, "disable_ipv6"))
		if err != nil {
			return err
		}
		disabled = strings.TrimSpace(string(b))
		b, err = os.ReadFile(filepath.Join(dir, "addr_gen_mode"))
		mode = strings.TrimSpace(string(b))
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("IPv6 settings of %s: %w", name, err)
	}
	on = disabled == "0"
	return on, on && mode != "1", nil
}
