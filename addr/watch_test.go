package addr_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/nstest"
)

func TestWatchAddressEvents(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	ch := watchStart(t, n.Namespace)
	steps := []struct {
		cmd  string
		want netprim.Event
	}{
		{"addr add 192.0.2.10/24 dev va", watchEvent(netprim.Add, "address", "192.0.2.10/24 dev va")},
		{"addr add 2001:db8::10/64 dev va nodad", watchEvent(netprim.Add, "address", "2001:db8::10/64 dev va")},
		{"addr add 192.0.2.20 peer 192.0.2.21/32 dev vb", watchEvent(netprim.Add, "address", "192.0.2.20 peer 192.0.2.21/32 dev vb")},
		{"addr del 192.0.2.10/24 dev va", watchEvent(netprim.Delete, "address", "192.0.2.10/24 dev va")},
		{"addr del 2001:db8::10/64 dev va", watchEvent(netprim.Delete, "address", "2001:db8::10/64 dev va")},
		{"link del vb", watchEvent(netprim.Delete, "address", "192.0.2.20 peer 192.0.2.21/32 dev vb")},
	}
	for _, s := range steps {
		n.Run(t, "ip", strings.Fields(s.cmd)...)
		watchExpect(t, ch, s.want)
	}
	var left []struct{}
	n.IPJSON(t, &left, "link", "show", "type", "veth")
	if len(left) != 0 {
		t.Fatalf("veth links left: %d", len(left))
	}
}

// TestWatchOverflowResync: the smallest receive buffer and 1000 addresses
// added while nobody reads overflow the subscription; Watch reports a
// Resync and then single changes again.
func TestWatchOverflowResync(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	ch := watchStart(t, n.Namespace, addr.WatchBufferSize(1))
	var lines []string
	for i := 0; i < 1000; i++ {
		lines = append(lines, fmt.Sprintf("addr add 10.0.%d.%d/32 dev va", i/256, i%256))
	}
	watchBatch(t, n, lines)
	watchOverflow(t, ch, "address", func(i int) netprim.Event {
		a := fmt.Sprintf("10.9.0.%d/32", i)
		n.Run(t, "ip", "addr", "add", a, "dev", "vb")
		return watchEvent(netprim.Add, "address", a+" dev vb")
	})
	var links []struct {
		Addrs []struct{} `json:"addr_info"`
	}
	n.IPJSON(t, &links, "addr", "show", "dev", "va")
	if len(links) != 1 || len(links[0].Addrs) != 1000 {
		t.Fatalf("ip addr show dev va: want 1000 addresses")
	}
}

// TestWatchCancelCloses: ending ctx closes the channel.
func TestWatchCancelCloses(t *testing.T) {
	n := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := addr.Watch(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "addr", "add", "192.0.2.1/32", "dev", "lo")
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
	events, err := addr.Watch(ctx, ns)
	if err != nil {
		fmt.Println(err)
		return
	}
	// ... List the current state here ...
	for ev := range events {
		if ev.Resync {
			// Changes were lost: List the addresss again.
			continue
		}
		fmt.Println(ev) // e.g. "+ address 192.0.2.10/24 dev veth0"
	}
}

// watchHang bounds each wait for an event so that a missing event fails
// the test instead of hanging it; it is a guard, not a measured deadline.
const watchHang = 30 * time.Second

func watchStart(t *testing.T, ns *netprim.Namespace, opts ...addr.WatchOption) <-chan netprim.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := addr.Watch(ctx, ns, opts...)
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
