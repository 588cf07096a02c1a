package nl_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/internal/watchtest"
	"github.com/netprim/netprim/nstest"
)

var (
	watchNext   = watchtest.Next
	watchExpect = watchtest.Expect
)

func watchStart(t *testing.T, ns *netprim.Namespace, groups []uint32, cfg nl.WatchConfig) <-chan netprim.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := nl.Watch(ctx, ns, groups, rendered(cfg))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch {
		}
	})
	return ch
}

// rendered returns cfg with renderers that name objects briefly: an
// address as "ADDRESS/LEN dev LINK", a route as "[blackhole ]DST proto P",
// a rule as "PRIORITY proto P". The renderers Watch gets in production are
// those of the addr and route packages, tested there.
func rendered(cfg nl.WatchConfig) nl.WatchConfig {
	cfg.Address, cfg.Route, cfg.Rule = renderAddr, renderRoute, renderRule
	return cfg
}

func renderAddr(data []byte, name func(int32) string) (string, bool) {
	if len(data) < unix.SizeofIfAddrmsg {
		return "", false
	}
	var a netip.Addr
	nl.Attrs(data[unix.SizeofIfAddrmsg:], func(typ uint16, v []byte) bool {
		if typ == unix.IFA_LOCAL || typ == unix.IFA_ADDRESS && !a.IsValid() {
			a, _ = nl.Addr(v)
		}
		return true
	})
	dev := name(int32(binary.NativeEndian.Uint32(data[4:])))
	return netip.PrefixFrom(a, int(data[1])).String() + " dev " + dev, a.IsValid()
}

func renderRoute(data []byte, _ func(int32) string) (string, bool) {
	if len(data) < unix.SizeofRtMsg || binary.NativeEndian.Uint32(data[8:])&unix.RTM_F_CLONED != 0 {
		return "", false
	}
	dst := netip.IPv4Unspecified()
	if data[0] == unix.AF_INET6 {
		dst = netip.IPv6Unspecified()
	}
	nl.Attrs(data[unix.SizeofRtMsg:], func(typ uint16, v []byte) bool {
		if typ == unix.RTA_DST {
			dst, _ = nl.Addr(v)
		}
		return true
	})
	obj := fmt.Sprintf("%s proto %d", netip.PrefixFrom(dst, int(data[1])), data[5])
	if data[7] == unix.RTN_BLACKHOLE {
		obj = "blackhole " + obj
	}
	return obj, true
}

func renderRule(data []byte, _ func(int32) string) (string, bool) {
	const fibRuleHdrLen = 12
	if len(data) < fibRuleHdrLen {
		return "", false
	}
	var prio uint32
	proto := -1
	nl.Attrs(data[fibRuleHdrLen:], func(typ uint16, v []byte) bool {
		switch {
		case typ == unix.FRA_PRIORITY:
			prio = nl.U32(v)
		case typ == unix.FRA_PROTOCOL && len(v) > 0:
			proto = int(v[0])
		}
		return true
	})
	return fmt.Sprintf("%d proto %d", prio, proto), true
}

func add(kind, obj string) netprim.Event {
	return netprim.Event{Kind: kind, Action: netprim.Add, Object: obj}
}

func del(kind, obj string) netprim.Event {
	return netprim.Event{Kind: kind, Action: netprim.Delete, Object: obj}
}

func resync(kind string) netprim.Event { return netprim.Event{Kind: kind, Resync: true} }

