package reconcile_test

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
)

// BenchmarkDriftRepair measures how fast a running Reconciler repairs a
// change made behind its back through a separate netlink socket (as ip(8)
// would): a route deleted, an address deleted, the link's MTU changed.
// Each op is one trial of each kind. An independent subscriber (its own
// netlink subscriptions through the packages' Watch) timestamps the
// external change's kernel event and the repair's event; the difference is
// the repair latency, reported as p50-ms and p99-ms per kind and over all
// trials. pass-p50-ms is the median duration of the repairing pass itself
// (its dump, diff and write): the floor of any repair done by re-reading
// the kernel. Trials are spaced 110 ms apart so that the default rate
// limit (20 passes/s, each repair causes one repair pass and one no-op
// pass for its own echo) is never what is measured.
//
//	go test -run '^$' -bench DriftRepair -benchtime 200x ./reconcile/
func BenchmarkDriftRepair(b *testing.B) {
	n := nstest.New(b)
	ctx := context.Background()
	n.Run(b, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(b, "ip", "link", "set", "veth1", "up")
	var mu sync.Mutex
	var passDur []time.Duration
	r, err := reconcile.New(n.Namespace, reconcile.WithResync(time.Hour), reconcile.OnPass(func(p reconcile.Pass) {
		if !p.Changes.Empty() {
			mu.Lock()
			passDur = append(passDur, p.Duration)
			mu.Unlock()
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	src, _ := r.AddSource("static", 10)
	dst := netip.MustParsePrefix("198.51.100.0/24")
	address := netip.MustParsePrefix("192.0.2.10/24")
	if err := src.Set(reconcile.State{
		Links:     reconcile.Links(link.Spec{Name: "veth0", MTU: 1400, Up: up()}),
		Addresses: []addr.Spec{{Link: "veth0", Address: address}},
		Routes:    []route.Spec{{Destination: dst, Gateway: netip.MustParseAddr("192.0.2.1")}},
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := r.Apply(ctx); err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The independent subscriber.
	events := make(chan stamped, 1024)
	for _, w := range []func(context.Context, *netprim.Namespace, ...netprim.WatchOption) (<-chan netprim.Event, error){link.Watch, addr.Watch, route.Watch} {
		ch, err := w(wctx, n.Namespace)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for ev := range ch {
				events <- stamped{ev, time.Now()}
			}
		}()
	}
	if err := r.Start(wctx); err != nil {
		b.Fatal(err)
	}
	h, err := netlink.NewHandleAt(nsHandle(b, n))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	veth0, err := h.LinkByName("veth0")
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	drain(events)
	lat := map[string][]time.Duration{}
	kinds := []struct {
		name   string
		change func() error
		gone   func(netprim.Event) bool // the external change's event
		back   func(netprim.Event) bool // the repair's event
	}{
		{"route",
			func() error { return h.RouteDel(&netlink.Route{Dst: toIPNet(dst), LinkIndex: veth0.Attrs().Index}) },
			func(e netprim.Event) bool {
				return e.Kind == "route" && e.Action == netprim.Delete && strings.HasPrefix(e.Object, dst.String()+" ")
			},
			func(e netprim.Event) bool {
				return e.Kind == "route" && e.Action == netprim.Add && strings.HasPrefix(e.Object, dst.String()+" ")
			}},
		{"address",
			func() error {
				return h.AddrDel(veth0, &netlink.Addr{IPNet: toIPNet(address)})
			},
			func(e netprim.Event) bool {
				return e.Kind == "address" && e.Action == netprim.Delete && strings.HasPrefix(e.Object, address.String()+" ")
			},
			func(e netprim.Event) bool {
				return e.Kind == "address" && e.Action == netprim.Add && strings.HasPrefix(e.Object, address.String()+" ")
			}},
		{"mtu",
			func() error { return h.LinkSetMTU(veth0, 1500) },
			func(e netprim.Event) bool { return e.Kind == "link" && strings.HasPrefix(e.Object, "veth0") },
			func(e netprim.Event) bool { return e.Kind == "link" && strings.HasPrefix(e.Object, "veth0") }},
	}
	b.ResetTimer()
	for range b.N {
		for _, k := range kinds {
			time.Sleep(110 * time.Millisecond)
			drain(events)
			if err := k.change(); err != nil {
				b.Fatalf("%s: %v", k.name, err)
			}
			t0, ok := waitFor(events, k.gone, 2*time.Second)
			if !ok {
				b.Fatalf("%s: no event of the change", k.name)
			}
			t1, ok := waitFor(events, k.back, 2*time.Second)
			if !ok {
				b.Fatalf("%s: not repaired within 2s", k.name)
			}
			lat[k.name] = append(lat[k.name], t1.Sub(t0))
		}
	}
	b.StopTimer()
	var all []time.Duration
	for _, k := range kinds {
		d := lat[k.name]
		all = append(all, d...)
		b.ReportMetric(ms(pct(d, 50)), k.name+"-p50-ms")
		b.ReportMetric(ms(pct(d, 99)), k.name+"-p99-ms")
	}
	b.ReportMetric(ms(pct(all, 50)), "p50-ms")
	b.ReportMetric(ms(pct(all, 99)), "p99-ms")
	mu.Lock()
	b.ReportMetric(ms(pct(passDur, 50)), "pass-p50-ms")
	mu.Unlock()
	b.ReportMetric(float64(len(all)), "trials")
}

type stamped struct {
	ev netprim.Event
	at time.Time
}

func drain(ch chan stamped) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func waitFor(ch chan stamped, match func(netprim.Event) bool, timeout time.Duration) (time.Time, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case s := <-ch:
			if match(s.ev) {
				return s.at, true
			}
		case <-deadline:
			return time.Time{}, false
		}
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkResync measures a full pass with nothing to change over 200
// links, 1,000 addresses, 10,000 routes and a 10,000-rule firewall:
// resync-ms per pass and writes/op (must be 0). The anchors, in the same
// run: lists-ms, the packages' List of the same links, addresses and
// routes (one dump each; the floor of any pass that re-reads the kernel),
// and ip-ms, ip(8) reading them (ip -batch with link, address and route
// show, IPv4 routes only).
//
//	go test -run '^$' -bench Resync -benchtime 20x ./reconcile/
func BenchmarkResync(b *testing.B) {
	n := nstest.New(b)
	requireNftInet(b, n)
	ctx := context.Background()
	var writes int64
	r, err := reconcile.New(n.Namespace, reconcile.WithApplyOptions(netprim.WithWriteCounter(&writes)))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	src, _ := r.AddSource("static", 10)
	st := resyncState()
	if err := src.Set(st); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := r.Apply(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("first pass (creates everything): %v", time.Since(start))
	if _, err := r.Apply(ctx); err != nil { // the firewall cache records the generation
		b.Fatal(err)
	}
	writes = 0
	b.ResetTimer()
	for range b.N {
		p, err := r.Apply(ctx)
		if err != nil || !p.Empty() {
			b.Fatalf("no-op pass: %v, %v", p, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	b.ReportMetric(ms(b.Elapsed())/float64(b.N), "resync-ms")

	var lists time.Duration
	for range b.N {
		t := time.Now()
		if _, err := link.List(ctx, n.Namespace, link.WithoutEthtool()); err != nil {
			b.Fatal(err)
		}
		if _, err := addr.List(ctx, n.Namespace); err != nil {
			b.Fatal(err)
		}
		if _, err := route.List(ctx, n.Namespace); err != nil {
			b.Fatal(err)
		}
		lists += time.Since(t)
	}
	b.ReportMetric(ms(lists)/float64(b.N), "lists-ms")
	var ipt time.Duration
	for range b.N {
		t := time.Now()
		cmd := exec.Command("ip", "-n", n.Name, "-j", "-batch", "-")
		cmd.Stdin = strings.NewReader("link show\naddress show\nroute show table all\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ip -batch: %v: %.300s", err, out)
		}
		ipt += time.Since(t)
	}
	b.ReportMetric(ms(ipt)/float64(b.N), "ip-ms")
}

// resyncState is 100 veth pairs (200 links) with 5 addresses each (1,000),
// 10,000 routes and 10,000 firewall rules.
func resyncState() reconcile.State {
	var st reconcile.State
	for i := range 100 {
		a, bb := fmt.Sprintf("ra%d", i), fmt.Sprintf("rb%d", i)
		st.Links = append(st.Links, reconcile.Link{Spec: link.Spec{Name: a, Kind: "veth", Veth: &link.Veth{Peer: bb}, Up: up()}},
			reconcile.Link{Spec: link.Spec{Name: bb, Up: up()}})
		for j := range 5 {
			dev := a
			if j >= 3 {
				dev = bb
			}
			st.Addresses = append(st.Addresses, addr.Spec{Link: dev, Address: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(j), 1}), 24)})
		}
	}
	for i := range 10000 {
		gw := i % 100
		st.Routes = append(st.Routes, route.Spec{
			Destination: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16 + byte(i>>8), byte(i), 0}), 24),
			Gateway:     netip.AddrFrom4([4]byte{10, byte(gw), 0, 2}),
		})
	}
	fw := &firewall.Spec{Table: "resync", DefaultAction: firewall.DefaultBlock}
	for i := range 10000 {
		fw.Rules = append(fw.Rules, firewall.Rule{
			Name: fmt.Sprintf("r%05d", i), Protocol: "tcp", Ports: []string{fmt.Sprint(1024 + i)},
			Subnets: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 128 + byte(i>>8), byte(i), 0}), 24)},
			Action:  firewall.Accept,
		})
	}
	st.Firewall = fw
	return st
}

// BenchmarkClose measures how long Close takes to stop a running
// Reconciler — its loop, its five subscriptions and a pass pending behind
// the rate limiter — and reports close-p50-ms and close-p99-ms (the
// target: every goroutine stopped within 100 ms; TestCloseStopsEverything
// proves with goleak that none is left).
//
//	go test -run '^$' -bench Close -benchtime 50x ./reconcile/
func BenchmarkClose(b *testing.B) {
	n := nstest.New(b)
	n.Run(b, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	var d []time.Duration
	for i := range b.N {
		r, err := reconcile.New(n.Namespace, reconcile.WithRoot(b.TempDir()), reconcile.WithResync(time.Hour), reconcile.WithRateLimit(0.01, 1))
		if err != nil {
			b.Fatal(err)
		}
		s, _ := r.AddSource("static", 10)
		s.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.10/24")}}})
		if err := r.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		for r.Status().Passes == 0 {
			time.Sleep(time.Millisecond)
		}
		s.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(11 + i%200)}), 24)}}})
		start := time.Now()
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.ReportMetric(ms(pct(d, 50)), "close-p50-ms")
	b.ReportMetric(ms(pct(d, 99)), "close-p99-ms")
}
