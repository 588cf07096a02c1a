package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/etcdtest"
	"github.com/netprim/netprim/vip"
	"github.com/netprim/netprim/vip/etcd"
)

func TestNewValidation(t *testing.T) {
	// The client is never used: New does not talk to etcd.
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name     string
		client   *clientv3.Client
		prefix   string
		identity string
		o        etcd.Options
		want     string
	}{
		{"nil client", nil, "/vip", "a", etcd.Options{}, "etcd elector: client: is nil"},
		{"empty prefix", c, "", "a", etcd.Options{}, `etcd elector: prefix: "" names no key range`},
		{"slash prefix", c, "//", "a", etcd.Options{}, `etcd elector: prefix: "//" names no key range`},
		{"empty identity", c, "/vip", "", etcd.Options{}, "etcd elector: identity: is empty"},
		{"short ttl", c, "/vip", "a", etcd.Options{TTL: time.Second}, "etcd elector: ttl: 1s is below the minimum 3s"},
		{"fractional ttl", c, "/vip", "a", etcd.Options{TTL: 3500 * time.Millisecond}, "etcd elector: ttl: 3.5s is not a whole number of seconds"},
		{"negative margin", c, "/vip", "a", etcd.Options{Margin: -time.Second}, "etcd elector: margin: -1s is negative"},
		{"margin of ttl", c, "/vip", "a", etcd.Options{TTL: 3 * time.Second, Margin: 3 * time.Second}, "etcd elector: margin: 3s is not shorter than ttl 3s"},
		{"negative renew", c, "/vip", "a", etcd.Options{RenewInterval: -time.Second}, "etcd elector: renewInterval: -1s is negative"},
		{"renew too long", c, "/vip", "a", etcd.Options{TTL: 3 * time.Second, RenewInterval: 2800 * time.Millisecond}, "etcd elector: renewInterval: 2.8s is not shorter than ttl 3s less margin 200ms"},
		{"address would lapse", c, "/vip", "a", etcd.Options{TTL: 3 * time.Second, RenewInterval: time.Second}, "etcd elector: ttl: 3s less margin 200ms gives the shared IP's address a kernel lifetime of 1s (see vip.LifetimeSlack), not longer than renewInterval 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := etcd.New(tc.client, tc.prefix, tc.identity, tc.o)
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("error %v, want one wrapping %v", err, netprim.ErrInvalidSpec)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", err, tc.want)
			}
		})
	}

	e, err := etcd.New(c, "/vip/192.0.2.10/", "a", etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := etcd.Options{TTL: vip.DefaultTTL, RenewInterval: vip.DefaultTTL / 4, Margin: etcd.DefaultMargin}
	if got := e.Options(); got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	if got := e.Prefix(); got != "/vip/192.0.2.10" {
		t.Errorf("prefix %q, want the trailing slash dropped", got)
	}
}

// TestOneWinner: of three candidates exactly one leads at a time, everyone
// (and etcd) names it, and Resign hands over at once: the key and the lease
// are gone when it returns.
func TestOneWinner(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxTimeout(t)
	raw := s.Client(t)
	const prefix = "/test/one-winner"
	nodes := []*node{newNode(t, s, prefix, "a"), newNode(t, s, prefix, "b"), newNode(t, s, prefix, "c")}
	out := make(chan won, len(nodes))
	for _, n := range nodes {
		campaign(t, n, out)
	}

	var prev *won
	var resigned time.Time
	for range nodes {
		w := await(t, out)
		if prev != nil {
			if w.node == prev.node {
				t.Fatalf("%s won twice", w.node.id)
			}
			t.Logf("%s won %v after %s called Resign", w.node.id, w.at.Sub(resigned), prev.node.id)
			if err := prev.term.Verify(ctx); !errors.Is(err, vip.ErrNotLeader) {
				t.Errorf("%s: Verify after resigning: %v, want %v", prev.node.id, err, vip.ErrNotLeader)
			}
		}
		if err := w.term.Verify(ctx); err != nil {
			t.Fatalf("%s: Verify: %v", w.node.id, err)
		}
		for _, n := range nodes {
			if l, err := n.e.Leader(ctx); err != nil || l != w.node.id {
				t.Errorf("%s: Leader() = %q, %v; want %q", n.id, l, err, w.node.id)
			}
		}
		resp, err := raw.Get(ctx, prefix+"/", clientv3.WithFirstCreate()...)
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != w.node.id || string(resp.Kvs[0].Key) != w.term.Key() {
			t.Fatalf("first key under %s: %v, %v; want %s=%s", prefix, resp, err, w.term.Key(), w.node.id)
		}
		noWinner(t, out, w.node.id)

		resigned = time.Now()
		if err := w.term.Resign(ctx); err != nil {
			t.Fatalf("%s: Resign: %v", w.node.id, err)
		}
		if !ended(w.term) || !w.term.ProvenUntil().IsZero() {
			t.Fatalf("%s: after Resign: Done closed %v, ProvenUntil %v", w.node.id, ended(w.term), w.term.ProvenUntil())
		}
		if resp, err := raw.Get(ctx, w.term.Key()); err != nil || len(resp.Kvs) != 0 {
			t.Errorf("%s: key %s after Resign: %v, %v; want it gone", w.node.id, w.term.Key(), resp.Kvs, err)
		}
		if ttl, err := raw.TimeToLive(ctx, w.term.Lease()); err != nil || ttl.TTL != -1 {
			t.Errorf("%s: lease %x after Resign: %v, %v; want it revoked (TTL -1)", w.node.id, w.term.Lease(), ttl, err)
		}
		if err := w.term.Resign(ctx); err != nil {
			t.Errorf("%s: second Resign: %v", w.node.id, err)
		}
		prev = &w
	}
	termGoroutinesGone(t)
	for _, n := range nodes {
		if l, err := n.e.Leader(ctx); err != nil || l != "" {
			t.Errorf("%s: Leader() = %q, %v after everyone resigned; want \"\"", n.id, l, err)
		}
	}
}

