package route_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/watchtest"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/route"
)

// TestWatchRouteAndRuleEvents: events name routes and rules as a Plan
// does, in the words of ip(8) without the owner (protocol), whoever made
// them; the kernel's own routes say "proto kernel".
func TestWatchRouteAndRuleEvents(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	n.Run(t, "ip", "addr", "add", "2001:db8::10/64", "dev", "va", "nodad")
	n.Run(t, "ip", "link", "set", "vb", "up")
	n.Run(t, "ip", "link", "set", "va", "up")
	ch := watchStart(t, n.Namespace)
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "va")
	watchExpect(t, ch,
		watchEvent(netprim.Add, "route", "192.0.2.0/24 dev va proto kernel scope link src 192.0.2.10"),
		watchEvent(netprim.Add, "route", "local 192.0.2.10/32 dev va table local proto kernel scope host src 192.0.2.10"))
	steps := []struct {
		cmd  string
		want netprim.Event
	}{
		{"route add 198.51.100.0/24 via 192.0.2.1 dev va table 100 proto 78",
			watchEvent(netprim.Add, "route", "198.51.100.0/24 via 192.0.2.1 dev va table 100")},
		{"route add 198.51.101.0/24 via 192.0.2.1 metric 100 proto 78",
			watchEvent(netprim.Add, "route", "198.51.101.0/24 via 192.0.2.1 dev va metric 100")},
		{"-6 route add 2001:db8:1::/64 via 2001:db8::1 metric 10 proto static",
			watchEvent(netprim.Add, "route", "2001:db8:1::/64 via 2001:db8::1 dev va metric 10")},
		{"-6 route add 2001:db8:2::/64 via 2001:db8::1 dev va proto 78",
			watchEvent(netprim.Add, "route", "2001:db8:2::/64 via 2001:db8::1 dev va metric 1024")},
		{"route add blackhole 198.51.102.0/24 proto 78",
			watchEvent(netprim.Add, "route", "blackhole 198.51.102.0/24")},
		{"route add 198.51.103.0/24 proto 78 nexthop via 192.0.2.1 dev va weight 1 nexthop via 192.0.2.2 dev va weight 3",
			watchEvent(netprim.Add, "route", "198.51.103.0/24 nexthop via 192.0.2.1 dev va weight 1 nexthop via 192.0.2.2 dev va weight 3")},
		{"route add default via 192.0.2.1 table 7 proto 78",
			watchEvent(netprim.Add, "route", "0.0.0.0/0 via 192.0.2.1 dev va table 7")},
		{"rule add priority 100 fwmark 0x40/0x60 lookup 180 protocol 78",
			watchEvent(netprim.Add, "rule", "100: from all fwmark 0x40/0x60 lookup 180")},
		{"-6 rule add priority 100 lookup 100 protocol 78",
			watchEvent(netprim.Add, "rule", "100: from all lookup 100 family inet6")},
		{"-6 rule add priority 101 from 2001:db8::/32 lookup 181 protocol 78",
			watchEvent(netprim.Add, "rule", "101: from 2001:db8::/32 lookup 181")},
		{"rule add priority 102 not to 198.51.100.0/24 iif lo blackhole protocol static",
			watchEvent(netprim.Add, "rule", "102: not from all to 198.51.100.0/24 iif lo blackhole")},
		{"-6 rule add priority 103 lookup main suppress_prefixlength 0 protocol 78",
			watchEvent(netprim.Add, "rule", "103: from all lookup main suppress_prefixlength 0 family inet6")},
		{"route del 198.51.100.0/24 table 100",
			watchEvent(netprim.Delete, "route", "198.51.100.0/24 via 192.0.2.1 dev va table 100")},
		{"-6 route del 2001:db8:1::/64",
			watchEvent(netprim.Delete, "route", "2001:db8:1::/64 via 2001:db8::1 dev va metric 10")},
		{"route del blackhole 198.51.102.0/24",
			watchEvent(netprim.Delete, "route", "blackhole 198.51.102.0/24")},
		{"rule del priority 100",
			watchEvent(netprim.Delete, "rule", "100: from all fwmark 0x40/0x60 lookup 180")},
		{"-6 rule del priority 100",
			watchEvent(netprim.Delete, "rule", "100: from all lookup 100 family inet6")},
	}
	for _, s := range steps {
		args := strings.Fields(s.cmd)
		n.Run(t, "ip", args...)
		watchExpect(t, ch, s.want)
		if s.want.Action == netprim.Add {
			ipShows(t, n, args, s.want)
		}
	}
	if out := strings.TrimSpace(string(n.Run(t, "ip", "rule", "show", "priority", "100"))); out != "" {
		t.Fatalf("rule 100 left: %s", out)
	}
}

