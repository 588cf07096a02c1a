package wireguard

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// TestRoamedPeerKept: a peer that moved to a new address while the tunnel
// is up keeps it. A second Apply of the same Spec sends nothing and does
// not reset the endpoint to the configured, now stale, one.
func TestRoamedPeerKept(t *testing.T) {
	ctx := context.Background()
	a, b := newPair(t)
	requirePing(t, b.n, "10.99.0.1")
	// B moves from port 51820 to 51821 (as behind a NAT that changed its
	// mapping); A learns that from B's packets.
	b.spec.ListenPort = 51821
	b.apply(t)
	roamed := netip.MustParseAddrPort("192.0.2.2:51821")
	nstest.Eventually(t, 30*time.Second, func() error {
		if err := ping(b.n, "10.99.0.1"); err != nil {
			return err
		}
		st, err := a.dev.Status(ctx)
		if err != nil {
			return err
		}
		if ep := st.Peers[0].Endpoint; ep != roamed {
			return fmt.Errorf("A sends to %v, not yet to %v", ep, roamed)
		}
		return nil
	})

	var writes int64
	plan, err := a.dev.Apply(ctx, a.spec, netprim.WithWriteCounter(&writes))
	if err != nil || writes != 0 || !plan.Empty() {
		t.Fatalf("Apply after roaming: %d writes, plan %v, %v", writes, plan, err)
	}
	if plan, err := a.dev.Plan(ctx, a.spec); err != nil || !plan.Empty() {
		t.Fatalf("Plan after roaming: %v, %v", plan, err)
	}
	// Checked with ping: the tunnel still works through the roamed address.
	requirePing(t, a.n, "10.99.0.2")
	if st, err := a.dev.Status(ctx); err != nil || st.Peers[0].Endpoint != roamed {
		t.Fatalf("endpoint after Apply: %+v, %v", st, err)
	}
}
