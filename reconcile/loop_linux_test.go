package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
)

// TestDriftRepaired: with the Reconciler running, an address deleted, a
// route deleted and an MTU changed with ip(8) are put back, each by the
// stage its event wakes, without waiting for the periodic resync.
func TestDriftRepaired(t *testing.T) {
	n := vethNS(t)
	var mu sync.Mutex
	var passes []reconcile.Pass
	r := newReconciler(t, n, reconcile.WithResync(time.Hour), reconcile.OnPass(func(p reconcile.Pass) {
		mu.Lock()
		passes = append(passes, p)
		mu.Unlock()
	}))
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{
		Links:     reconcile.Links(link.Spec{Name: "veth0", MTU: 1400}),
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1")}},
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, r.Start(ctx))
	converged := func() error {
		var ls []struct {
			MTU int `json:"mtu"`
		}
		n.IPJSON(t, &ls, "link", "show", "veth0")
		if len(ls) != 1 || ls[0].MTU != 1400 {
			return fmt.Errorf("veth0: %+v", ls)
		}
		if got := ipAddrs(t, n, "veth0"); !slices.Equal(got, []string{"192.0.2.10/24"}) {
			return fmt.Errorf("addresses %v", got)
		}
		if got := ipRoutes(t, n, "route", "show", "table", "main"); !slices.Equal(got, []string{"198.51.100.0/24 via 192.0.2.1 proto 78"}) {
			return fmt.Errorf("routes %v", got)
		}
		return nil
	}
	nstest.Eventually(t, 30*time.Second, converged)
	// The watches are in place once the full pass each subscription
	// asks for has run: from then on, events wake the repairs.
	nstest.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		for _, p := range passes {
			for _, w := range p.Why {
				seen[w] = true
			}
		}
		for _, w := range []string{"subscribed links", "subscribed addresses", "subscribed routes"} {
			if !seen[w] {
				return fmt.Errorf("no pass for %q yet", w)
			}
		}
		return nil
	})
	for _, c := range []struct {
		name  string
		cmd   []string
		stage string
	}{
		{"route", []string{"ip", "route", "del", "198.51.100.0/24"}, reconcile.StageRoutes},
		{"address", []string{"ip", "addr", "del", "192.0.2.10/24", "dev", "veth0"}, reconcile.StageAddresses},
		{"mtu", []string{"ip", "link", "set", "veth0", "mtu", "1500"}, reconcile.StageLinks},
	} {
		mu.Lock()
		before := len(passes)
		mu.Unlock()
		n.Run(t, c.cmd[0], c.cmd[1:]...)
		nstest.Eventually(t, 30*time.Second, func() error {
			if err := converged(); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range passes[before:] {
				// Woken by the change's own event, or by the resync the
				// route watcher reports when the kernel removed routes
				// silently (an address takes its routes along); never by
				// the periodic resync, an hour away.
				woken := slices.ContainsFunc(p.Why, func(w string) bool {
					return strings.HasPrefix(w, "event ") || strings.HasPrefix(w, "resync ")
				})
				if !p.Changes.Empty() && slices.Contains(p.Stages, c.stage) && woken {
					return nil
				}
			}
			return fmt.Errorf("%s: no pass woken by an event repaired it; passes: %+v", c.name, passes[before:])
		})
	}
}

// TestCloseStopsEverything: Close (and the end of Start's context) stops
// every goroutine the Reconciler started, and waits for none of its
// timers: when it is called a pass is pending behind a rate limit of one
// pass in 100 s and the next resync is an hour away, so returning in
// seconds rather than minutes shows that it interrupts those waits.
func TestCloseStopsEverything(t *testing.T) {
	n := vethNS(t)
	ignore := goleak.IgnoreCurrent()
	for _, how := range []string{"close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			r, err := reconcile.New(n.Namespace, reconcile.WithRoot(t.TempDir()),
				reconcile.WithResync(time.Hour), reconcile.WithRateLimit(0.01, 1))
			if err != nil {
				t.Fatal(err)
			}
			s := addSource(t, r, "static", 10)
			must(t, s.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			must(t, r.Start(ctx))
			nstest.Eventually(t, 30*time.Second, func() error {
				if r.Status().Passes == 0 {
					return fmt.Errorf("no pass yet")
				}
				return nil
			})
			// The next pass waits for the rate limiter.
			must(t, s.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.11/24")}}}))
			start := time.Now()
			if how == "close" {
				must(t, r.Close())
			} else {
				cancel()
				<-r.Done()
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("%s took %v: it waited for the rate limiter", how, d)
			}
			if err := goleak.Find(ignore); err != nil {
				t.Error(err)
			}
			r.Close()
		})
	}
}

