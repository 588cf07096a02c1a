package link_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
)

func TestWatchLinkEvents(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	watchExpect(t, ch, watchEvent(netprim.Add, "link", "va"), watchEvent(netprim.Add, "link", "vb"))
	// A new bridge is a barrier: its event follows every event of the
	// veth creation, so the MTU change below cannot be matched by them.
	n.Run(t, "ip", "link", "add", "wbarrier", "type", "bridge")
	watchExpect(t, ch, watchEvent(netprim.Add, "link", "wbarrier"))
	n.Run(t, "ip", "link", "set", "va", "mtu", "1400")
	watchExpect(t, ch, watchEvent(netprim.Add, "link", "va"))
	n.Run(t, "ip", "link", "set", "vb", "name", "vc")
	watchExpect(t, ch, watchEvent(netprim.Delete, "link", "vb"), watchEvent(netprim.Add, "link", "vc"))
	n.Run(t, "ip", "link", "del", "va")
	watchExpect(t, ch, watchEvent(netprim.Delete, "link", "va"), watchEvent(netprim.Delete, "link", "vc"))
	var left []struct {
		Name string `json:"ifname"`
	}
	n.IPJSON(t, &left, "link", "show", "type", "veth")
	if len(left) != 0 {
		t.Fatalf("veth links left: %+v", left)
	}
}

// TestWatchOtherNamespaceUnseen: changes in another namespace never reach
// the watcher; the first event is the marker made in the watched one.
func TestWatchOtherNamespaceUnseen(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	ch := watchStart(t, a.Namespace)
	b.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	b.Run(t, "ip", "link", "set", "va", "up")
	a.Run(t, "ip", "link", "add", "marker", "type", "bridge")
	if ev := watchNext(t, ch); ev != watchEvent(netprim.Add, "link", "marker") {
		t.Fatalf("first event %v, want + link marker", ev)
	}
}

// TestWatchOverflowResync: the smallest receive buffer and 1000 changes
// nobody reads overflow the subscription; Watch reports a Resync and then
// single changes again.
func TestWatchOverflowResync(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	// Up: the kernel announces alias changes of links that are up only.
	n.Run(t, "ip", "link", "set", "va", "up")
	ch := watchStart(t, n.Namespace, link.WatchBufferSize(1))
	var lines []string
	for i := 0; i < 1000; i++ {
		lines = append(lines, fmt.Sprintf("link set dev va alias flood%d", i))
	}
	watchBatch(t, n, lines)
	watchOverflow(t, ch, "link", func(i int) netprim.Event {
		name := fmt.Sprintf("wm%d", i)
		n.Run(t, "ip", "link", "add", name, "type", "bridge")
		return watchEvent(netprim.Add, "link", name)
	})
}

// TestWatchCancelCloses: ending ctx closes the channel.
func TestWatchCancelCloses(t *testing.T) {
	n := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := link.Watch(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	cancel()
	for range ch {
	}
}

// ExampleWatch follows changes in the namespace "blue" (made with "ip netns
// add blue") until interrupted.
func ExampleWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	// Subscribe before reading the current state, so that no change
	// falls between the two.
	events, err := link.Watch(ctx, ns)
	if err != nil {
		fmt.Println(err)
		return
	}
	// ... List the current state here ...
	for ev := range events {
		if ev.Resync {
			// Changes were lost: List the links again.
			continue
		}
		fmt.Println(ev) // e.g. "+ link veth0"
	}
}

// watchHang bounds each wait for an event so that a missing event fails
// the test instead of hanging it; it is a guard, not a measured deadline.
const watchHang = 30 * time.Second

func watchStart(t *testing.T, ns *netprim.Namespace, opts ...link.WatchOption) <-chan netprim.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := link.Watch(ctx, ns, opts...)
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

func watchNext(t *testing.T, ch <-chan netprim.Event) netprim.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(watchHang):
		t.Fatalf("no event after %v", watchHang)
	}
	return netprim.Event{}
}

// watchExpect reads events until all of want were seen, in any order,
// skipping others; an unwanted Resync fails the test.
func watchExpect(t *testing.T, ch <-chan netprim.Event, want ...netprim.Event) {
	t.Helper()
	missing := map[netprim.Event]bool{}
	for _, w := range want {
		missing[w] = true
	}
	for len(missing) > 0 {
		ev := watchNext(t, ch)
		if missing[ev] {
			delete(missing, ev)
		} else if ev.Resync {
			t.Fatalf("unexpected %v while waiting for %v", ev, want)
		}
	}
}

func watchEvent(a netprim.Action, kind, obj string) netprim.Event {
	return netprim.Event{Kind: kind, Action: a, Object: obj}
}

// watchBatch runs "ip -batch" with the given lines inside n.
func watchBatch(t *testing.T, n *nstest.NS, lines []string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "-batch", p)
}

// watchOverflow checks the reaction to a flood nobody read: at least one
// Resync of kind, then, once a marker change made by mark(i) is seen,
// single changes are plain events again.
func watchOverflow(t *testing.T, ch <-chan netprim.Event, kind string, mark func(i int) netprim.Event) {
	t.Helper()
	events, resyncs := 0, 0
	for resyncs == 0 {
		ev := watchNext(t, ch)
		switch {
		case ev.Resync && ev.Kind == kind:
			resyncs++
		case ev.Resync:
			t.Fatalf("resync of kind %q, want %q", ev.Kind, kind)
		default:
			events++
		}
	}
	// Drops may go on while the rest of the kernel queue is read (each
	// reported as a Resync): add markers until one arrives.
	i := 0
	for caught := false; !caught; i++ {
		if i == 50 {
			t.Fatalf("no marker event after %d markers", i)
		}
		want := mark(i)
		for {
			ev := watchNext(t, ch)
			if ev == want {
				caught = true
				break
			}
			if ev.Resync {
				resyncs++
				break
			}
		}
	}
	// Caught up: single changes arrive as events, without Resync.
	for j := i; j < i+3; j++ {
		watchExpect(t, ch, mark(j))
	}
	t.Logf("%d events before the first resync, %d resync(s), %d marker(s) to catch up", events, resyncs, i)
}
