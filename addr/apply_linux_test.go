//go:build linux

package addr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/applytest"
	"github.com/netprim/netprim/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// vethNS returns a fresh namespace with a veth pair veth0/veth1, both up.
// IPv6 is a module on the kernel tier: it is loaded first.
func vethNS(t *testing.T) *nstest.NS {
	t.Helper()
	nstest.RequireModules(t, "ipv6")
	n := nstest.New(t)
	nstest.Veth(t, n, "veth0", n, "veth1")
	return n
}

// ipAddr is one addr_info entry of "ip -j -d address show", with the link
// name added.
type ipAddr map[string]any

func (a ipAddr) str(k string) string {
	s, _ := a[k].(string)
	return s
}

func (a ipAddr) num(k string) uint64 {
	f, _ := a[k].(float64)
	return uint64(f)
}

func (a ipAddr) flag(k string) bool {
	b, _ := a[k].(bool)
	return b
}

// ipAddrs returns every address ip(8) shows in the namespace, keyed by
// "link local".
func ipAddrs(t *testing.T, n *nstest.NS) map[string]ipAddr {
	t.Helper()
	var links []struct {
		Ifname   string   `json:"ifname"`
		AddrInfo []ipAddr `json:"addr_info"`
	}
	n.IPJSON(t, &links, "-d", "address", "show")
	out := make(map[string]ipAddr)
	for _, l := range links {
		for _, a := range l.AddrInfo {
			out[l.Ifname+" "+a.str("local")] = a
		}
	}
	return out
}

// kernelProtos reads IFA_PROTO of every address with the standard
// library's own netlink parser (syscall.NetlinkRIB), keyed by "ifindex
// local".
func kernelProtos(t *testing.T, n *nstest.NS) map[string]uint8 {
	t.Helper()
	var rib []byte
	err := n.Namespace.Do(func() error {
		var err error
		rib, err = syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]uint8)
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			t.Fatal(err)
		}
		ifm := (*syscall.IfAddrmsg)(nil)
		if len(m.Data) >= syscall.SizeofIfAddrmsg {
			ifm = &syscall.IfAddrmsg{Family: m.Data[0], Index: uint32(m.Data[4]) | uint32(m.Data[5])<<8 | uint32(m.Data[6])<<16 | uint32(m.Data[7])<<24}
		}
		var local netip.Addr
		var proto uint8
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_LOCAL:
				local, _ = netip.AddrFromSlice(a.Value)
			case syscall.IFA_ADDRESS:
				if !local.IsValid() {
					local, _ = netip.AddrFromSlice(a.Value)
				}
			case ifaProto:
				proto = a.Value[0]
			}
		}
		out[fmt.Sprintf("%d %s", ifm.Index, local)] = proto
	}
	return out
}

func mustApply(t *testing.T, n *nstest.NS, want []Spec, opts ...netprim.Option) (netprim.Plan, int64) {
	t.Helper()
	return applytest.Apply(t, n.Namespace, Apply, want, opts...)
}

func find(t *testing.T, sts []Status, link string, a netip.Addr) Status {
	t.Helper()
	for _, st := range sts {
		if st.Link == link && st.Address.Addr() == a {
			return st
		}
	}
	t.Fatalf("List has no %s on %s", a, link)
	return Status{}
}

// roundTripSpecs uses every Spec field, IPv4 and IPv6.
func roundTripSpecs() []Spec {
	a := netip.MustParseAddr
	return []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24")},
		{Link: "veth0", Address: p("192.0.2.11/24"), Label: "veth0:sec"},
		{Link: "veth0", Address: p("198.51.100.1/24"), Flags: []string{"noprefixroute"}},
		{Link: "veth0", Address: p("203.0.113.5/24"), Metric: 100, AutoBroadcast: true},
		{Link: "veth0", Address: p("10.1.0.1/32"), Peer: a("10.1.0.2"), Scope: "link"},
		{Link: "veth0", Address: p("10.2.0.1/16"), Broadcast: a("10.2.255.255"), ValidLifetime: time.Hour, PreferredLifetime: 30 * time.Minute},
		{Link: "lo", Address: p("127.0.0.5/8")},
		{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}},
		{Link: "veth0", Address: p("2001:db8:1::10/64"), Flags: []string{"nodad", "noprefixroute", "homeaddress"}, Metric: 300},
		{Link: "veth0", Address: p("2001:db8:2::10/64"), Flags: []string{"nodad", "mngtmpaddr"}, ValidLifetime: 2 * time.Hour, PreferredLifetime: time.Hour},
		{Link: "veth0", Address: p("2001:db8:3::1/128"), Peer: a("2001:db8:3::2"), Flags: []string{"nodad"}},
		{Link: "veth1", Address: p("fe80::10/64"), Flags: []string{"nodad"}},
	}
}