func TestWatchLink(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace, nl.LinkGroups(), nl.WatchConfig{})

	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	watchExpect(t, ch, add("link", "va"), add("link", "vb"))
	// A new bridge is a barrier: its event comes after every event of
	// the veth creation, so the next expectation cannot be met by them.
	n.Run(t, "ip", "link", "add", "barrier0", "type", "bridge")
	watchExpect(t, ch, add("link", "barrier0"))

	n.Run(t, "ip", "link", "set", "va", "mtu", "1400")
	watchExpect(t, ch, add("link", "va"))
	var links []struct {
		MTU int `json:"mtu"`
	}
	n.IPJSON(t, &links, "link", "show", "va")
	if len(links) != 1 || links[0].MTU != 1400 {
		t.Fatalf("ip link show va: %+v, want mtu 1400", links)
	}

	n.Run(t, "ip", "link", "set", "va", "name", "vc")
	watchExpect(t, ch, del("link", "va"), add("link", "vc"))

	n.Run(t, "ip", "link", "del", "vc")
	watchExpect(t, ch, del("link", "vc"), del("link", "vb"))
	if out := n.Run(t, "ip", "-br", "link", "show", "type", "veth"); len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("veth links left: %s", out)
	}
}

// TestWatchOtherNamespace proves a watcher sees only its own namespace: the
// first event after changes in another namespace is the marker made in its
// own.
func TestWatchOtherNamespace(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	ch := watchStart(t, a.Namespace, nl.AllGroups(), nl.WatchConfig{})
	b.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	b.Run(t, "ip", "link", "set", "va", "up")
	b.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "va")
	b.Run(t, "ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.1", "proto", "78")
	b.Run(t, "ip", "rule", "add", "priority", "100", "lookup", "100")
	a.Run(t, "ip", "link", "add", "marker", "type", "bridge")
	if ev := watchNext(t, ch); ev != add("link", "marker") {
		t.Fatalf("first event in the watched namespace is %v, want + link marker", ev)
	}
}

// watchFlood adds count blackhole routes with one "ip -batch".
func watchFlood(t *testing.T, n *nstest.NS, first, count int) {
	t.Helper()
	var sb strings.Builder
	for i := first; i < first+count; i++ {
		fmt.Fprintf(&sb, "route add blackhole 10.%d.%d.0/24 proto 78\n", i/256, i%256)
	}
	p := filepath.Join(t.TempDir(), "routes")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "-batch", p)
}

// TestWatchOverflow forces the kernel to drop notifications: a tiny receive
// buffer and a one-slot channel nobody reads while 2000 routes are added.
// The loss must surface as a Resync (more than one when drops continued
// after the first was reported), after which single changes are reported
// normally again, without Resync.
func TestWatchOverflow(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace, nl.RouteGroups(), nl.WatchConfig{ReceiveBuffer: 1, Queue: 1})
	const flood = 2000
	watchFlood(t, n, 0, flood)

	adds, resyncs := 0, 0
	for {
		ev := watchNext(t, ch)
		if ev.Resync {
			if ev.Kind != "route" {
				t.Fatalf("resync of kind %q, want route", ev.Kind)
			}
			resyncs++
			break
		}
		adds++
	}
	if adds >= flood {
		t.Fatalf("all %d changes arrived before the resync: nothing was lost", adds)
	}
	// Catch up: the rest of the kernel queue is read while more changes
	// may still be dropped (each drop again reported as a Resync), so a
	// marker route is added until its event arrives.
	markers := 0
	for caught := false; !caught; {
		if markers == 50 {
			t.Fatalf("no marker event after %d markers and %d resyncs", markers, resyncs)
		}
		want := add("route", fmt.Sprintf("blackhole 203.0.113.%d/32 proto 78", markers))
		n.Run(t, "ip", "route", "add", "blackhole", fmt.Sprintf("203.0.113.%d/32", markers), "proto", "78")
		markers++
		for {
			ev := watchNext(t, ch)
			if ev == want {
				caught = true
				break
			}
			if ev.Resync {
				resyncs++
				break // the marker may have been dropped: add another
			}
		}
	}
	// The watcher has read everything up to the marker and the kernel
	// reports a pending overflow before the next datagram, so from here on
	// single changes arrive as events, each the next one, without Resync.
	for i := 0; i < 3; i++ {
		dst := fmt.Sprintf("203.0.114.%d/32", i)
		n.Run(t, "ip", "route", "add", "blackhole", dst, "proto", "78")
		want := add("route", "blackhole "+dst+" proto 78")
		if ev := watchNext(t, ch); ev != want {
			t.Fatalf("after the flood got %v, want %v", ev, want)
		}
	}
	var routes []struct{}
	n.IPJSON(t, &routes, "route", "show", "proto", "78")
	if len(routes) != flood+markers+3 {
		t.Fatalf("ip route shows %d routes, want %d", len(routes), flood+markers+3)
	}
	t.Logf("%d of %d changes reported before the first resync; %d resync(s), %d marker(s) to catch up", adds, flood, resyncs, markers)
}

