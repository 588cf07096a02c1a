package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
)

// TestMergeByPriority: two sources contribute the same address (same key:
// link and host address) with different metrics; the higher priority's is
// in the kernel and Status names the shadowed one. Objects of distinct
// keys from both sources are all applied.
func TestMergeByPriority(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	static := addSource(t, r, "static", 10)
	dhcp := addSource(t, r, "dhcp", 20)
	if err := static.Set(reconcile.State{Addresses: []addr.Spec{
		{Link: "veth0", Address: pfx("192.0.2.10/24"), Metric: 100},
		{Link: "veth0", Address: pfx("198.51.100.1/24")},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := dhcp.Set(reconcile.State{
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24"), Metric: 200}},
		Routes:    []route.Spec{{Destination: pfx("0.0.0.0/0"), Gateway: ip("192.0.2.1"), Metric: 200}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.10/24 metric 200", "198.51.100.1/24"}
	if diff := cmp.Diff(want, ipAddrs(t, n, "veth0")); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"default via 192.0.2.1 metric 200 proto 78"}, ipRoutes(t, n, "route", "show", "table", "main")); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	st := r.Status()
	ss, _ := st.Source("static")
	wantShadow := []reconcile.Shadow{{Kind: "address", Object: "192.0.2.10 dev veth0", By: "dhcp"}}
	if diff := cmp.Diff(wantShadow, ss.Shadowed); diff != "" {
		t.Errorf("static shadowed (-want +got):\n%s", diff)
	}
	ds, _ := st.Source("dhcp")
	if len(ds.Shadowed) != 0 {
		t.Errorf("dhcp shadowed: %v", ds.Shadowed)
	}
	if !slices.Contains(ds.Objects, "route 0.0.0.0/0 table main metric 200") {
		t.Errorf("dhcp objects %v lack its route", ds.Objects)
	}

	// The higher priority withdraws: the lower one's version is applied,
	// changed in place.
	dhcp.Clear()
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	want = []string{"192.0.2.10/24 metric 100", "198.51.100.1/24"}
	if diff := cmp.Diff(want, ipAddrs(t, n, "veth0")); diff != "" {
		t.Errorf("after clear, addresses (-want +got):\n%s", diff)
	}
	if got := ipRoutes(t, n, "route", "show", "table", "main"); len(got) != 0 {
		t.Errorf("dhcp's route not pruned: %v", got)
	}
}

// TestOnePruner: each source's objects survive the others' updates; only
// what no source wants any more is pruned, and nothing the owner did not
// create (a route added with ip, an address of another owner).
func TestOnePruner(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	static := addSource(t, r, "static", 10)
	vip := addSource(t, r, "vip", 50)
	n.Run(t, "ip", "route", "add", "203.0.113.0/24", "dev", "veth0") // proto boot: foreign
	if _, err := addr.Apply(ctx, n.Namespace, []addr.Spec{{Link: "veth1", Address: pfx("10.9.9.9/32")}},
		netprim.WithOwner(netprim.Owner{ID: 99})); err != nil { // another owner
		t.Fatal(err)
	}
	must(t, static.Set(reconcile.State{
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1")}},
	}))
	must(t, vip.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.50/32")}}}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.10/24", "192.0.2.50/32"}, ipAddrs(t, n, "veth0")); diff != "" {
		t.Fatalf("addresses (-want +got):\n%s", diff)
	}
	// The static source changes its routes: the VIP stays.
	must(t, static.Set(reconcile.State{
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/25"), Gateway: ip("192.0.2.1")}},
	}))
	p, err := r.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.10/24", "192.0.2.50/32"}, ipAddrs(t, n, "veth0")); diff != "" {
		t.Errorf("after the static update, addresses (-want +got):\n%s", diff)
	}
	wantRoutes := []string{"198.51.100.0/25 via 192.0.2.1 proto 78", "203.0.113.0/24 proto boot"}
	if diff := cmp.Diff(wantRoutes, ipRoutes(t, n, "route", "show", "table", "main")); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	for _, c := range p.Changes {
		if c.Kind == "address" {
			t.Errorf("static's route update changed an address: %v", c)
		}
	}
	// The VIP is released: only it goes.
	vip.Clear()
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.10/24"}, ipAddrs(t, n, "veth0")); diff != "" {
		t.Errorf("after the VIP's release, addresses (-want +got):\n%s", diff)
	}
	if got := ipAddrs(t, n, "veth1"); !slices.Equal(got, []string{"10.9.9.9/32"}) {
		t.Errorf("another owner's address: %v", got)
	}
}

// TestInvalidSourceKeepsLastGood: a source sends an invalid address; its
// error names the source and the field, its last valid addresses stay in
// the kernel (nothing deleted because of it), and its valid sections and
// the other sources go on.
func TestInvalidSourceKeepsLastGood(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	r := newReconciler(t, n)
	dhcp := addSource(t, r, "dhcp", 20)
	other := addSource(t, r, "other", 10)
	must(t, dhcp.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}}))
	must(t, other.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth1", Address: pfx("192.0.2.20/24")}}}))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	err := dhcp.Set(reconcile.State{
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.11/24"), Scope: "planet"}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1")}},
	})
	var se *reconcile.SourceError
	if !errors.As(err, &se) || se.Source != "dhcp" || se.Section != "addresses" || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), "scope") {
		t.Fatalf("Set = %v, want a SourceError of dhcp's addresses naming the scope field", err)
	}
	must(t, other.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth1", Address: pfx("192.0.2.21/24")}}}))
	_, err = r.Apply(ctx)
	if err == nil || !strings.Contains(err.Error(), "addresses: source dhcp: ") || !strings.Contains(err.Error(), "scope") {
		t.Fatalf("Apply = %v, want the addresses stage to report dhcp's bad field", err)
	}
	if got := ipAddrs(t, n, "veth0"); !slices.Equal(got, []string{"192.0.2.10/24"}) {
		t.Errorf("dhcp's last valid address: %v", got)
	}
	if got := ipAddrs(t, n, "veth1"); !slices.Equal(got, []string{"192.0.2.21/24"}) {
		t.Errorf("the other source's update: %v", got)
	}
	if got := ipRoutes(t, n, "route", "show", "table", "main"); !slices.Equal(got, []string{"198.51.100.0/24 via 192.0.2.1 proto 78"}) {
		t.Errorf("dhcp's valid routes section: %v", got)
	}
	st, _ := r.Status().Stage(reconcile.StageAddresses)
	if st.LastError == nil || st.LastSuccess.IsZero() {
		t.Errorf("addresses status: error %v, last success %v", st.LastError, st.LastSuccess)
	}
	if rs, _ := r.Status().Stage(reconcile.StageRoutes); rs.LastError != nil {
		t.Errorf("routes stage error: %v", rs.LastError)
	}
}