func TestRoundTrip(t *testing.T) {
	n := vethNS(t)
	specs := roundTripSpecs()
	plan, writes := mustApply(t, n, specs)
	if len(plan.Changes) != len(specs) || writes != int64(len(specs)) {
		t.Fatalf("want %d adds, got %d writes, plan:\n%s", len(specs), writes, plan)
	}
	sts, err := List(context.Background(), n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	ip := ipAddrs(t, n)
	protos := kernelProtos(t, n)
	for _, s := range specs {
		t.Run(s.String(), func(t *testing.T) {
			s.Normalize()
			st := find(t, sts, s.Link, s.Address.Addr())
			got := st.Spec()
			got.Normalize()
			// Lifetimes count down: compare within a minute.
			for _, lt := range []struct{ got, want *time.Duration }{{&got.ValidLifetime, &s.ValidLifetime}, {&got.PreferredLifetime, &s.PreferredLifetime}} {
				if *lt.got <= *lt.want && *lt.got > *lt.want-time.Minute {
					*lt.got = *lt.want
				}
			}
			if diff := cmp.Diff(s, got, cmpNetip...); diff != "" {
				t.Errorf("List differs from the Spec (-want +got):\n%s", diff)
			}
			if st.Protocol != owner {
				t.Errorf("List: protocol %d, want %d", st.Protocol, owner)
			}
			if pr := protos[fmt.Sprintf("%d %s", st.LinkIndex, s.Address.Addr())]; pr != owner {
				t.Errorf("kernel IFA_PROTO %d, want %d", pr, owner)
			}

			// The same address as ip(8) shows it.
			ia, ok := ip[s.Link+" "+s.Address.Addr().String()]
			if !ok {
				t.Fatalf("ip address show lacks %s on %s", s.Address.Addr(), s.Link)
			}
			family := "inet"
			if s.Address.Addr().Is6() {
				family = "inet6"
			}
			wantPeer := ""
			if s.Peer.IsValid() {
				wantPeer = s.Peer.String()
			}
			wantBrd := ""
			if s.Broadcast.IsValid() {
				wantBrd = s.Broadcast.String()
			}
			if diff := cmp.Diff(map[string]any{
				"family": family, "prefixlen": s.Address.Bits(), "scope": s.Scope, "label": s.Label,
				"address": wantPeer, "broadcast": wantBrd, "metric": s.Metric,
			}, map[string]any{
				"family": ia.str("family"), "prefixlen": int(ia.num("prefixlen")), "scope": ia.str("scope"), "label": ia.str("label"),
				"address": ia.str("address"), "broadcast": ia.str("broadcast"), "metric": uint32(ia.num("metric")),
			}); diff != "" {
				t.Errorf("ip -j -d address show (-want +got):\n%s", diff)
			}
			for _, f := range []struct{ spec, ip string }{{"nodad", "nodad"}, {"noprefixroute", "noprefixroute"}, {"homeaddress", "home"}, {"mngtmpaddr", "mngtmpaddr"}} {
				if want := slices.Contains(s.Flags, f.spec); ia.flag(f.ip) != want {
					t.Errorf("ip shows %s = %v, want %v", f.ip, ia.flag(f.ip), want)
				}
			}
			for _, lt := range []struct {
				key  string
				want time.Duration
			}{{"valid_life_time", s.ValidLifetime}, {"preferred_life_time", s.PreferredLifetime}} {
				got := ia.num(lt.key)
				if lt.want == 0 {
					if got != lifeForever {
						t.Errorf("ip %s = %d, want forever", lt.key, got)
					}
				} else if w := uint64(lt.want / time.Second); got > w || got+60 < w {
					t.Errorf("ip %s = %d, want about %d", lt.key, got, w)
				}
			}
		})
	}
	// The prefix route metric reached the routing table.
	var routes []struct {
		Dst    string `json:"dst"`
		Metric uint32 `json:"metric"`
	}
	n.IPJSON(t, &routes, "route", "show", "203.0.113.0/24")
	if len(routes) != 1 || routes[0].Metric != 100 {
		t.Errorf("ip route show 203.0.113.0/24: %+v, want metric 100", routes)
	}
	n.IPJSON(t, &routes, "route", "show", "198.51.100.0/24")
	if len(routes) != 0 {
		t.Errorf("noprefixroute: ip route shows %+v", routes)
	}
}

// monitor subscribes to address events in the namespace.
type monitor struct {
	fd int
	n  *nstest.NS
}

func newMonitor(t *testing.T, n *nstest.NS) *monitor {
	t.Helper()
	fd := -1
	err := n.Namespace.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK,
			Groups: 1<<(unix.RTNLGRP_IPV4_IFADDR-1) | 1<<(unix.RTNLGRP_IPV6_IFADDR-1)})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A safety net against a hang, not a timed assertion.
	tv := unix.Timeval{Sec: 30}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &monitor{fd: fd, n: n}
}