// TestWatchNoLossWithDefaultBuffer: with the default receive buffer the
// same flood, unread while it happens, arrives complete and without Resync.
func TestWatchNoLossWithDefaultBuffer(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace, nl.RouteGroups(), nl.WatchConfig{})
	const flood = 2000
	watchFlood(t, n, 0, flood)
	n.Run(t, "ip", "route", "add", "blackhole", "203.0.113.0/24", "proto", "78")
	seen := map[string]bool{}
	for {
		ev := watchNext(t, ch)
		if ev.Resync {
			t.Fatalf("resync after %d events", len(seen))
		}
		if ev == add("route", "blackhole 203.0.113.0/24 proto 78") {
			break
		}
		if ev.Action == netprim.Add && strings.HasPrefix(ev.Object, "blackhole 10.") {
			seen[ev.Object] = true
		}
	}
	if len(seen) != flood {
		t.Fatalf("%d distinct route events, want %d", len(seen), flood)
	}
}

// TestWatchRouteResyncOnLinkDown: the kernel flushes IPv4 routes of a link
// that goes down without a notification; Watch reports a route Resync.
func TestWatchRouteResyncOnLinkDown(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	n.Run(t, "ip", "link", "set", "vb", "up")
	n.Run(t, "ip", "link", "set", "va", "up")
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "va")
	n.Run(t, "ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.1", "proto", "78")
	ch := watchStart(t, n.Namespace, nl.RouteGroups(), nl.WatchConfig{})

	n.Run(t, "ip", "link", "set", "va", "down")
	watchExpect(t, ch, resync("route"))
	var routes []struct{}
	n.IPJSON(t, &routes, "route", "show", "198.51.100.0/24")
	if len(routes) != 0 {
		t.Fatalf("route still present after link down: %v", routes)
	}

	// After the resync ordinary events continue.
	n.Run(t, "ip", "route", "add", "blackhole", "203.0.113.0/24", "proto", "78")
	watchExpect(t, ch, add("route", "blackhole 203.0.113.0/24 proto 78"))
}