// countingStage is a product's stage that records when it runs and can
// be made to leave a difference behind (verify).
type countingStage struct {
	mu      sync.Mutex
	applies int
	sawAddr bool
	stuck   bool // Plan keeps reporting a change
	n       *nstest.NS
	t       *testing.T
}

func (c *countingStage) Name() string     { return "product" }
func (c *countingStage) After() []string  { return []string{reconcile.StageAddresses} }
func (c *countingStage) WakeOn() []string { return []string{reconcile.WakeAddress} }
func (c *countingStage) Plan(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p netprim.Plan
	if c.stuck || c.applies == 0 {
		p.Append(netprim.Change{Action: netprim.Modify, Kind: "widget", Object: "w0", Field: "level", From: "1", To: "2"})
	}
	return p, nil
}
func (c *countingStage) Apply(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error) {
	p, _ := c.Plan(ctx, ns, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applies++
	as, err := addr.List(ctx, ns)
	if err != nil {
		return p, err
	}
	for _, a := range as {
		if a.Address == pfx("192.0.2.10/24") {
			c.sawAddr = true
		}
	}
	return p, nil
}

// TestProductStage: a product's stage runs after the stages it names
// (it sees their objects), and what its Plan still reports after its
// Apply is a VerifyError.
func TestProductStage(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	cs := &countingStage{n: n, t: t}
	r := newReconciler(t, n, reconcile.WithStage(cs))
	if got := r.Stages(); got[len(got)-1] != "product" || !slices.Contains(got, reconcile.StageFiles) {
		t.Errorf("stages %v", got)
	}
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}}))
	p, err := r.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cs.sawAddr {
		t.Error("the product stage ran before the addresses stage")
	}
	if got := p.Changes[len(p.Changes)-1].String(); got != "~ widget w0 level 1 -> 2" {
		t.Errorf("last change %q", got)
	}
	cs.stuck = true
	cs.applies = 0
	_, err = r.Apply(ctx)
	var ve *reconcile.VerifyError
	if !errorsAs(err, &ve) || ve.Stage != "product" || len(ve.Changes) != 1 {
		t.Fatalf("Apply = %v, want a VerifyError of the product stage", err)
	}
	st, _ := r.Status().Stage("product")
	if len(st.Unverified) != 1 || st.LastError == nil {
		t.Errorf("status %+v", st)
	}
	// A cycle and an unknown dependency are refused.
	if _, err := reconcile.New(n.Namespace, reconcile.WithStage(badStage{after: "nosuch"})); err == nil {
		t.Error("unknown dependency accepted")
	}
	if _, err := reconcile.New(n.Namespace, reconcile.WithStage(badStage{name: reconcile.StageRoutes})); err == nil {
		t.Error("a built-in stage name accepted")
	}
}

type badStage struct{ name, after string }

func (b badStage) Name() string {
	if b.name != "" {
		return b.name
	}
	return "bad"
}
func (b badStage) After() []string {
	if b.after == "" {
		return nil
	}
	return []string{b.after}
}
func (badStage) WakeOn() []string { return nil }
func (badStage) Plan(context.Context, *netprim.Namespace, ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, nil
}
func (badStage) Apply(context.Context, *netprim.Namespace, ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, nil
}

// TestPlanIsTheDryRun: Plan reports what Apply then does, including
// addresses and routes on a link still to be created, and nothing after.
func TestPlanIsTheDryRun(t *testing.T) {
	n := nstest.New(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{
		Links: reconcile.Links(
			link.Spec{Name: "lo", Up: up()},
			link.Spec{Name: "va", Kind: "veth", Veth: &link.Veth{Peer: "vb"}, MTU: 1400, Up: up()},
		),
		Addresses: []addr.Spec{{Link: "va", Address: pfx("192.0.2.1/24")}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.2"), Metric: 100}},
	}))
	plan, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := r.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(p netprim.Plan) []string {
		var out []string
		for _, c := range p.Changes {
			out = append(out, c.Action.String()+" "+c.Kind)
		}
		return out
	}
	if !slices.Contains(kinds(plan), "+ address") || !slices.Contains(kinds(plan), "+ route") {
		t.Errorf("plan %v lacks the address or route on the new link", plan)
	}
	for _, c := range []string{"+ link", "+ address", "+ route"} {
		if !slices.Contains(kinds(applied), c) {
			t.Errorf("applied %v lacks %s", applied, c)
		}
	}
	plan, err = r.Plan(ctx)
	if err != nil || !plan.Empty() {
		t.Errorf("plan after apply: %v, %v", plan, err)
	}
}