// TestCrash: a leader that stops renewing (its client closed, as when its
// process dies) keeps the election until its lease expires; the successor
// wins after its last ProvenUntil, and not before its lease could expire.
func TestCrash(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxTimeout(t)
	raw := s.Client(t)
	const prefix = "/test/crash"
	a, b := newNode(t, s, prefix, "a"), newNode(t, s, prefix, "b")
	outA, outB := make(chan won, 1), make(chan won, 1)
	campaign(t, a, outA)
	wa := await(t, outA)
	campaign(t, b, outB)
	// Let a renew a few times.
	for range 2 {
		select {
		case <-wa.term.Renewed():
		case <-time.After(hang):
			t.Fatal("no renewal")
		}
	}

	a.client.Close()
	crashed := time.Now()
	// Nothing released the key: it is there until the lease expires.
	if resp, err := raw.Get(ctx, wa.term.Key()); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("a's key right after the crash: %v, %v", resp, err)
	}
	wb := await(t, outB)
	last := etcd.LastProvenUntil(wa.term)
	t.Logf("b won %v after a's client closed, %v after a's last ProvenUntil", wb.at.Sub(crashed), wb.at.Sub(last))
	if !last.Before(wb.at) {
		t.Errorf("a's last ProvenUntil %v is not before b's win %v", last, wb.at)
	}
	// etcd keeps a lease at least TTL after the last renewal it
	// received, which a sent at last-TTL+Margin: until last+Margin.
	if earliest := last.Add(etcd.DefaultMargin); wb.at.Before(earliest) {
		t.Errorf("b won at %v, before a's lease could expire (%v)", wb.at, earliest)
	}
	if !ended(wa.term) || !errors.Is(wa.term.Err(), vip.ErrNotLeader) {
		t.Errorf("a's term: Done closed %v, Err %v", ended(wa.term), wa.term.Err())
	}
	if err := wb.term.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	termGoroutinesGone(t)
}