// TestWatchReopen breaks the subscribed socket: Watch re-opens it, reports
// a Resync and goes on reporting changes.
func TestWatchReopen(t *testing.T) {
	n := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, brk, err := nl.WatchWithBreak(ctx, n.Namespace, nl.AllGroups(), rendered(nl.WatchConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	brk()
	watchExpect(t, ch, resync("link"), resync("address"), resync("route"), resync("rule"))
	n.Run(t, "ip", "rule", "add", "priority", "7", "lookup", "7")
	watchExpect(t, ch, add("rule", "7 proto 0"))
	cancel()
	for range ch {
	}
}

// TestWatchReopenFails: when the subscription cannot be re-opened (here the
// namespace handle was closed) the channel is closed although ctx is alive.
func TestWatchReopenFails(t *testing.T) {
	n := nstest.New(t)
	ns, err := netprim.OpenNamespacePath(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, brk, err := nl.WatchWithBreak(ctx, ns, nl.RouteGroups(), rendered(nl.WatchConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	brk()
	for ev := range ch {
		t.Fatalf("event %v from a subscription that cannot be re-opened", ev)
	}
	if ctx.Err() != nil {
		t.Fatal("ctx ended")
	}
}

// TestWatchTruncated: a datagram larger than the receive buffer is lost
// and reported as a Resync; the buffer grows until link messages fit and
// then events arrive again.
func TestWatchTruncated(t *testing.T) {
	n := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := nl.WatchWithMessageBuffer(ctx, n.Namespace, nl.LinkGroups(), nl.WatchConfig{}, 64)
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "link", "add", "wt0", "type", "bridge")
	watchExpect(t, ch, resync("link"))
	for i := 1; ; i++ {
		if i == 20 {
			t.Fatal("no link event after 20 bridges: the buffer does not grow")
		}
		name := fmt.Sprintf("wt%d", i)
		n.Run(t, "ip", "link", "add", name, "type", "bridge")
		ev := watchNext(t, ch)
		for ev.Action == netprim.Add && ev.Object != name && strings.HasPrefix(ev.Object, "wt") {
			ev = watchNext(t, ch) // a later message about an earlier bridge
		}
		if ev == add("link", name) {
			break
		}
		if ev != resync("link") {
			t.Fatalf("got %v, want + link %s or a resync", ev, name)
		}
	}
	cancel()
	for range ch {
	}
}

func watchFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestWatchCancel: ending ctx closes the channel, also while the watcher is
// blocked on a full channel, and releases the goroutines and sockets.
func TestWatchCancel(t *testing.T) {
	n := nstest.New(t)
	fds, goroutines := watchFDs(t), runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	idle, err := nl.WatchAll(ctx, n.Namespace, rendered(nl.WatchConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	busy, err := nl.Watch(ctx2, n.Namespace, nl.RouteGroups(), rendered(nl.WatchConfig{Queue: 1}))
	if err != nil {
		t.Fatal(err)
	}
	watchFlood(t, n, 0, 50) // busy's goroutine now blocks sending
	if watchFDs(t) <= fds {
		t.Fatal("watchers hold no file descriptors")
	}

	cancel()
	for range idle {
	}
	cancel2()
	for range busy {
	}
	nstest.Eventually(t, watchtest.Hang, func() error {
		if f, g := watchFDs(t), runtime.NumGoroutine(); f > fds || g > goroutines {
			return fmt.Errorf("%d fds and %d goroutines, were %d and %d", f, g, fds, goroutines)
		}
		return nil
	})
}

func TestWatchBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := nl.Watch(ctx, nil, nil, nl.WatchConfig{}); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("no groups: %v, want ErrInvalidSpec", err)
	}
	if _, err := nl.Watch(ctx, nil, []uint32{unix.RTNLGRP_NEIGH}, nl.WatchConfig{}); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("neighbour group: %v, want ErrInvalidSpec", err)
	}
	if _, err := nl.Watch(ctx, nil, nl.RouteGroups(), nl.WatchConfig{}); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("routes without a renderer: %v, want ErrInvalidSpec", err)
	}
	if _, err := nl.Watch(ctx, nil, nl.LinkGroups(), nl.WatchConfig{Queue: -1}); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("negative queue: %v, want ErrInvalidSpec", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := nl.Watch(done, nil, nl.LinkGroups(), nl.WatchConfig{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended ctx: %v, want context.Canceled", err)
	}
}

// TestWatchNoSilentLossAfterResync: after an overflow the kernel keeps
// dropping notifications, without reporting another error, until the
// socket's queue is empty. A change made after the receiver saw the Resync
// (and listed) must therefore still arrive, or be covered by a new Resync.
// With a backlog left queued behind the Resync it was lost silently.
func TestWatchNoSilentLossAfterResync(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace, nl.RouteGroups(), nl.WatchConfig{ReceiveBuffer: 32 << 10, Queue: 1})
	watchFlood(t, n, 0, 2000)
	for ev := watchNext(t, ch); !ev.Resync; ev = watchNext(t, ch) {
	}
	// The receiver lists now. Give the watcher time to fill the one-slot
	// channel from whatever is still queued (an ordering aid, not a
	// measurement), then change something.
	time.Sleep(200 * time.Millisecond)
	n.Run(t, "ip", "route", "add", "blackhole", "203.0.113.7/32", "proto", "78")
	want := add("route", "blackhole 203.0.113.7/32 proto 78")
	for {
		ev := watchNext(t, ch) // fails the test if the change was lost silently
		if ev == want || ev.Resync {
			return
		}
	}
}
