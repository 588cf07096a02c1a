package addr_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/internal/watchtest"
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
	ch := watchStart(t, n.Namespace, netprim.WatchBufferSize(1))
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

func watchStart(t *testing.T, ns *netprim.Namespace, opts ...netprim.WatchOption) <-chan netprim.Event {
	t.Helper()
	return watchtest.Start(t, func(ctx context.Context) (<-chan netprim.Event, error) {
		return addr.Watch(ctx, ns, opts...)
	})
}

var (
	watchNext     = watchtest.Next
	watchExpect   = watchtest.Expect
	watchEvent    = watchtest.Event
	watchBatch    = watchtest.Batch
	watchOverflow = watchtest.Overflow
)

// TestWatchNamesAsPlan: the event for an address Apply added, and for one
// it pruned, names it exactly as the Change of the Plan did.
func TestWatchNamesAsPlan(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	ch := watchStart(t, n.Namespace)
	ctx := context.Background()
	pfx, ip := netip.MustParsePrefix, netip.MustParseAddr
	want := []addr.Spec{
		{Link: "va", Address: pfx("192.0.2.10/24")},
		{Link: "va", Address: pfx("192.0.2.11/24"), Label: "va:1", AutoBroadcast: true},
		{Link: "vb", Address: pfx("10.0.0.1/32"), Peer: ip("10.0.0.2")},
		{Link: "va", Address: pfx("2001:db8::10/64"), Flags: []string{"nodad"}},
	}
	watchtest.NamesAsPlan(t, ch, want, func(w []addr.Spec) (netprim.Plan, error) {
		return addr.Apply(ctx, n.Namespace, w, netprim.WithPrune())
	})
}