// until adds a marker address with ip(8) and returns the address events
// that arrive before the marker's own, rendered "new|del ADDRESS", but
// those of the link-local addresses the kernel makes itself.
func (m *monitor) until(t *testing.T, marker string) []string {
	t.Helper()
	m.n.Run(t, "ip", "address", "add", marker+"/32", "dev", "veth1")
	var seen []string
	buf := make([]byte, 1<<16)
	for {
		k, _, err := unix.Recvfrom(m.fd, buf, 0)
		if err != nil {
			t.Fatalf("monitor: %v (events so far %q)", err, seen)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:k])
		if err != nil {
			t.Fatal(err)
		}
		for i := range msgs {
			msg := &msgs[i]
			if msg.Header.Type != unix.RTM_NEWADDR && msg.Header.Type != unix.RTM_DELADDR {
				continue
			}
			a, ok := parseAddr(msg.Data)
			if !ok {
				continue
			}
			if a.local.String() == marker {
				return seen
			}
			if a.proto == protoKernelLL {
				continue // the kernel's own link-local address
			}
			verb := "new"
			if msg.Header.Type == unix.RTM_DELADDR {
				verb = "del"
			}
			seen = append(seen, verb+" "+a.prefix().String())
		}
	}
}

func TestIdempotent(t *testing.T) {
	n := vethNS(t)
	specs := roundTripSpecs()
	mustApply(t, n, specs, netprim.WithPrune())
	nstest.Settle(t, n)
	mon := newMonitor(t, n)
	if ev := mon.until(t, "192.0.2.201"); len(ev) != 0 {
		t.Logf("events before the second Apply (not counted): %q", ev)
	}
	plan, err := Plan(context.Background(), n.Namespace, specs, netprim.WithPrune())
	if err != nil || !plan.Empty() || plan.String() != "no changes" {
		t.Fatalf("second Plan: %v\n%s", err, plan)
	}
	plan, writes := mustApply(t, n, specs, netprim.WithPrune())
	if writes != 0 || !plan.Empty() {
		t.Fatalf("second Apply made %d writes:\n%s", writes, plan)
	}
	if ev := mon.until(t, "192.0.2.202"); len(ev) != 0 {
		t.Fatalf("the second Apply caused address events: %q", ev)
	}
}

func TestTentativeDoesNotLoop(t *testing.T) {
	t.Run("tentative", func(t *testing.T) {
		testNoLoop(t, Spec{Link: "veth0", Address: p("2001:db8::20/64")}, "tentative")
	})
	t.Run("optimistic", func(t *testing.T) {
		n := vethNS(t)
		if _, err := n.Exec("sysctl", "-q", "-w", "net.ipv6.conf.veth0.optimistic_dad=1"); err != nil {
			t.Skipf("kernel lacks optimistic duplicate address detection (CONFIG_IPV6_OPTIMISTIC_DAD): %v", err)
		}
		testNoLoopIn(t, n, Spec{Link: "veth0", Address: p("2001:db8::21/64"), Flags: []string{"optimistic"}}, "optimistic")
	})
}

func testNoLoop(t *testing.T, s Spec, flag string) { testNoLoopIn(t, vethNS(t), s, flag) }

