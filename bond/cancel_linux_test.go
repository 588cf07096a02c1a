package bond

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
)

// flipCtx is a context that is cancelled at the moment its Err is called
// for the (n+1)-th time: Err returns nil n times, then context.Canceled,
// and Done is closed then. Apply looks at its context between write
// requests, so flipCtx(n) cancels it at the n-th place it looks.
type flipCtx struct {
	context.Context // Deadline and Value
	mu              sync.Mutex
	left, calls     int
	done            chan struct{}
	flipped         bool
}

func newFlipCtx(n int) *flipCtx {
	return &flipCtx{Context: context.Background(), left: n, done: make(chan struct{})}
}

func (c *flipCtx) Done() <-chan struct{} { return c.done }

func (c *flipCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if !c.flipped && c.left == 0 {
		c.flipped = true
		close(c.done)
	}
	if c.flipped {
		return context.Canceled
	}
	c.left--
	return nil
}

// wasCancelled reports whether Err has reported the cancellation.
func (c *flipCtx) wasCancelled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flipped
}

// cancelScenario is an Apply to interrupt: from the bonds of start
// (applied first) to want.
type cancelScenario struct {
	name        string
	start, want []Spec
	opts        []netprim.Option
}

func cancelScenarios() []cancelScenario {
	first := []Spec{
		{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, Up: ptr(true), Miimon: 100,
			PeerNotifDelay: 200, Primary: "d1"},
		{Name: "bond1", Mode: "802.3ad", Members: []string{"d2", "d3"}, Up: ptr(true), Miimon: 100,
			LACPRate: "fast", ADLACPActive: ptr(false), XmitHashPolicy: "layer3+4"},
		{Name: "bond2", Mode: "balance-rr", Members: []string{"d4", "d5"}, Up: ptr(true), ARPInterval: 100,
			ARPIPTargets: mustAddrs("192.0.2.1"), MissedMax: 3},
	}
	second := []Spec{
		// Mode change: members released and enslaved again; d1 moves
		// to bond1, d6 joins.
		{Name: "bond0", Mode: "balance-xor", Members: []string{"d0", "d6"}, Up: ptr(true), Miimon: 100,
			XmitHashPolicy: "layer2+3"},
		// Options that need the bond down, a live one, a new member.
		{Name: "bond1", Mode: "802.3ad", Members: []string{"d2", "d3", "d1"}, Up: ptr(true), Miimon: 200,
			LACPRate: "slow", ADLACPActive: ptr(true), XmitHashPolicy: "layer3+4"},
		// bond2 is pruned; bond3 is new.
		{Name: "bond3", Mode: "active-backup", Members: []string{"d7"}, Up: ptr(true), Miimon: 100,
			PeerNotifDelay: 100},
	}
	return []cancelScenario{
		{name: "from empty", want: first},
		{name: "changes and prune", start: first, want: second, opts: []netprim.Option{netprim.WithPrune()}},
	}
}

// setUp returns a namespace with links d0..d7 (d1 up) and the bonds of
// sc.start.
func (sc cancelScenario) setUp(t *testing.T) *nstest.NS {
	t.Helper()
	n := nstest.New(t)
	dummies(t, n, "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7")
	n.Run(t, "ip", "link", "set", "d1", "up")
	if len(sc.start) > 0 {
		mustApply(t, n.Namespace, sc.start)
	}
	return n
}

// TestCancelAnywhere cancels Apply at every place it looks at its context,
// and at random times: the bonds it created are marked as owned, Plan from
// the state it left lists what the next Apply does, and that Apply
// converges to want with nothing orphaned (no bond that is not wanted, every
// member enslaved to its bond and no other link enslaved), after which
// Apply sends nothing.
func TestCancelAnywhere(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	for _, sc := range cancelScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			// How often an uninterrupted Apply looks at its context.
			n := sc.setUp(t)
			full := newFlipCtx(1 << 30)
			if p, err := Apply(full, n.Namespace, sc.want, sc.opts...); err != nil {
				t.Fatalf("Apply: %v\n%s", err, p)
			}
			checks := full.calls
			t.Logf("an uninterrupted Apply checks its context %d times", checks)
			if checks < 5 {
				t.Fatalf("Apply checks its context only %d times", checks)
			}

			cancelled := 0
			var took time.Duration // of the last, uninterrupted Apply
			for i := 0; i <= checks; i++ {
				t.Run(fmt.Sprintf("after %d checks", i), func(t *testing.T) {
					ctx := newFlipCtx(i)
					n := sc.setUp(t)
					start := time.Now()
					p, err := Apply(ctx, n.Namespace, sc.want, sc.opts...)
					took = time.Since(start)
					switch {
					case ctx.wasCancelled() && !errors.Is(err, context.Canceled):
						t.Fatalf("cancelled Apply: %v, want context.Canceled\nmade:\n%s", err, p)
					case !ctx.wasCancelled() && err != nil:
						t.Fatalf("Apply: %v\n%s", err, p)
					}
					if ctx.wasCancelled() {
						cancelled++
					}
					t.Logf("cancelled after %d checks: made %d changes", i, len(p.Changes))
					wantMarked(t, n)
					wantConverges(t, n, sc)
				})
			}
			if cancelled != checks {
				t.Errorf("%d of %d Applies were cancelled, want %d", cancelled, checks+1, checks)
			}

			seed := uint64(time.Now().UnixNano())
			t.Logf("random cancellations within %v: seed %d", took, seed)
			rnd := rand.New(rand.NewPCG(seed, 0))
			for i := range 6 {
				after := time.Duration(rnd.Int64N(int64(took) + 1))
				t.Run(fmt.Sprintf("timer %d", i), func(t *testing.T) {
					n := sc.setUp(t)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					timer := time.AfterFunc(after, cancel)
					defer timer.Stop()
					p, err := Apply(ctx, n.Namespace, sc.want, sc.opts...)
					if err != nil && !errors.Is(err, context.Canceled) {
						t.Fatalf("Apply cancelled after %v: %v\n%s", after, err, p)
					}
					t.Logf("cancelled after %v: err %v, made %d changes", after, err, len(p.Changes))
					wantMarked(t, n)
					wantConverges(t, n, sc)
				})
			}
		})
	}
}

// wantMarked checks with ip that every bond of n carries the ownership
// marker: a bond left unmarked would never be pruned.
func wantMarked(t *testing.T, n *nstest.NS) {
	t.Helper()
	for name, l := range ipLinks(t, n) {
		if l.Linkinfo.InfoKind == "bond" && !slices.Contains(l.AltNames, link.Marker(netprim.DefaultOwner(), name)) {
			t.Errorf("ip: bond %s has altnames %v: not marked as owned", name, l.AltNames)
		}
	}
}

// wantConverges applies sc.want to what an interrupted Apply left, checks
// that Plan listed the changes it made, that the kernel then matches
// sc.want (checked with ip) and that another Apply sends nothing.
func wantConverges(t *testing.T, n *nstest.NS, sc cancelScenario) {
	t.Helper()
	wantPlanIsApply(t, n, sc.want, sc.opts...)
	wantState(t, n, sc.want)
	if p, writes := mustApply(t, n.Namespace, sc.want, sc.opts...); writes != 0 {
		t.Errorf("Apply after converging: %d writes:\n%s", writes, p)
	}
}