// TestInvalidFirstSetPrunesNothing: a source whose very first addresses
// are invalid keeps the stage from pruning: addresses of the owner left
// by an earlier run stay until the source sends valid ones.
func TestInvalidFirstSetPrunesNothing(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	// An earlier run left an owned address.
	if _, err := addr.Apply(ctx, n.Namespace, []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}); err != nil {
		t.Fatal(err)
	}
	r := newReconciler(t, n)
	s := addSource(t, r, "dhcp", 20)
	if err := s.Set(reconcile.State{Addresses: []addr.Spec{{Link: "", Address: pfx("192.0.2.10/24")}}}); err == nil {
		t.Fatal("Set accepted an address without link")
	}
	if _, err := r.Apply(ctx); err == nil {
		t.Fatal("Apply: no error for the refused section")
	}
	if got := ipAddrs(t, n, "veth0"); !slices.Equal(got, []string{"192.0.2.10/24"}) {
		t.Errorf("owned address pruned although the only source's addresses were refused: %v", got)
	}
	st, _ := r.Status().Stage(reconcile.StageAddresses)
	if !strings.Contains(st.PruneSkipped, "dhcp") {
		t.Errorf("PruneSkipped = %q", st.PruneSkipped)
	}
}

// TestFailedStageDoesNotBlockOthers: the links stage fails (a link that
// does not exist and has no kind); stages that do not depend on it
// (files) succeed, and dependent stages still apply what they can but do
// not prune.
func TestFailedStageDoesNotBlockOthers(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	root := t.TempDir()
	// An owned route from an earlier run: must survive, since the routes
	// stage depends on the failed links stage.
	if _, err := route.Apply(ctx, n.Namespace, []route.Spec{{Destination: pfx("203.0.113.0/24"), Link: "veth0"}}); err != nil {
		t.Fatal(err)
	}
	r := newReconciler(t, n, reconcile.WithRoot(root))
	s := addSource(t, r, "static", 10)
	must(t, s.Set(reconcile.State{
		Links:     reconcile.Links(link.Spec{Name: "missing0", MTU: 1400}, link.Spec{Name: "veth0", MTU: 1400}),
		Addresses: []addr.Spec{{Link: "veth1", Address: pfx("192.0.2.20/24")}},
		Hosts:     nil,
		Resolvers: &resolvSpec,
	}))
	_, err := r.Apply(ctx)
	var se *reconcile.StageError
	if !errors.As(err, &se) || se.Stage != reconcile.StageLinks || !strings.Contains(err.Error(), "missing0") {
		t.Fatalf("Apply = %v, want a links StageError naming missing0", err)
	}
	var ls []struct {
		MTU int `json:"mtu"`
	}
	n.IPJSON(t, &ls, "link", "show", "veth0")
	if len(ls) != 1 || ls[0].MTU != 1400 {
		t.Errorf("veth0 mtu: %+v", ls)
	}
	if got := ipAddrs(t, n, "veth1"); !slices.Equal(got, []string{"192.0.2.20/24"}) {
		t.Errorf("addresses on a healthy link: %v", got)
	}
	if got := ipRoutes(t, n, "route", "show", "table", "main"); !slices.Equal(got, []string{"203.0.113.0/24 proto 78"}) {
		t.Errorf("owned route pruned while the links stage failed: %v", got)
	}
	st := r.Status()
	if fs, _ := st.Stage(reconcile.StageFiles); fs.LastError != nil || fs.LastPlan.Empty() {
		t.Errorf("files stage: error %v, plan %v", fs.LastError, fs.LastPlan)
	}
	if rs, _ := st.Stage(reconcile.StageRoutes); rs.PruneSkipped != "stage links failed" {
		t.Errorf("routes PruneSkipped = %q", rs.PruneSkipped)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
