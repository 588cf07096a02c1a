package link_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/watchtest"
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
	ch := watchStart(t, n.Namespace, netprim.WatchBufferSize(1))
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

// TestWatchNamesAsPlan: the event for a link Apply created, and for one it
// pruned, names it exactly as the Change of the Plan did: by its name.
func TestWatchNamesAsPlan(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace)
	ctx := context.Background()
	up := true
	want := []link.Spec{
		{Name: "wa", Veth: &link.Veth{Peer: "wb"}, MTU: 1400, Up: &up},
		{Name: "wmv", MACVLAN: &link.MACVLAN{Parent: "wa"}},
		{Name: "wvx", VXLAN: &link.VXLAN{VNI: 42, Port: 4789}},
	}
	watchtest.NamesAsPlan(t, ch, want, func(w []link.Spec) (netprim.Plan, error) {
		return link.Apply(ctx, n.Namespace, w, netprim.WithPrune())
	})
}

func watchStart(t *testing.T, ns *netprim.Namespace, opts ...netprim.WatchOption) <-chan netprim.Event {
	t.Helper()
	return watchtest.Start(t, func(ctx context.Context) (<-chan netprim.Event, error) {
		return link.Watch(ctx, ns, opts...)
	})
}

var (
	watchNext     = watchtest.Next
	watchExpect   = watchtest.Expect
	watchEvent    = watchtest.Event
	watchBatch    = watchtest.Batch
	watchOverflow = watchtest.Overflow
)