// ipShows checks that ip(8) shows the object that the ip command args
// added in the words of the event, apart from what the event leaves out:
// the protocol (but "proto kernel"), the IPv6 preference, and for rules
// the family of an IPv6 rule without addresses.
func ipShows(t *testing.T, n *nstest.NS, args []string, ev netprim.Event) {
	t.Helper()
	var show []string
	at := slices.Index(args, "add")
	if ev.Kind == "route" {
		dst := args[at+1]
		if dst == "blackhole" {
			dst = args[at+2]
		}
		show = []string{"route", "show", "table", "all", "exact", dst}
	} else {
		prio := args[slices.Index(args, "priority")+1]
		show = []string{"rule", "show", "priority", prio}
	}
	if args[0] == "-6" {
		show = append([]string{"-6"}, show...)
	}
	var words []string
	fields := strings.Fields(strings.ReplaceAll(string(n.Run(t, "ip", show...)), "[unresolved]", ""))
	for i := 0; i < len(fields); i++ {
		switch {
		case fields[i] == "proto" && i+1 < len(fields) && fields[i+1] != "kernel",
			fields[i] == "pref" && i+1 < len(fields):
			i++
		default:
			words = append(words, fields[i])
		}
	}
	got := strings.Join(words, " ")
	want := strings.Replace(ev.Object, "0.0.0.0/0", "default", 1)
	want = strings.TrimSuffix(want, " family inet6")
	if got != want {
		t.Fatalf("ip %s: %q, event object %q", strings.Join(show, " "), got, ev.Object)
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
		return watchEvent(netprim.Add, "rule", prio+": from all lookup 100")
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

// TestWatchNamesAsPlan: the event for a route or rule Apply wrote, and for
// one it pruned, names it exactly as the Change of the Plan did.
func TestWatchNamesAsPlan(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "va")
	n.Run(t, "ip", "addr", "add", "2001:db8::10/64", "dev", "va", "nodad")
	n.Run(t, "ip", "link", "set", "vb", "up")
	n.Run(t, "ip", "link", "set", "va", "up")
	ch := watchStart(t, n.Namespace)
	ctx := context.Background()
	pfx, ip := netip.MustParsePrefix, netip.MustParseAddr
	routes := []route.Spec{
		{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1"), Link: "va", Table: 100, Metric: 10},
		{Destination: pfx("198.51.101.0/24"), Gateway: ip("192.0.2.1"), Link: "va"},
		{Destination: pfx("198.51.102.0/24"), Link: "va", Source: ip("192.0.2.10"), MTU: 1400},
		{Destination: pfx("198.51.103.0/24"), NextHops: []route.NextHop{{Gateway: ip("192.0.2.1"), Link: "va"}, {Gateway: ip("192.0.2.2"), Link: "va", Weight: 3}}},
		{Destination: pfx("203.0.113.0/24"), Type: route.TypeBlackhole},
		{Destination: pfx("2001:db8:1::/64"), Gateway: ip("2001:db8::1"), Link: "va"},
		{Destination: pfx("192.0.2.99/32"), Type: route.TypeLocal, Link: "va"},
	}
	rules := []route.Rule{
		{Priority: 100, Family: route.FamilyIPv4, FwMark: 0x40, FwMask: 0x60, Table: 180},
		{Priority: 101, From: pfx("2001:db8::/32"), Table: 181, Invert: true},
		{Priority: 102, Family: route.FamilyIPv6, Table: route.TableMain, SuppressPrefixLength: new(0)},
		{Priority: 103, To: pfx("198.51.100.0/24"), IIF: "lo", Action: route.ActionBlackhole},
	}
	for _, step := range []struct {
		name         string
		routes       []route.Spec
		rules        []route.Rule
		wantRoute    int
		wantRule     int
		wantDeletion bool
	}{
		{"add", routes, rules, len(routes), len(rules), false},
		{"prune", routes[:1], rules[:1], len(routes) - 1, len(rules) - 1, true},
	} {
		p, err := route.Apply(ctx, n.Namespace, step.routes, netprim.WithPrune())
		if err != nil {
			t.Fatalf("%s: Apply: %v", step.name, err)
		}
		pr, err := route.ApplyRules(ctx, n.Namespace, step.rules, netprim.WithPrune())
		if err != nil {
			t.Fatalf("%s: ApplyRules: %v", step.name, err)
		}
		p.Merge(pr)
		want := watchtest.FromPlan(p)
		var nRoute, nRule int
		for _, ev := range want {
			if (ev.Action == netprim.Delete) != step.wantDeletion {
				t.Fatalf("%s: plan has %v", step.name, ev)
			}
			if ev.Kind == "route" {
				nRoute++
			} else {
				nRule++
			}
		}
		if nRoute != step.wantRoute || nRule != step.wantRule {
			t.Fatalf("%s: plan\n%s\nhas %d route and %d rule changes, want %d and %d", step.name, p, nRoute, nRule, step.wantRoute, step.wantRule)
		}
		watchExpect(t, ch, want...)
	}
	// A gateway without a link leaves the link to the kernel: the Plan
	// names the route as wanted, the event names the link picked.
	p, err := route.Apply(ctx, n.Namespace, []route.Spec{{Destination: pfx("198.51.104.0/24"), Gateway: ip("192.0.2.1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].Object != "198.51.104.0/24 via 192.0.2.1" {
		t.Fatalf("plan:\n%s", p)
	}
	watchExpect(t, ch, watchEvent(netprim.Add, "route", "198.51.104.0/24 via 192.0.2.1 dev va"))
}