// TestCampaignCancelled: a Campaign whose context ends while another node
// leads returns the context's error and leaves neither key nor lease.
func TestCampaignCancelled(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxTimeout(t)
	raw := s.Client(t)
	const prefix = "/test/cancel"
	other := putCandidate(t, raw, prefix, "other")

	a := newNode(t, s, prefix, "a")
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	term, err := a.e.Campaign(cctx)
	if !errors.Is(err, context.DeadlineExceeded) || term != nil {
		t.Fatalf("Campaign = %v, %v; want no term and %v", term, err, context.DeadlineExceeded)
	}
	resp, err := raw.Get(ctx, prefix+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || clientv3.LeaseID(resp.Kvs[0].Lease) != other {
		t.Errorf("keys under %s after the cancelled campaign: %v; want only other's", prefix, resp.Kvs)
	}
	leases, err := raw.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(leases.Leases) != 1 || leases.Leases[0].ID != other {
		t.Errorf("leases after the cancelled campaign: %v; want only other's %x", leases.Leases, other)
	}
	if l, err := a.e.Leader(ctx); err != nil || l != "other" {
		t.Errorf("Leader() = %q, %v; want \"other\"", l, err)
	}
}

// TestStaleKeyResigned: a node restarted after a crash finds the key of
// its previous run (same identity, another lease, still alive) and deletes
// it, so it wins at once instead of a TTL later.
func TestStaleKeyResigned(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxTimeout(t)
	raw := s.Client(t)
	const prefix = "/test/stale"
	stale := putCandidate(t, raw, prefix, "a")

	a := newNode(t, s, prefix, "a")
	out := make(chan won, 1)
	campaign(t, a, out)
	w := await(t, out)
	// The stale lease (60 s) is still alive: the win did not wait for it.
	if ttl, err := raw.TimeToLive(ctx, stale); err != nil || ttl.TTL <= 0 {
		t.Fatalf("stale lease: %v, %v; want it still alive", ttl, err)
	}
	resp, err := raw.Get(ctx, prefix+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Key) != w.term.Key() {
		t.Errorf("keys under %s: %v; want only the new term's %s", prefix, resp.Kvs, w.term.Key())
	}
}

// TestKeyDeletedEndsTerm: when someone else deletes the leader's key, its
// term ends at once (long before ProvenUntil), Verify and vip.Fence refuse.
func TestKeyDeletedEndsTerm(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxTimeout(t)
	raw := s.Client(t)
	a := newNode(t, s, "/test/deleted", "a")
	out := make(chan won, 1)
	campaign(t, a, out)
	w := await(t, out)

	ran := false
	if err := vip.Fence(ctx, w.term, func(fctx context.Context) error {
		ran = true
		if d, ok := fctx.Deadline(); !ok || d.After(w.term.ProvenUntil()) {
			t.Errorf("fenced call's deadline %v (set %v), want one no later than ProvenUntil %v", d, ok, w.term.ProvenUntil())
		}
		return nil
	}); err != nil || !ran {
		t.Fatalf("Fence while leading: %v (call ran: %v)", err, ran)
	}

	if _, err := raw.Delete(ctx, w.term.Key()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.term.Done():
	case <-time.After(hang):
		t.Fatal("the term did not end after its key was deleted")
	}
	if err := w.term.Err(); !errors.Is(err, vip.ErrNotLeader) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("Err() = %v, want the key's deletion wrapping %v", err, vip.ErrNotLeader)
	}
	if err := w.term.Verify(ctx); !errors.Is(err, vip.ErrNotLeader) {
		t.Errorf("Verify = %v, want %v", err, vip.ErrNotLeader)
	}
	ran = false
	if err := vip.Fence(ctx, w.term, func(context.Context) error { ran = true; return nil }); !errors.Is(err, vip.ErrNotLeader) || ran {
		t.Errorf("Fence after the term ended: %v (call ran: %v), want %v", err, ran, vip.ErrNotLeader)
	}
	if err := w.term.Resign(ctx); err != nil {
		t.Errorf("Resign after the term ended: %v", err)
	}
	termGoroutinesGone(t)
}

// TestProvenUntil: ProvenUntil moves forward with each renewal and never
// claims more than a lease renewed now could give.
func TestProvenUntil(t *testing.T) {
	s := etcdtest.Start(t)
	a := newNode(t, s, "/test/proven", "a")
	out := make(chan won, 1)
	campaign(t, a, out)
	w := await(t, out)
	o := a.e.Options()
	prev := w.term.ProvenUntil()
	if prev.IsZero() {
		t.Fatal("a new term has no ProvenUntil")
	}
	for range 4 {
		select {
		case <-w.term.Renewed():
		case <-time.After(hang):
			t.Fatal("no renewal")
		}
		p := w.term.ProvenUntil()
		bound := time.Now().Add(o.TTL - o.Margin)
		if !p.After(prev) {
			t.Errorf("ProvenUntil %v after a renewal, not after %v", p, prev)
		}
		if p.After(bound) {
			t.Errorf("ProvenUntil %v is beyond now+TTL-Margin %v", p, bound)
		}
		prev = p
	}
	if id := w.term.ID(); !strings.HasPrefix(id, "etcd lease ") || !strings.Contains(id, " rev ") {
		t.Errorf("ID() = %q", id)
	}
}

// putCandidate puts a candidate's key for identity under prefix the way an
// Elector does, on a 60 s lease of its own, and returns the lease.
func putCandidate(t *testing.T, c *clientv3.Client, prefix, identity string) clientv3.LeaseID {
	t.Helper()
	ctx := ctxTimeout(t)
	g, err := c.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("%s/%x", prefix, g.ID)
	if _, err := c.Put(ctx, key, identity, clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	return g.ID
}
