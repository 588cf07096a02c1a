package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/selector"
)

// TestFailedReplacementKeepsTheOld: the default route moves to a gateway
// that cannot be reached; the new route fails, and the old one stays (its
// deletion waits for the replacement): the host keeps its way out.
func TestFailedReplacementKeepsTheOld(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	s := addSource(t, r, "static", 10)
	a := []addr.Spec{{Link: "veth0", Address: pfx("10.0.0.1/24")}}
	must(t, s.Set(reconcile.State{Addresses: a, Routes: []route.Spec{{Destination: pfx("0.0.0.0/0"), Gateway: ip("10.0.0.254"), Metric: 100}}}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	must(t, s.Set(reconcile.State{Addresses: a, Routes: []route.Spec{{Destination: pfx("0.0.0.0/0"), Gateway: ip("10.9.9.9"), Metric: 200}}}))
	p, err := r.Apply(ctx)
	if err == nil {
		t.Fatalf("unreachable gateway applied: %v", p)
	}
	if got := ipRoutes(t, n, "route", "show", "default"); !slices.Equal(got, []string{"default via 10.0.0.254 metric 100 proto 78"}) {
		t.Errorf("default routes after a failed replacement: %v (plan %v)", got, p)
	}
	st, _ := r.Status().Stage(reconcile.StageRoutes)
	if st.PruneSkipped != "stage failed" {
		t.Errorf("routes PruneSkipped = %q", st.PruneSkipped)
	}
}

// TestDeferredPruneWaitsForEarlierFailure: an address moves from link a0
// to b0 but the addresses stage fails (another address is on a missing
// link); a later pass that runs only the links stage must not delete a0
// while the addresses stage is still failing.
func TestDeferredPruneWaitsForEarlierFailure(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	r := newReconciler(t, n, reconcile.WithResync(time.Hour), reconcile.WithRetry(time.Hour, time.Hour))
	s := addSource(t, r, "static", 10)
	veth := func(name, peer string) reconcile.Link {
		return reconcile.Link{Spec: link.Spec{Name: name, Kind: "veth", Veth: &link.Veth{Peer: peer}, Up: up()}}
	}
	must(t, s.Set(reconcile.State{Links: []reconcile.Link{veth("a0", "a1")}, Addresses: []addr.Spec{{Link: "a0", Address: pfx("10.1.0.1/24")}}}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	must(t, s.Set(reconcile.State{Links: []reconcile.Link{veth("b0", "b1")},
		Addresses: []addr.Spec{{Link: "b0", Address: pfx("10.1.0.1/24")}, {Link: "nope0", Address: pfx("10.2.0.1/24")}}}))
	if _, err := r.Apply(ctx); err == nil {
		t.Fatal("no error for the address on a missing link")
	}
	if !n.HasLink(t, "a0") {
		t.Fatal("a0 deleted although the addresses stage failed")
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	must(t, r.Start(cctx))
	r.Trigger(reconcile.StageLinks)
	time.Sleep(300 * time.Millisecond)
	if !n.HasLink(t, "a0") {
		t.Error("a0 deleted by a links-only pass while the addresses stage still fails")
	}
}

// TestUnresolvedSelectorPrunesNothing: a link the owner created and now
// selects by its address: when the selector stops matching, the link is
// not pruned.
func TestUnresolvedSelectorPrunesNothing(t *testing.T) {
	n := nstest.New(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{Links: reconcile.Links(link.Spec{Name: "o0", Kind: "veth", Veth: &link.Veth{Peer: "o1"}, HardwareAddr: "02:00:00:00:00:01"})}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	must(t, s.Set(reconcile.State{Links: []reconcile.Link{{Spec: link.Spec{MTU: 1400}, DeviceSelector: &selector.Selector{HardwareAddr: "02:00:00:00:00:01"}}}}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "link", "set", "o0", "address", "02:00:00:00:00:02")
	if _, err := r.Apply(ctx); err == nil || !strings.Contains(err.Error(), "deviceSelector") {
		t.Fatalf("Apply = %v, want the unresolved selector", err)
	}
	if !n.HasLink(t, "o0") {
		t.Error("o0 pruned because its selector did not resolve")
	}
}

// TestPendingSourceBlocksPrune: after a restart, a registered source that
// has not set its state yet (a DHCP client waiting for its lease) keeps
// what the owner has; once it sets its state, pruning resumes.
func TestPendingSourceBlocksPrune(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	if _, err := addr.Apply(ctx, n.Namespace, []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}); err != nil {
		t.Fatal(err)
	}
	r := newReconciler(t, n)
	static := addSource(t, r, "static", 10)
	dhcp := addSource(t, r, "dhcp", 20)
	must(t, static.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth1", Address: pfx("198.51.100.1/24")}}}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ipAddrs(t, n, "veth0"); !slices.Equal(got, []string{"192.0.2.10/24"}) {
		t.Fatalf("the pending source's address was pruned: %v", got)
	}
	must(t, dhcp.Set(reconcile.State{}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ipAddrs(t, n, "veth0"); len(got) != 0 {
		t.Errorf("not pruned once every source set its state: %v", got)
	}
}

// TestNamesMergeNormalized: " veth0" and "veth0" are one link: shadowed,
// not a collision that refuses the stage.
func TestNamesMergeNormalized(t *testing.T) {
	n := vethNS(t)
	r := newReconciler(t, n)
	a := addSource(t, r, "a", 10)
	b := addSource(t, r, "b", 20)
	must(t, a.Set(reconcile.State{Links: reconcile.Links(link.Spec{Name: "veth0", MTU: 1400})}))
	must(t, b.Set(reconcile.State{Links: reconcile.Links(link.Spec{Name: "veth0 ", MTU: 1300})}))
	if _, err := r.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	as, _ := r.Status().Source("a")
	if len(as.Shadowed) != 1 || as.Shadowed[0].By != "b" {
		t.Errorf("a shadowed: %+v", as.Shadowed)
	}
}

// TestTryIgnoresOtherSourcesRefusedSections and does not bring back what
// another source withdrew during the check.
func TestTryAndOtherSources(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	static := addSource(t, r, "static", 10)
	vip := addSource(t, r, "vip", 50)
	dhcp := addSource(t, r, "dhcp", 20)
	must(t, static.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("10.0.0.1/24")}}}))
	must(t, vip.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("10.0.0.100/32")}}}))
	if err := dhcp.Set(reconcile.State{Routes: []route.Spec{{Destination: pfx("0.0.0.0/0")}}}); err == nil {
		t.Fatal("a route with neither gateway nor link accepted")
	}
	r.Apply(ctx)
	// A good change is kept although dhcp's routes are refused.
	_, err := static.Try(ctx, reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("10.0.0.2/24")}}}, time.Second,
		func(context.Context, netprim.Plan) error { return nil })
	if err != nil {
		t.Fatalf("Try = %v", err)
	}
	// The VIP is withdrawn during the check of a failing try: the
	// rollback does not bring it back.
	_, err = static.Try(ctx, reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("10.0.0.3/24")}}}, time.Second,
		func(context.Context, netprim.Plan) error {
			vip.Clear()
			r.Apply(ctx)
			return errLost
		})
	if !errors.Is(err, reconcile.ErrRolledBack) {
		t.Fatalf("Try = %v", err)
	}
	if got := ipAddrs(t, n, "veth0"); !slices.Equal(got, []string{"10.0.0.2/24"}) {
		t.Errorf("after the rollback: %v, want only the kept try's address", got)
	}
}

// TestWithoutPruneSkipsNothing: with pruning off, a failed stage does not
// make its dependents report a skipped prune, nor the pass say so.
func TestWithoutPruneSkipsNothing(t *testing.T) {
	n := vethNS(t)
	r := newReconciler(t, n, reconcile.WithoutPrune())
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{
		Links:     reconcile.Links(link.Spec{Name: "missing0", MTU: 1400}),
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}},
	}))
	_, err := r.Apply(context.Background())
	if err == nil || strings.Contains(err.Error(), "prune skipped") {
		t.Fatalf("Apply = %v, want the links error and no skipped prune", err)
	}
	if st, _ := r.Status().Stage(reconcile.StageAddresses); st.PruneSkipped != "" {
		t.Errorf("addresses PruneSkipped = %q with pruning off", st.PruneSkipped)
	}
}