// testNoLoopIn applies an address that duplicate address detection keeps
// in a transient state (flag) for a while and proves that neither during
// nor after it a second Apply writes.
func testNoLoopIn(t *testing.T, n *nstest.NS, s Spec, flag string) {
	specs := []Spec{s}
	mustApply(t, n, specs)
	sts, err := List(context.Background(), n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	// Duplicate address detection takes at least a second (one probe,
	// retrans_time 1000 ms): right after Apply the address is still in it.
	if st := find(t, sts, "veth0", s.Address.Addr()); !slices.Contains(st.Flags, flag) {
		t.Fatalf("want a %s address, got flags %q", flag, st.Flags)
	}
	if !ipAddrs(t, n)["veth0 "+s.Address.Addr().String()].flag(flag) {
		t.Fatalf("ip does not show %s as %s", s.Address.Addr(), flag)
	}
	plan, writes := mustApply(t, n, specs)
	if writes != 0 || !plan.Empty() {
		t.Fatalf("Apply while %s made %d writes:\n%s", flag, writes, plan)
	}
	nstest.Settle(t, n)
	if st := find(t, must(List(context.Background(), n.Namespace)), "veth0", s.Address.Addr()); slices.Contains(st.Flags, flag) {
		t.Fatalf("still %s after settling: %q", flag, st.Flags)
	}
	plan, writes = mustApply(t, n, specs)
	if writes != 0 || !plan.Empty() {
		t.Fatalf("Apply after DAD made %d writes:\n%s", writes, plan)
	}
}

func TestOwnership(t *testing.T) {
	n := vethNS(t)
	n.Run(t, "ip", "address", "add", "192.0.2.50/24", "dev", "veth0")
	n.Run(t, "ip", "address", "add", "2001:db8::50/64", "dev", "veth0", "nodad")
	other := netprim.WithOwner(netprim.Owner{ID: 99, Name: "other"})
	mustApply(t, n, []Spec{{Link: "veth0", Address: p("192.0.2.60/24")}, {Link: "veth0", Address: p("2001:db8::60/64"), Flags: []string{"nodad"}}}, other)
	mustApply(t, n, []Spec{{Link: "veth0", Address: p("192.0.2.70/24")}, {Link: "veth0", Address: p("2001:db8::70/64"), Flags: []string{"nodad"}}})
	nstest.Settle(t, n)
	before := ipAddrs(t, n)
	var linkLocal string
	for k, a := range before {
		if strings.HasPrefix(k, "veth0 fe80:") && a.str("scope") == "link" {
			linkLocal = k
		}
	}
	if linkLocal == "" {
		t.Fatalf("no kernel link-local address on veth0: %v", before)
	}

	plan, _ := mustApply(t, n, []Spec{{Link: "veth0", Address: p("192.0.2.80/24")}}, netprim.WithPrune())
	if diff := cmp.Diff([]string{
		"+ address 192.0.2.80/24 dev veth0",
		"- address 192.0.2.70/24 dev veth0",
		"- address 2001:db8::70/64 dev veth0",
	}, lines(plan)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	after := ipAddrs(t, n)
	for _, k := range []string{"veth0 192.0.2.50", "veth0 2001:db8::50", "veth0 192.0.2.60", "veth0 2001:db8::60", linkLocal, "lo 127.0.0.1", "lo ::1", "veth0 192.0.2.80"} {
		if _, ok := after[k]; !ok {
			t.Errorf("%s was deleted", k)
		}
	}
	for _, k := range []string{"veth0 192.0.2.70", "veth0 2001:db8::70"} {
		if _, ok := after[k]; ok {
			t.Errorf("our stale %s survived prune", k)
		}
	}
	// The other owner prunes its own and nothing of ours.
	mustApply(t, n, nil, other, netprim.WithPrune())
	after = ipAddrs(t, n)
	for k, gone := range map[string]bool{"veth0 192.0.2.60": true, "veth0 2001:db8::60": true, "veth0 192.0.2.80": false, "veth0 192.0.2.50": false} {
		if _, ok := after[k]; ok == gone {
			t.Errorf("%s: present = %v after the other owner's prune", k, ok)
		}
	}
}

func TestAdoptUnmarked(t *testing.T) {
	n := vethNS(t)
	n.Run(t, "ip", "address", "add", "192.0.2.50/24", "dev", "veth0")
	n.Run(t, "ip", "address", "add", "2001:db8::50/64", "dev", "veth0", "nodad")
	specs := []Spec{{Link: "veth0", Address: p("192.0.2.50/24")}, {Link: "veth0", Address: p("2001:db8::50/64"), Flags: []string{"nodad"}}}
	// Linux 6.3 and later mark IPv4 addresses on replace; before, only IPv6
	// ones can be adopted.
	want4 := uint8(0)
	wantPlan := []string{"~ address 2001:db8::50/64 dev veth0 protocol 0 -> 78"}
	if kernelAtLeast(6, 3) {
		want4 = owner
		wantPlan = append([]string{"~ address 192.0.2.50/24 dev veth0 protocol 0 -> 78"}, wantPlan...)
	}
	plan, writes := mustApply(t, n, specs)
	if diff := cmp.Diff(wantPlan, lines(plan)); diff != "" || writes != int64(len(wantPlan)) {
		t.Fatalf("%d writes, plan (-want +got):\n%s", writes, diff)
	}
	protos := kernelProtos(t, n)
	idx := find(t, must(List(context.Background(), n.Namespace)), "veth0", netip.MustParseAddr("192.0.2.50")).LinkIndex
	for a, want := range map[string]uint8{"192.0.2.50": want4, "2001:db8::50": owner} {
		if pr := protos[fmt.Sprintf("%d %s", idx, a)]; pr != want {
			t.Errorf("%s: IFA_PROTO %d, want %d", a, pr, want)
		}
	}
	if _, writes := mustApply(t, n, specs); writes != 0 {
		t.Fatalf("adoption is not idempotent: %d writes", writes)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestChangeInPlace(t *testing.T) {
	n := vethNS(t)
	specs := []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24")},
		{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}},
	}
	mustApply(t, n, specs)
	nstest.Settle(t, n)
	mon := newMonitor(t, n)
	mon.until(t, "192.0.2.201")

	specs[0].Metric = 100
	specs[0].ValidLifetime = time.Hour
	specs[1].Flags = []string{"nodad", "noprefixroute"}
	specs[1].Metric = 50
	plan, writes := mustApply(t, n, specs)
	if writes != 2 {
		t.Fatalf("want 2 in-place writes, got %d:\n%s", writes, plan)
	}
	if diff := cmp.Diff([]string{
		"~ address 192.0.2.10/24 dev veth0 metric 0 -> 100",
		"~ address 192.0.2.10/24 dev veth0 validLifetime forever -> 1h0m0s",
		"~ address 192.0.2.10/24 dev veth0 preferredLifetime forever -> 1h0m0s",
		"~ address 2001:db8::10/64 dev veth0 flags nodad -> nodad,noprefixroute",
		"~ address 2001:db8::10/64 dev veth0 metric 0 -> 50",
	}, lines(plan)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	for _, e := range mon.until(t, "192.0.2.202") {
		if strings.HasPrefix(e, "del ") {
			t.Fatalf("an in-place change deleted an address: %s", e)
		}
	}
	ip := ipAddrs(t, n)
	if a := ip["veth0 192.0.2.10"]; a.num("metric") != 100 || a.num("valid_life_time") > 3600 || a.num("valid_life_time") < 3500 {
		t.Fatalf("ip shows %v", a)
	}
	if a := ip["veth0 2001:db8::10"]; !a.flag("noprefixroute") || a.num("metric") != 50 {
		t.Fatalf("ip shows %v", a)
	}
	if _, writes := mustApply(t, n, specs); writes != 0 {
		t.Fatalf("not idempotent: %d writes", writes)
	}
}

func TestRecreate(t *testing.T) {
	n := vethNS(t)
	specs := []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24")},
		{Link: "veth0", Address: p("198.51.100.10/24")},
		{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}},
	}
	mustApply(t, n, specs)
	n.Run(t, "ip", "address", "add", "203.0.113.1/24", "dev", "veth0")
	specs[0].Label = "veth0:x"               // same kernel address: delete, add
	specs[1].Address = p("198.51.100.10/16") // another kernel address: add, then delete
	specs[2].Address = p("2001:db8::10/56")  // IPv6: delete, add
	plan, writes := mustApply(t, n, specs)
	if diff := cmp.Diff([]string{
		"+ address 198.51.100.10/16 dev veth0",
		"± address 192.0.2.10/24 dev veth0 (label veth0 -> veth0:x cannot change in place)",
		"± address 2001:db8::10/56 dev veth0 (prefix length /64 -> /56 cannot change in place)",
		"- address 198.51.100.10/24 dev veth0 (replaced by 198.51.100.10/16 dev veth0)",
	}, lines(plan)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if writes != 6 {
		t.Fatalf("writes = %d, want 6", writes)
	}
	ip := ipAddrs(t, n)
	if a := ip["veth0 192.0.2.10"]; a.str("label") != "veth0:x" {
		t.Errorf("label: %v", a)
	}
	if a := ip["veth0 198.51.100.10"]; a.num("prefixlen") != 16 {
		t.Errorf("prefix: %v", a)
	}
	if a := ip["veth0 2001:db8::10"]; a.num("prefixlen") != 56 {
		t.Errorf("prefix: %v", a)
	}
	if _, writes := mustApply(t, n, specs); writes != 0 {
		t.Fatalf("not idempotent: %d writes", writes)
	}

	// An address we do not own is not recreated.
	_, err := Apply(context.Background(), n.Namespace, []Spec{{Link: "veth0", Address: p("203.0.113.1/24"), Label: "veth0:y"}})
	if err == nil || !strings.Contains(err.Error(), "not ours (protocol 0)") {
		t.Fatalf("got %v", err)
	}
	if a := ipAddrs(t, n)["veth0 203.0.113.1"]; a.str("label") != "veth0" {
		t.Fatalf("the unowned address changed: %v", a)
	}
}

func TestSecondaries(t *testing.T) {
	for _, promote := range []bool{false, true} {
		t.Run(fmt.Sprintf("promote=%v", promote), func(t *testing.T) {
			n := vethNS(t)
			v := "0"
			if promote {
				v = "1"
			}
			n.Run(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.promote_secondaries=0", "net.ipv4.conf.veth0.promote_secondaries="+v)
			mustApply(t, n, []Spec{{Link: "veth0", Address: p("192.0.2.1/24")}, {Link: "veth0", Address: p("192.0.2.2/24"), Metric: 5}})
			n.Run(t, "ip", "address", "add", "192.0.2.3/24", "dev", "veth0", "label", "veth0:hand")
			ip := ipAddrs(t, n)
			if ip["veth0 192.0.2.1"].flag("secondary") || !ip["veth0 192.0.2.2"].flag("secondary") || !ip["veth0 192.0.2.3"].flag("secondary") {
				t.Fatalf("want .1 primary, .2 and .3 secondary: %v", ip)
			}
			want := []Spec{{Link: "veth0", Address: p("192.0.2.2/24"), Metric: 5}}
			plan, _ := mustApply(t, n, want, netprim.WithPrune())
			if got := len(plan.Changes); promote && got != 1 || !promote && got != 3 {
				t.Fatalf("plan:\n%s", plan)
			}
			if !promote && len(plan.Warnings) != 1 {
				t.Fatalf("want a promote_secondaries warning:\n%s", plan)
			}
			ip = ipAddrs(t, n)
			if _, ok := ip["veth0 192.0.2.1"]; ok {
				t.Error(".1 survived prune")
			}
			if a, ok := ip["veth0 192.0.2.2"]; !ok || a.num("metric") != 5 {
				t.Errorf("wanted .2 lost: %v", a)
			}
			if a, ok := ip["veth0 192.0.2.3"]; !ok || a.str("label") != "veth0:hand" {
				t.Errorf("hand-made .3 lost: %v", a)
			}
			sts := must(List(context.Background(), n.Namespace))
			if st := find(t, sts, "veth0", netip.MustParseAddr("192.0.2.3")); st.Protocol != 0 {
				t.Errorf(".3 is now marked %d", st.Protocol)
			}
			if _, writes := mustApply(t, n, want, netprim.WithPrune()); writes != 0 {
				t.Fatalf("not idempotent: %d writes", writes)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	n := vethNS(t)
	// What Apply may have touched: everything but the kernel's link-local
	// addresses, which come and go with the links' carrier.
	state := func() []string {
		var out []string
		for _, st := range must(List(context.Background(), n.Namespace)) {
			if st.Protocol != protoKernelLL {
				out = append(out, fmt.Sprintf("%s %s %d", st.Link, st.Address, st.Protocol))
			}
		}
		return out
	}
	before := state()
	var writes int64
	_, err := Apply(context.Background(), n.Namespace, []Spec{
		{Link: "veth0", Address: p("192.0.2.1/24")},
		{Link: "veth0", Address: p("192.0.2.2/24"), Label: "bad"},
	}, netprim.WithWriteCounter(&writes))
	if !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), "spec[1].label") || writes != 0 {
		t.Fatalf("got %v, %d writes", err, writes)
	}
	if diff := cmp.Diff(before, state()); diff != "" {
		t.Fatalf("invalid input changed the kernel:\n%s", diff)
	}
	_, err = Apply(context.Background(), n.Namespace, nil, netprim.WithOwner(netprim.Owner{ID: 3}))
	if !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("owner id 3: %v", err)
	}

	// A missing link fails its address only; the kernel's own refusal is
	// reported per address with its message.
	plan, err := Apply(context.Background(), n.Namespace, []Spec{
		{Link: "nope0", Address: p("192.0.2.1/24")},
		{Link: "veth0", Address: p("192.0.2.2/24")},
		{Link: "veth0", Address: p("192.0.2.3/24"), Scope: "host"}, // a secondary must share its primary's scope
	})
	if !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(err.Error(), "address 192.0.2.1/24 dev nope0") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "add address 192.0.2.3/24 dev veth0") {
		t.Fatalf("the kernel's refusal is not reported: %v", err)
	}
	if diff := cmp.Diff([]string{"+ address 192.0.2.2/24 dev veth0"}, lines(plan)); diff != "" {
		t.Fatalf("done (-want +got):\n%s", diff)
	}
	if _, ok := ipAddrs(t, n)["veth0 192.0.2.2"]; !ok {
		t.Fatal("the good address was not added")
	}
}

// bulkSpecs returns n4 IPv4 and n6 IPv6 addresses spread over links: the
// IPv4 ones in one /16 per link, the IPv6 ones ::1 of a /64 each
// (2001:db8:LINK:K::1/64), as a router has them.
func bulkSpecs(links []string, n4, n6 int) []Spec {
	specs := make([]Spec, 0, n4+n6)
	for i := range n4 {
		l := i % len(links)
		k := i/len(links) + 1
		specs = append(specs, Spec{Link: links[l], Address: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(l), byte(k >> 8), byte(k)}), 16)})
	}
	for i := range n6 {
		l := i % len(links)
		k := i/len(links) + 1
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(l), byte(k >> 8), byte(k), 15: 1})
		specs = append(specs, Spec{Link: links[l], Address: netip.PrefixFrom(a, 64), Flags: []string{"nodad"}})
	}
	return specs
}

