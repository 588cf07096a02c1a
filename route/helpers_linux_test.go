package route

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

// newNS returns a namespace with a veth pair va/vb, both up, with
// 192.0.2.1/24 and 2001:db8::1/64 on va and 198.51.100.1/24 and
// 2001:db8:1::1/64 on vb. The links get no IPv6 link-local address
// (addr_gen_mode none): its local route would appear only when duplicate
// address detection ends, at a moment of the kernel's choosing, in the
// middle of tests that compare the routes before and after an Apply.
func newNS(t testing.TB) *nstest.NS {
	t.Helper()
	n := nstest.New(t)
	err := n.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/default/addr_gen_mode", []byte("1\n"), 0o644)
	})
	if err != nil {
		t.Fatalf("no IPv6 link-local addresses: %v", err)
	}
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	for _, c := range [][]string{
		{"link", "set", "va", "up"},
		{"link", "set", "vb", "up"},
		{"addr", "add", "192.0.2.1/24", "dev", "va"},
		{"addr", "add", "2001:db8::1/64", "dev", "va", "nodad"},
		{"addr", "add", "198.51.100.1/24", "dev", "vb"},
		{"addr", "add", "2001:db8:1::1/64", "dev", "vb", "nodad"},
	} {
		n.Run(t, "ip", c...)
	}
	// Even with nodad the local route of an IPv6 address comes only once
	// the link is running, after the kernel's link watch ran.
	nstest.Settle(t, n)
	return n
}

// ipRoute is one route as "ip -j -d route" prints it.
type ipRoute struct {
	Type     string              `json:"type"`
	Dst      string              `json:"dst"`
	Tos      string              `json:"tos"`
	Gateway  string              `json:"gateway"`
	Via      *ipVia              `json:"via"`
	Dev      string              `json:"dev"`
	Table    string              `json:"table"`
	Protocol string              `json:"protocol"`
	Scope    string              `json:"scope"`
	Metric   uint32              `json:"metric"`
	Prefsrc  string              `json:"prefsrc"`
	Flags    []string            `json:"flags"`
	Metrics  []map[string]uint32 `json:"metrics"`
	Nexthops []struct {
		Gateway string   `json:"gateway"`
		Via     *ipVia   `json:"via"`
		Dev     string   `json:"dev"`
		Weight  int      `json:"weight"`
		Flags   []string `json:"flags"`
	} `json:"nexthops"`
}

type ipVia struct {
	Family string `json:"family"`
	Host   string `json:"host"`
}

// ipRoutes returns the routes "ip -j -d route show table all" reports with
// the given protocol (a name or number as ip prints it), converted to
// normalized Specs, sorted.
func ipRoutes(t testing.TB, n *nstest.NS, proto string) []Spec {
	t.Helper()
	var out []Spec
	for _, fam := range []string{"-4", "-6"} {
		var rs []ipRoute
		n.IPJSON(t, &rs, fam, "-d", "route", "show", "table", "all")
		for _, r := range rs {
			if r.Protocol != proto {
				continue
			}
			out = append(out, r.spec(t, fam == "-6"))
		}
	}
	sortSpecs(out)
	return out
}

func (r ipRoute) spec(t testing.TB, v6 bool) Spec {
	t.Helper()
	var s Spec
	dst := r.Dst
	switch {
	case dst == "default" && v6:
		dst = "::/0"
	case dst == "default":
		dst = "0.0.0.0/0"
	case !strings.Contains(dst, "/") && v6:
		dst += "/128"
	case !strings.Contains(dst, "/"):
		dst += "/32"
	}
	s.Destination = netip.MustParsePrefix(dst)
	s.Type = Type(r.Type)
	if r.Tos != "" {
		v, err := strconv.ParseUint(r.Tos, 0, 8)
		if err != nil {
			t.Fatalf("tos %q: %v", r.Tos, err)
		}
		s.TOS = uint8(v)
	}
	s.Gateway = parseIPAddr(r.Gateway, r.Via)
	if !s.Type.reject() {
		s.Link = r.Dev
	}
	switch r.Table {
	case "main":
		s.Table = TableMain
	case "local":
		s.Table = TableLocal
	case "default":
		s.Table = TableDefault
	default:
		v, err := strconv.ParseUint(r.Table, 10, 32)
		if err != nil {
			t.Fatalf("table %q: %v", r.Table, err)
		}
		s.Table = uint32(v)
	}
	s.Scope = Scope(r.Scope)
	s.Metric = r.Metric
	if r.Prefsrc != "" {
		s.Source = netip.MustParseAddr(r.Prefsrc)
	}
	s.OnLink = slices.Contains(r.Flags, "onlink")
	for _, m := range r.Metrics {
		s.MTU = m["mtu"]
	}
	for _, h := range r.Nexthops {
		s.NextHops = append(s.NextHops, NextHop{
			Gateway: parseIPAddr(h.Gateway, h.Via), Link: h.Dev, Weight: h.Weight,
			OnLink: slices.Contains(h.Flags, "onlink"),
		})
	}
	return s
}

