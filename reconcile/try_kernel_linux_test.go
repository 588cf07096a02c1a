package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
)

// TestTryRollsBackBondAndBridge: a try that changes a bond's mode and
// options and moves a bridge's ports is rolled back to the exact links
// ip -j -d reports before (kernel tier: bonding and dummy).
func TestTryRollsBackBondAndBridge(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	n := nstest.New(t)
	ctx := context.Background()
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	dummies := reconcile.Links(
		link.Spec{Name: "d0", Kind: "dummy"}, link.Spec{Name: "d1", Kind: "dummy"},
		link.Spec{Name: "d2", Kind: "dummy", Up: up()}, link.Spec{Name: "d3", Kind: "dummy", Up: up()},
	)
	before := reconcile.State{
		Links:   dummies,
		Bonds:   []bond.Spec{{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, Miimon: 100, Up: up()}},
		Bridges: []bridge.Spec{{Name: "br0", Ports: bridge.Ports("d2"), Up: up()}},
	}
	after := reconcile.State{
		Links:   dummies,
		Bonds:   []bond.Spec{{Name: "bond0", Mode: "balance-rr", Members: []string{"d0", "d1"}, Miimon: 200, Up: up()}},
		Bridges: []bridge.Spec{{Name: "br0", Ports: bridge.Ports("d3"), Up: up()}},
	}
	r := newReconciler(t, n, reconcile.WithRoot(root))
	s := addSource(t, r, "static", 10)
	must(t, s.Set(before))
	if _, err := r.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	was := settled(t, n, root)
	var during kernelView
	p, err := s.Try(ctx, after, 10*time.Second, func(context.Context, netprim.Plan) error {
		during = view(t, n, root)
		return errLost
	})
	if !errors.Is(err, reconcile.ErrRolledBack) {
		t.Fatalf("Try = %v\n%v", err, p)
	}
	if cmp.Equal(was, during) {
		t.Fatal("the try changed nothing")
	}
	if diff := cmp.Diff(was, settled(t, n, root)); diff != "" {
		t.Errorf("after the rollback (-before +after):\n%s\nchanges:\n%v", diff, p)
	}
}