func ours(t *testing.T, n *nstest.NS) map[string]bool {
	t.Helper()
	out := make(map[string]bool)
	for _, st := range must(List(context.Background(), n.Namespace)) {
		if st.Protocol == owner {
			out[st.Link+" "+st.Address.String()] = true
		}
	}
	return out
}

func specSet(specs []Spec) map[string]bool {
	out := make(map[string]bool)
	for _, s := range specs {
		out[s.Link+" "+s.Address.String()] = true
	}
	return out
}

// stopAfter is a context that reports itself cancelled from the (n+1)th
// call of Err on: Apply checks its context before each dump and each batch
// of requests, so stopAfter(k) stops Apply at its k-th check.
type stopAfter struct {
	context.Context
	left atomic.Int64
}

func newStopAfter(n int64) *stopAfter {
	c := &stopAfter{Context: context.Background()}
	c.left.Store(n)
	return c
}

func (c *stopAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestCancel(t *testing.T) {
	n := vethNS(t)
	all := bulkSpecs([]string{"veth0", "veth1"}, 500, 500)
	half := all[:250:250]
	half = append(half, all[500:750]...)
	// check converges and leaves exactly the wanted addresses of ours
	// (with prune) or at least them (without).
	check := func(what string, want []Spec, opts ...netprim.Option) {
		t.Helper()
		mustApply(t, n, want, opts...)
		got := ours(t, n)
		if len(opts) > 0 {
			if diff := cmp.Diff(specSet(want), got); diff != "" {
				t.Fatalf("%s: owned addresses after prune (-want +got):\n%s", what, diff)
			}
		} else {
			for k := range specSet(want) {
				if !got[k] {
					t.Fatalf("%s: %s missing", what, k)
				}
			}
		}
		if _, writes := mustApply(t, n, want, opts...); writes != 0 {
			t.Fatalf("%s: not converged, %d writes", what, writes)
		}
	}
	// Every point where Apply checks its context, for a growing and a
	// pruning Apply.
	for _, tc := range []struct {
		name string
		want []Spec
		opts []netprim.Option
	}{{"add 1000", all, nil}, {"prune to 500", half, []netprim.Option{netprim.WithPrune()}}} {
		for k := int64(0); ; k++ {
			// Start from the other set so there is work to do.
			if tc.opts == nil {
				mustApply(t, n, half, netprim.WithPrune())
			} else {
				mustApply(t, n, all)
			}
			var writes int64
			_, err := Apply(newStopAfter(k), n.Namespace, tc.want, append(tc.opts, netprim.WithWriteCounter(&writes))...)
			if err == nil {
				t.Logf("%s: %d cancellation points", tc.name, k)
				break
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s, stopped at check %d: %v", tc.name, k, err)
			}
			check(fmt.Sprintf("%s, stopped at check %d after %d writes", tc.name, k, writes), tc.want, tc.opts...)
		}
	}
	// And at random moments in time.
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	mustApply(t, n, all)
	full := time.Since(start)
	for round := range 10 {
		want, opts := all, []netprim.Option(nil)
		if round%2 == 1 {
			want, opts = half, []netprim.Option{netprim.WithPrune()}
		}
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(time.Duration(rng.Int64N(int64(full))), cancel)
		_, err := Apply(ctx, n.Namespace, want, opts...)
		timer.Stop()
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: %v", round, err)
		}
		check(fmt.Sprintf("round %d", round), want, opts...)
	}
	// Nothing orphaned: pruning to nothing leaves no address of ours.
	mustApply(t, n, nil, netprim.WithPrune())
	if got := ours(t, n); len(got) != 0 {
		t.Fatalf("orphans: %v", got)
	}
}

