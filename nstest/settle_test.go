package nstest_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

// TestSettle: right after a veth pair comes up with IPv6 addresses the
// kernel still has work of its own to do (link watch, link-local
// addresses, duplicate address detection, local routes). After Settle, ip
// shows it done, and a subscription opened then sees no address, route or
// link event before a marker the test adds.
func TestSettle(t *testing.T) {
	n := nstest.New(t)
	nstest.Veth(t, n, "s0", n, "s1")
	n.Run(t, "ip", "address", "add", "2001:db8::1/64", "dev", "s0", "nodad")
	n.Run(t, "ip", "address", "add", "2001:db8::2/64", "dev", "s1")
	nstest.Settle(t, n)

	var links []struct {
		Ifname    string `json:"ifname"`
		Flags     []string
		Operstate string `json:"operstate"`
		AddrInfo  []struct {
			Local     string `json:"local"`
			Scope     string `json:"scope"`
			Tentative bool   `json:"tentative"`
		} `json:"addr_info"`
	}
	n.IPJSON(t, &links, "-6", "address", "show")
	var locals []struct {
		Dst string `json:"dst"`
	}
	n.IPJSON(t, &locals, "-6", "route", "show", "table", "local", "type", "local")
	local := map[string]bool{}
	for _, r := range locals {
		local[r.Dst] = true
	}
	for _, l := range links {
		if l.Ifname == "lo" {
			continue
		}
		if l.Operstate != "UP" {
			t.Errorf("%s: operstate %s, want UP", l.Ifname, l.Operstate)
		}
		linkLocal := false
		for _, a := range l.AddrInfo {
			linkLocal = linkLocal || a.Scope == "link"
			if a.Tentative {
				t.Errorf("%s: %s still tentative", l.Ifname, a.Local)
			}
			if !local[a.Local] {
				t.Errorf("%s: no local route for %s", l.Ifname, a.Local)
			}
		}
		if !linkLocal {
			t.Errorf("%s: no link-local address", l.Ifname)
		}
	}
	if events := quiet(t, n); len(events) > 0 {
		t.Errorf("events after Settle: %v", events)
	}
}

// quiet subscribes to link, IPv6 address and IPv6 route events in n, adds
// an IPv4 address to lo as a marker and returns the events that came
// before the marker's.
func quiet(t *testing.T, n *nstest.NS) []string {
	t.Helper()
	fd := -1
	err := n.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV6_ROUTE)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		t.Fatal(err)
	}
	// A guard against a hang, not a measured deadline.
	tv := unix.NsecToTimeval((30 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "address", "add", "192.0.2.255/32", "dev", "lo")
	var events []string
	buf := make([]byte, 1<<16)
	for {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			t.Fatalf("no marker: %v (events %v)", err, events)
		}
		for p := buf[:k]; len(p) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(p))
			if l < unix.SizeofNlMsghdr || l > len(p) {
				break
			}
			typ := binary.NativeEndian.Uint16(p[4:])
			if typ == unix.RTM_NEWADDR && l > unix.SizeofNlMsghdr && p[unix.SizeofNlMsghdr] == unix.AF_INET {
				return events
			}
			events = append(events, fmt.Sprintf("message type %d", typ))
			p = p[(l+3)&^3:]
		}
	}
}