// TestFirewallAndFileDriftRepaired: the owned nftables table deleted with
// nft(8) and a managed file overwritten by hand are put back, woken by
// firewall.Watch and resolv.Watch.
func TestFirewallAndFileDriftRepaired(t *testing.T) {
	n := vethNS(t)
	requireNftInet(t, n)
	root := t.TempDir()
	r := newReconciler(t, n, reconcile.WithRoot(root), reconcile.WithResync(time.Hour))
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{
		Firewall:  &firewall.Spec{DefaultAction: firewall.DefaultAccept, Rules: []firewall.Rule{{Name: "no-telnet", Protocol: "tcp", Ports: []string{"23"}, Action: firewall.Drop}}},
		Resolvers: &resolvSpec,
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, r.Start(ctx))
	conf := filepath.Join(root, "etc", "resolv.conf")
	converged := func() error {
		if _, err := n.Exec("nft", "list", "table", "inet", "netprim"); err != nil {
			return err
		}
		b, err := os.ReadFile(conf)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "nameserver 192.0.2.53") {
			return fmt.Errorf("resolv.conf: %q", b)
		}
		return nil
	}
	nstest.Eventually(t, 30*time.Second, converged)
	n.Run(t, "nft", "delete", "table", "inet", "netprim")
	nstest.Eventually(t, 30*time.Second, converged)
	must(t, os.WriteFile(conf, []byte("nameserver 203.0.113.1\n"), 0o644))
	nstest.Eventually(t, 30*time.Second, converged)
	for _, stage := range []string{reconcile.StageFirewall, reconcile.StageFiles} {
		st, _ := r.Status().Stage(stage)
		if st.Runs < 2 || st.LastError != nil {
			t.Errorf("%s: %d runs, error %v", stage, st.Runs, st.LastError)
		}
	}
}

// TestLinkRecreatedWithItsObjects: a link the Reconciler created, deleted
// behind its back, comes back with its addresses and routes.
func TestLinkRecreatedWithItsObjects(t *testing.T) {
	n := nstest.New(t)
	r := newReconciler(t, n, reconcile.WithResync(time.Hour))
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{
		Links:     reconcile.Links(link.Spec{Name: "va", Kind: "veth", Veth: &link.Veth{Peer: "vb"}, Up: up()}, link.Spec{Name: "vb", Up: up()}),
		Addresses: []addr.Spec{{Link: "va", Address: pfx("192.0.2.10/24")}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1")}},
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, r.Start(ctx))
	converged := func() error {
		if !n.HasLink(t, "va") {
			return fmt.Errorf("va missing")
		}
		if got := ipAddrs(t, n, "va"); !slices.Equal(got, []string{"192.0.2.10/24"}) {
			return fmt.Errorf("addresses %v", got)
		}
		if got := ipRoutes(t, n, "route", "show", "table", "main"); !slices.Equal(got, []string{"198.51.100.0/24 via 192.0.2.1 proto 78"}) {
			return fmt.Errorf("routes %v", got)
		}
		return nil
	}
	nstest.Eventually(t, 30*time.Second, converged)
	for range 3 {
		n.Run(t, "ip", "link", "del", "va")
		nstest.Eventually(t, 30*time.Second, converged)
	}
}

// TestBurstCoalesced: 300 routes deleted at once by one ip -batch are
// repaired by a few passes, not one per event: events that arrive during a
// pass are coalesced into the next, and passes never exceed the rate
// limit (here 5/s, bursts of 2). A Watch resync (likely with the small
// receive buffer) runs every stage.
func TestBurstCoalesced(t *testing.T) {
	n := vethNS(t)
	var mu sync.Mutex
	var passes []reconcile.Pass
	r := newReconciler(t, n, reconcile.WithResync(time.Hour), reconcile.WithWatchOptions(netprim.WatchBufferSize(16<<10)),
		reconcile.WithRateLimit(5, 2),
		reconcile.OnPass(func(p reconcile.Pass) {
			mu.Lock()
			passes = append(passes, p)
			mu.Unlock()
		}))
	s := addSource(t, r, "static", 10)
	st := reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}}
	var batch strings.Builder
	for i := range 300 {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 20, byte(i >> 8), byte(i)}), 32)
		st.Routes = append(st.Routes, route.Spec{Destination: dst, Gateway: ip("192.0.2.1")})
		fmt.Fprintf(&batch, "route del %s\n", dst)
	}
	must(t, s.Set(st))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, r.Start(ctx))
	count := func() error {
		if got := len(ipRoutes(t, n, "route", "show", "table", "main")); got != 300 {
			return fmt.Errorf("%d routes", got)
		}
		return nil
	}
	nstest.Eventually(t, 30*time.Second, count)
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	before := len(passes)
	mu.Unlock()
	f := filepath.Join(t.TempDir(), "batch")
	must(t, os.WriteFile(f, []byte(batch.String()), 0o644))
	start := time.Now()
	n.Run(t, "ip", "-batch", f)
	nstest.Eventually(t, 30*time.Second, count)
	time.Sleep(500 * time.Millisecond) // let the echo passes of the repair finish
	mu.Lock()
	defer mu.Unlock()
	burst := passes[before:]
	limit := 2 + int(5*time.Since(start).Seconds()) + 1
	if len(burst) == 0 || len(burst) > limit {
		t.Errorf("%d passes for a burst of 300 events in %v, want 1..%d", len(burst), time.Since(start), limit)
	}
	for _, p := range burst {
		for _, w := range p.Why {
			if strings.HasPrefix(w, "resync ") && len(p.Stages) != len(r.Stages()) {
				t.Errorf("a pass after a Watch resync ran %v, not every stage", p.Stages)
			}
		}
	}
	t.Logf("%d passes: %v", len(burst), func() (out []string) {
		for _, p := range burst {
			out = append(out, fmt.Sprintf("%v %d changes", p.Why, len(p.Changes.Changes)))
		}
		return
	}())
}