func TestRefresh(t *testing.T) {
	n := vethNS(t)
	specs := []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24"), ValidLifetime: time.Hour},
		{Link: "veth0", Address: p("192.0.2.11/24")},
	}
	mustApply(t, n, specs)
	if plan, writes := mustApply(t, n, specs); writes != 0 {
		t.Fatalf("without WithRefresh: %d writes:\n%s", writes, plan)
	}
	// The address with a lifetime is written again; the one that lives
	// forever is not.
	plan, writes := mustApply(t, n, specs, WithRefresh())
	if writes != 1 {
		t.Fatalf("with WithRefresh: %d writes, want 1:\n%s", writes, plan)
	}
	for _, c := range plan.Changes {
		if c.Object != "192.0.2.10/24 dev veth0" || c.Reason != "refresh" {
			t.Fatalf("unexpected change %v", c)
		}
	}
	if a := ipAddrs(t, n)["veth0 192.0.2.10"]; a.num("valid_life_time") > 3600 || a.num("valid_life_time") < 3500 {
		t.Fatalf("ip shows %v", a)
	}
}

// TestValidUntil checks absolute lifetimes against what ip(8) reports: the
// kernel gets the whole seconds left, rounded down; Applies with the same
// ValidUntil write nothing, a renewal writes once, an expired address is
// not added and is pruned only with WithPrune.
func TestValidUntil(t *testing.T) {
	n := vethNS(t)
	before := time.Now()
	until := before.Add(100*time.Second + 500*time.Millisecond)
	specs := []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24"), ValidUntil: until},
		{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}, ValidUntil: until, PreferredUntil: before.Add(40*time.Second + 500*time.Millisecond)},
		{Link: "veth0", Address: p("198.51.100.11/24"), ValidUntil: until, PreferredUntil: before.Add(-time.Second)},
	}
	mustApply(t, n, specs)
	elapsed := time.Since(before)
	// Seconds that may have passed since the lifetimes were computed: the
	// kernel's count rounds them down.
	passed := uint64(elapsed/time.Second) + 1
	ip := ipAddrs(t, n)
	for _, c := range []struct {
		key              string
		valid, preferred uint64
	}{
		{"veth0 192.0.2.10", 100, 100},
		{"veth0 2001:db8::10", 100, 40},
		{"veth0 198.51.100.11", 100, 0},
	} {
		a := ip[c.key]
		v, pr := a.num("valid_life_time"), a.num("preferred_life_time")
		if v > c.valid || v+passed < c.valid || pr > c.preferred || pr+passed < c.preferred {
			t.Fatalf("%s: ip shows valid %d, preferred %d; want at most %d, %d, less %d s at most: %v",
				c.key, v, pr, c.valid, c.preferred, passed, a)
		}
	}
	if !ip["veth0 198.51.100.11"].flag("deprecated") {
		t.Fatalf("a passed PreferredUntil must make the address deprecated: %v", ip["veth0 198.51.100.11"])
	}
	for i := range 3 {
		if plan, writes := mustApply(t, n, specs); writes != 0 {
			t.Fatalf("Apply %d with the same ValidUntil: %d writes:\n%s", i+2, writes, plan)
		}
	}

	// A renewal: one write, which moves the kernel's end.
	renewed := slices.Clone(specs)
	renewed[0].ValidUntil = until.Add(time.Minute)
	plan, writes := mustApply(t, n, renewed)
	if writes != 1 {
		t.Fatalf("renewal: %d writes, want 1:\n%s", writes, plan)
	}
	if v := ipAddrs(t, n)["veth0 192.0.2.10"].num("valid_life_time"); v <= 100 || v > 160 {
		t.Fatalf("renewed: ip shows valid_life_time %d, want 101..160", v)
	}
	if _, writes := mustApply(t, n, renewed); writes != 0 {
		t.Fatalf("after the renewal: %d writes", writes)
	}
	// With WithRefresh every address with a lifetime is written again.
	if plan, writes := mustApply(t, n, renewed, WithRefresh()); writes != 3 {
		t.Fatalf("WithRefresh: %d writes, want 3:\n%s", writes, plan)
	}

	// Expired: left to the kernel without pruning, deleted with it.
	renewed[0].ValidUntil = time.Now().Add(-time.Second)
	plan, writes = mustApply(t, n, renewed)
	if writes != 0 || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "192.0.2.10/24 dev veth0: validUntil") {
		t.Fatalf("expired, without prune: %d writes:\n%s", writes, plan)
	}
	if _, ok := ipAddrs(t, n)["veth0 192.0.2.10"]; !ok {
		t.Fatal("without prune the expired address must be left to the kernel")
	}
	plan, writes = mustApply(t, n, renewed, netprim.WithPrune())
	if writes != 1 || plan.Changes[0].String() != "- address 192.0.2.10/24 dev veth0" {
		t.Fatalf("expired, with prune: %d writes:\n%s", writes, plan)
	}
	ip = ipAddrs(t, n)
	if _, ok := ip["veth0 192.0.2.10"]; ok || len(ip) == 0 {
		t.Fatalf("the expired address must be pruned: %v", ip)
	}
	plan, writes = mustApply(t, n, renewed, netprim.WithPrune())
	if writes != 0 {
		t.Fatalf("expired, again: %d writes:\n%s", writes, plan)
	}
}