func parseIPAddr(gw string, via *ipVia) netip.Addr {
	if via != nil {
		gw = via.Host
	}
	if gw == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(gw)
}

func sortSpecs(s []Spec) {
	slices.SortFunc(s, func(a, b Spec) int {
		if c := a.Destination.Addr().Compare(b.Destination.Addr()); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Destination.Bits(), b.Destination.Bits()),
			cmp.Compare(a.Table, b.Table), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.TOS, b.TOS))
	})
}

// owned returns the Spec part of the routes with protocol p, sorted.
func owned(st []Status, p Protocol) []Spec {
	var out []Spec
	for _, s := range st {
		if s.Protocol == p {
			out = append(out, s.Spec)
		}
	}
	sortSpecs(out)
	return out
}

// monitor is a netlink socket in a test namespace subscribed to route and
// rule notifications of both families.
type monitor struct {
	fd   int
	n    *nstest.NS
	seen int
}

func newMonitor(t testing.TB, n *nstest.NS) *monitor {
	t.Helper()
	fd := -1
	err := n.Namespace.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	groups := uint32(unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE | unix.RTMGRP_IPV4_RULE)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, unix.RTNLGRP_IPV6_RULE); err != nil {
		t.Fatal(err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
	// A guard against hanging forever if the sentinel never arrives.
	tv := unix.Timeval{Sec: 30}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return &monitor{fd: fd, n: n}
}

// events adds a sentinel route with ip(8) and returns the notifications
// received before it, one line each ("new route ...", "del rule ..."),
// except those of the routes the kernel makes on its own (proto kernel:
// local, prefix and multicast routes of addresses and links), which no
// Apply writes. Everything the kernel did before the sentinel is reported
// first, so the result is complete without waiting for a timeout.
func (m *monitor) events(t testing.TB) []string {
	t.Helper()
	m.seen++
	sentinel := netip.AddrFrom4([4]byte{100, 64, byte(m.seen >> 8), byte(m.seen)})
	m.n.Run(t, "ip", "route", "add", "blackhole", sentinel.String()+"/32", "table", "250")
	var out []string
	buf := make([]byte, 1<<20)
	empty := links{byIndex: map[int32]string{}}
	for {
		n, _, err := unix.Recvfrom(m.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("monitor: %v (events so far: %v)", err, out)
		}
		for p := buf[:n]; len(p) >= 16; {
			l := int(binary.NativeEndian.Uint32(p))
			if l < 16 || l > len(p) {
				break
			}
			typ, data := binary.NativeEndian.Uint16(p[4:]), p[16:l]
			p = p[(l+3)&^3:]
			switch typ {
			case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
				var st Status
				if ok, _ := parseRoute(data, empty.name, &st); !ok {
					continue
				}
				if typ == unix.RTM_NEWROUTE && st.Destination == netip.PrefixFrom(sentinel, 32) {
					return out
				}
				if st.Protocol == ProtocolKernel {
					continue
				}
				verb := "new"
				if typ == unix.RTM_DELROUTE {
					verb = "del"
				}
				out = append(out, verb+" route "+st.String())
			case unix.RTM_NEWRULE, unix.RTM_DELRULE:
				var st RuleStatus
				parseRule(data, &st)
				verb := "new"
				if typ == unix.RTM_DELRULE {
					verb = "del"
				}
				out = append(out, verb+" rule "+st.String())
			}
		}
	}
}