// flakyStage fails its first failures runs, recording when it ran.
type flakyStage struct {
	mu       sync.Mutex
	failures int
	runs     []time.Time
}

func (f *flakyStage) Name() string     { return "flaky" }
func (f *flakyStage) After() []string  { return nil }
func (f *flakyStage) WakeOn() []string { return nil }
func (f *flakyStage) Plan(context.Context, *netprim.Namespace, ...netprim.Option) (netprim.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p netprim.Plan
	if len(f.runs) <= f.failures {
		p.Append(netprim.Change{Action: netprim.Add, Kind: "widget", Object: "w0"})
	}
	return p, nil
}
func (f *flakyStage) Apply(context.Context, *netprim.Namespace, ...netprim.Option) (netprim.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, time.Now())
	if len(f.runs) <= f.failures {
		return netprim.Plan{}, errors.New("not yet")
	}
	var p netprim.Plan
	p.Append(netprim.Change{Action: netprim.Add, Kind: "widget", Object: "w0"})
	return p, nil
}

// TestRetryBackoff: a failing stage is retried by itself, with waits that
// grow (exponential backoff with jitter), until it succeeds; then retries
// stop.
func TestRetryBackoff(t *testing.T) {
	n := nstest.New(t)
	f := &flakyStage{failures: 4}
	r := newReconciler(t, n, reconcile.WithStage(f), reconcile.WithResync(time.Hour), reconcile.WithRetry(20*time.Millisecond, time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, r.Start(ctx))
	nstest.Eventually(t, 30*time.Second, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.runs) < 5 {
			return fmt.Errorf("%d runs", len(f.runs))
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	// The first runs may come from the start and the subscriptions'
	// full passes; the retries follow the last failure.
	if len(f.runs) > 8 {
		t.Errorf("%d runs: retries go on after success", len(f.runs))
	}
	var gaps []time.Duration
	for i := 1; i < len(f.runs); i++ {
		gaps = append(gaps, f.runs[i].Sub(f.runs[i-1]))
	}
	// Jitter is ±50%: from 20 ms doubling, the fourth wait (≥ 80 ms)
	// is always longer than the first (≤ 30 ms).
	last := gaps[len(gaps)-1]
	if last < 40*time.Millisecond {
		t.Errorf("waits between runs %v: the last is not backed off", gaps)
	}
	st, _ := r.Status().Stage("flaky")
	if st.LastError != nil {
		t.Errorf("flaky still failing: %v", st.LastError)
	}
}
