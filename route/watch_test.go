package route_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/watchtest"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/route"
)

func TestWatchRouteAndRuleEvents(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "va")
	n.Run(t, "ip", "addr", "add", "2001:db8::10/64", "dev", "va", "nodad")
	n.Run(t, "ip", "link", "set", "vb", "up")
	n.Run(t, "ip", "link", "set", "va", "up")
	ch := watchStart(t, n.Namespace)
	steps := []struct {
		cmd  string
		want netprim.Event
	}{
		{"route add 198.51.100.0/24 via 192.0.2.1 dev va table 100 proto 78",
			watchEvent(netprim.Add, "route", "198.51.100.0/24 via 192.0.2.1 dev va table 100 proto 78")},
		{"-6 route add 2001:db8:1::/64 via 2001:db8::1 metric 10 proto static",
			watchEvent(netprim.Add, "route", "2001:db8:1::/64 via 2001:db8::1 dev va proto static metric 10")},
		{"rule add priority 100 fwmark 0x40/0x60 lookup 180 protocol 78",
			watchEvent(netprim.Add, "rule", "100: from all fwmark 0x40/0x60 lookup 180 proto 78")},
		{"-6 rule add priority 100 lookup 100 protocol 78",
			watchEvent(netprim.Add, "rule", "100: from all lookup 100 proto 78 family inet6")},
		{"route del 198.51.100.0/24 table 100",
			watchEvent(netprim.Delete, "route", "198.51.100.0/24 via 192.0.2.1 dev va table 100 proto 78")},
		{"-6 route del 2001:db8:1::/64",
			watchEvent(netprim.Delete, "route", "2001:db8:1::/64 via 2001:db8::1 dev va proto static metric 10")},
		{"rule del priority 100",
			watchEvent(netprim.Delete, "rule", "100: from all fwmark 0x40/0x60 lookup 180 proto 78")},
		{"-6 rule del priority 100",
			watchEvent(netprim.Delete, "rule", "100: from all lookup 100 proto 78 family inet6")},
	}
	for _, s := range steps {
		n.Run(t, "ip", strings.Fields(s.cmd)...)
		watchExpect(t, ch, s.want)
	}
	if out := strings.TrimSpace(string(n.Run(t, "ip", "rule", "show", "priority", "100"))); out != "" {
		t.Fatalf("rule 100 left: %s", out)
	}
}

// TestWatchLinkDownResync: the kernel drops the IPv4 routes of a link that
// goes down without telling anyone; Watch reports a route Resync.
func TestWatchLinkDownResync(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	n.Run(t, "ip", "link", "set", "vb", "up")
	n.Run(t, "ip", "link", "set", "va", "up")
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "va")
	n.Run(t, "ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.1", "proto", "78")
	ch := watchStart(t, n.Namespace)
	n.Run(t, "ip", "link", "set", "va", "down")
	watchExpect(t, ch, netprim.Event{Kind: "route", Resync: true})
	var routes []struct{}
	n.IPJSON(t, &routes, "route", "show", "198.51.100.0/24")
	if len(routes) != 0 {
		t.Fatalf("route 198.51.100.0/24 still present after link down")
	}
}

// TestWatchOverflowResync: the smallest receive buffer and 2000 routes
// added while nobody reads overflow the subscription; Watch reports a
// Resync of routes (and of rules, whose notifications share the socket)
// and then single changes again.
func TestWatchOverflowResync(t *testing.T) {
	n := nstest.New(t)
	ch := watchStart(t, n.Namespace, netprim.WatchBufferSize(1))
	var lines []string
	for i := 0; i < 2000; i++ {
		lines = append(lines, fmt.Sprintf("route add blackhole 10.%d.%d.0/24 proto 78", i/256, i%256))
	}
	watchBatch(t, n, lines)
	// The first Resync is for routes; the one for rules follows it.
	watchOverflow(t, ch, "route", func(i int) netprim.Event {
		prio := fmt.Sprint(1000 + i)
		n.Run(t, "ip", "rule", "add", "priority", prio, "lookup", "100", "protocol", "78")
		return watchEvent(netprim.Add, "rule", prio+": from all lookup 100 proto 78")
	})
}

// TestWatchCancelCloses: ending ctx closes the channel.
func TestWatchCancelCloses(t *testing.T) {
	n := nstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := route.Watch(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "route", "add", "blackhole", "198.51.100.0/24")
	cancel()
	for range ch {
	}
}

func watchStart(t *testing.T, ns *netprim.Namespace, opts ...netprim.WatchOption) <-chan netprim.Event {
	t.Helper()
	return watchtest.Start(t, func(ctx context.Context) (<-chan netprim.Event, error) {
		return route.Watch(ctx, ns, opts...)
	})
}

var (
	watchNext     = watchtest.Next
	watchExpect   = watchtest.Expect
	watchEvent    = watchtest.Event
	watchBatch    = watchtest.Batch
	watchOverflow = watchtest.Overflow
)
