package kube

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/netprim/netprim/vip"
)

// testTTL is the shortest Lease duration accepted; the other options take
// their defaults (renew deadline 1.33 s, retry period 250 ms, margin 200 ms).
const testTTL = 4 * time.Second

// readDelay is the longest delay of a Lease read in the test API server.
const readDelay = 30 * time.Millisecond

// mustCampaign wins a term for n, or fails the test; the term is resigned
// when the test ends.
func mustCampaign(t testing.TB, n *node) *Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tm, err := n.e.Campaign(ctx)
	if err != nil {
		t.Fatalf("%s: Campaign: %v", n.id, err)
	}
	term := tm.(*Term)
	t.Cleanup(func() { resign(t, n, term) })
	return term
}

// resign resigns term with n's client up, failing the test when that fails.
func resign(t testing.TB, n *node, term *Term) {
	t.Helper()
	n.down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := term.Resign(ctx); err != nil {
		t.Errorf("%s: Resign: %v", n.id, err)
	}
}

// span returns when term took the Lease (the send time of its winning
// write), its last ProvenUntil (kept after the end) and when it ended.
func span(term *Term) (start, last, ended time.Time) {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.start, term.proof.Last(), term.endedAt
}

// reliedUntil returns until when the holder of a term could rely on it: a
// node that resigned stopped when its term ended (it resigns after giving
// the address up); a node that was cut off, or died, keeps the address
// until the last ProvenUntil it saw (the address's lifetime in the kernel
// ends then).
func (w *won) reliedUntil() time.Time {
	_, last, ended := span(w.term)
	if w.how == "resign" && ended.Before(last) {
		return ended
	}
	return last
}

// won is a term as the test saw it.
type won struct {
	n    *node
	term *Term
	at   time.Time // Campaign returned
	how  string    // how it ended: "resign", "cut" (by the test), "expired" (on its own, a stalled machine)
	when time.Time // when the test ended it
	err  error     // Verify right after winning
}

// TestOneLeaderAtATime runs three candidates on a Lease whose API server
// enforces optimistic concurrency and delays reads. The leader of each term
// holds it a random while, then resigns, or (every fourth term) is cut off
// from the API server until another node has won. For every term it
// checks, from the clients' side, that each term's last ProvenUntil (for
// a resigned term: the moment it ended) lies before the next term's
// Campaign returned; from the server's side, that no other node's write
// was applied between a term's winning write and that instant; that each term after a
// resignation took over a released Lease (no wait for expiry); that each
// term after a cut took over the cut node's Lease; and that Verify agrees
// while a term runs.
func TestOneLeaderAtATime(t *testing.T) {
	const trials = 21 // five cuts, each followed by another term
	s := newAPIServer(readDelay)
	var nodes []*node
	for _, id := range []string{"node-a", "node-b", "node-c"} {
		nodes = append(nodes, s.newNode(t, id, Options{TTL: testTTL}))
	}

	ctx, cancel := context.WithCancel(context.Background())
	wins := make(chan won)
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				tm, err := n.e.Campaign(ctx)
				if err != nil {
					return // ctx ended
				}
				term := tm.(*Term)
				w := won{n: n, term: term, at: time.Now()}
				w.err = term.Verify(ctx)
				select {
				case wins <- w:
				case <-ctx.Done():
					resign(t, n, term)
					return
				}
				select {
				case <-term.Done():
				case <-ctx.Done():
					resign(t, n, term)
					return
				}
				// Cut off: wait until the test lets the node back.
				for n.down.Load() && ctx.Err() == nil {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(rand.N(300 * time.Millisecond)) // let the others campaign first
			}
		}()
	}

	var terms []*won
	for i := range trials {
		var w won
		select {
		case w = <-wins:
		case <-time.After(30 * time.Second):
			t.Fatalf("term %d: no node won within 30 s", i)
		}
		if i > 0 && terms[i-1].how == "cut" {
			terms[i-1].n.down.Store(false)
		}
		if w.err != nil && (!errors.Is(w.err, vip.ErrNotLeader) || w.term.Err() == nil) {
			t.Errorf("%s: Verify of a running term = %v", w.n.id, w.err)
		}
		terms = append(terms, &w)
		if i%4 == 3 {
			// Cut the leader off right after a renewal late in the
			// same second as an earlier one: the case where the last
			// renewal is not what the other candidates time from.
			w.when = time.Now()
			if !lateRenewal(s, w.term, w.n.id) {
				w.how = "expired"
				t.Logf("%s: term %s ended on its own: %v", w.n.id, w.term.ID(), w.term.Err())
				continue
			}
			w.when = time.Now()
			w.how = "cut"
			w.n.down.Store(true)
			continue
		}
		select {
		case <-time.After(rand.N(400 * time.Millisecond)):
		case <-w.term.Done():
			// Only when the machine stalled longer than the proof.
			w.when = time.Now()
			w.how = "expired"
			t.Logf("%s: term %s ended on its own: %v", w.n.id, w.term.ID(), w.term.Err())
			continue
		}
		w.when = time.Now()
		w.how = "resign"
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := w.term.Resign(rctx); err != nil {
			t.Errorf("%s: Resign: %v", w.n.id, err)
		}
		rcancel()
	}
	cancel()
	for _, n := range nodes {
		n.down.Store(false)
	}
	wg.Wait()
	for _, w := range terms {
		if w.how == "cut" {
			resign(t, w.n, w.term) // nothing to release any more; stops nothing either
		}
	}

	// Client side: terms do not overlap.
	cuts, naive := 0, 0 // naive: cut terms a proof from the last renewal would have overrun
	for i := 1; i < len(terms); i++ {
		prev, next := terms[i-1], terms[i]
		end := prev.reliedUntil()
		if !end.Before(next.at) {
			t.Errorf("%s won term %s at %v, before %s's term %s stopped relying on its lease at %v",
				next.n.id, next.term.ID(), next.at.Format(time.StampMicro), prev.n.id, prev.term.ID(), end.Format(time.StampMicro))
		}
		if prev.how == "cut" && !errors.Is(prev.term.Err(), vip.ErrNotLeader) {
			t.Errorf("%s: cut-off term ended with %v", prev.n.id, prev.term.Err())
		}
		if prev.how == "cut" {
			cuts++
			prev.term.mu.Lock()
			if !prev.term.lastSent.Add(testTTL - prev.n.e.opts.Margin).Before(next.at) {
				naive++
			}
			prev.term.mu.Unlock()
		}
		t.Logf("%s -> %s after %s: %v", prev.n.id, next.n.id, prev.how, next.at.Sub(prev.when).Round(time.Millisecond))
	}
	t.Logf("a proof from the send time of the last renewal would have overlapped the next term in %d of %d cuts", naive, cuts)

	// Server side: the writes the API server applied.
	log := s.log()
	for i, w := range terms {
		start, _, _ := span(w.term)
		end := w.reliedUntil()
		k := slices.IndexFunc(log, func(l write) bool {
			return l.holder == w.n.id && l.transitions == w.term.Transitions() && l.at.After(start)
		})
		if k < 0 {
			t.Errorf("%s: no applied write for term %s", w.n.id, w.term.ID())
			continue
		}
		taken := log[k]
		for _, l := range log[k+1:] {
			if l.at.After(end) {
				break
			}
			if l.by != w.n.id {
				t.Errorf("%s wrote the Lease (holder %q) at %v, during %s's term %s (%v to %v)",
					l.by, l.holder, l.at.Format(time.StampMicro), w.n.id, w.term.ID(), taken.at.Format(time.StampMicro), end.Format(time.StampMicro))
			}
		}
		if i == 0 {
			continue
		}
		switch prev := terms[i-1]; prev.how {
		case "resign":
			if taken.prevHolder != "" {
				t.Errorf("%s took over a Lease held by %q after %s resigned, not a released one", w.n.id, taken.prevHolder, prev.n.id)
			}
		case "cut":
			if taken.prevHolder != prev.n.id {
				t.Errorf("%s took over a Lease held by %q after %s was cut off", w.n.id, taken.prevHolder, prev.n.id)
			}
		}
	}
}

// lateRenewal waits until holder's latest write to the Lease renewed it at
// least 500 ms after the first write of the same renewal second; it
// returns false when term ended first.
func lateRenewal(s *apiserver, term *Term, holder string) bool {
	for {
		log := s.log()
		last := len(log) - 1
		if last >= 0 && log[last].by == holder {
			first := last
			for first > 0 && log[first-1].by == holder && log[first-1].renew.Unix() == log[last].renew.Unix() {
				first--
			}
			if log[last].renew.Sub(log[first].renew) >= 500*time.Millisecond {
				return true
			}
		}
		select {
		case <-term.Done():
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestVerifyAndReleaseAfterTakeover: an operator writes another holder into
// the Lease while a term runs. Verify then reports ErrNotLeader, the term
// ends once client-go gives up renewing, and its release leaves the other
// holder's Lease alone (client-go's own release would clear it).
func TestVerifyAndReleaseAfterTakeover(t *testing.T) {
	s := newAPIServer(readDelay)
	a := s.newNode(t, "node-a", Options{TTL: testTTL})
	term := mustCampaign(t, a)
	ctx := context.Background()
	if err := term.Verify(ctx); err != nil {
		t.Fatalf("Verify while leading: %v", err)
	}

	l := s.get()
	l.Spec.HolderIdentity = ptr.To("operator")
	l.Spec.LeaseTransitions = ptr.To(*l.Spec.LeaseTransitions + 1)
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	l.Spec.LeaseDurationSeconds = ptr.To(int32(3600))
	s.put(l)

	if err := term.Verify(ctx); !errors.Is(err, vip.ErrNotLeader) {
		t.Errorf("Verify after the takeover = %v, want ErrNotLeader", err)
	}
	<-term.Done()
	if err := term.Resign(ctx); err != nil {
		t.Errorf("Resign: %v", err)
	}
	if got := holderOf(s.get()); got != "operator" {
		t.Errorf("Lease holder after the term's release = %q, want operator", got)
	}
	if err := term.Verify(ctx); !errors.Is(err, vip.ErrNotLeader) {
		t.Errorf("Verify after the end = %v, want ErrNotLeader", err)
	}
	if got, err := a.e.Leader(ctx); err != nil || got != "operator" {
		t.Errorf("Leader = %q, %v; want operator", got, err)
	}
}

// TestCrashedLeaderVerify: a leader cut off from the API server ends its
// term by itself once its proof ran out; another node takes over; back on
// line, the old term's Verify reports ErrNotLeader and its Resign leaves
// the new holder alone.
func TestCrashedLeaderVerify(t *testing.T) {
	s := newAPIServer(readDelay)
	a := s.newNode(t, "node-a", Options{TTL: testTTL})
	b := s.newNode(t, "node-b", Options{TTL: testTTL})
	ta := mustCampaign(t, a)
	a.down.Store(true)
	tb := mustCampaign(t, b)
	_, end, _ := span(ta)
	select {
	case <-ta.Done():
	default:
		t.Fatalf("node-a's term still runs after node-b won")
	}
	if !end.Before(time.Now()) {
		t.Errorf("node-b won before node-a's proof ran out at %v", end)
	}
	t.Logf("node-a's term ended: %v", ta.Err())
	a.down.Store(false)
	ctx := context.Background()
	if err := ta.Verify(ctx); !errors.Is(err, vip.ErrNotLeader) {
		t.Errorf("node-a's Verify after losing = %v, want ErrNotLeader", err)
	}
	if err := ta.Resign(ctx); err != nil {
		t.Errorf("node-a's Resign: %v", err)
	}
	if err := tb.Verify(ctx); err != nil {
		t.Errorf("node-b's Verify: %v", err)
	}
	if got := holderOf(s.get()); got != "node-b" {
		t.Errorf("Lease holder = %q, want node-b", got)
	}
}

// TestCampaignCancelled: a Campaign whose context ends while another node
// leads returns the context's error, wrote nothing and leaves nothing
// running; the leader is undisturbed.
func TestCampaignCancelled(t *testing.T) {
	s := newAPIServer(readDelay)
	a := s.newNode(t, "node-a", Options{TTL: testTTL})
	b := s.newNode(t, "node-b", Options{TTL: testTTL})
	ta := mustCampaign(t, a)

	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if tm, err := b.e.Campaign(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Campaign = %v, %v; want DeadlineExceeded", tm, err)
	}
	for _, l := range s.log() {
		if l.by == "node-b" {
			t.Errorf("node-b wrote the Lease (holder %q)", l.holder)
		}
	}
	if err := ta.Verify(context.Background()); err != nil {
		t.Errorf("node-a's Verify: %v", err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := b.e.Campaign(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Campaign with a cancelled context = %v, want Canceled", err)
	}
}

// TestCampaignAgain: one Elector refuses a second Campaign while its term
// runs; after Resign (idempotent) it wins a new term with the next
// transition count.
func TestCampaignAgain(t *testing.T) {
	s := newAPIServer(0)
	a := s.newNode(t, "node-a", Options{TTL: testTTL})
	t1 := mustCampaign(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if tm, err := a.e.Campaign(ctx); err == nil {
		t.Fatalf("second Campaign while a term runs = %v", tm.ID())
	}
	for range 2 {
		if err := t1.Resign(ctx); err != nil {
			t.Fatalf("Resign: %v", err)
		}
	}
	select {
	case <-t1.Done():
	default:
		t.Fatal("Done not closed after Resign")
	}
	if !t1.ProvenUntil().IsZero() {
		t.Errorf("ProvenUntil after Resign = %v, want zero", t1.ProvenUntil())
	}
	if got := holderOf(s.get()); got != "" {
		t.Errorf("Lease holder after Resign = %q, want none", got)
	}
	t2 := mustCampaign(t, a)
	if t2.Transitions() != t1.Transitions()+1 || t2.ID() == t1.ID() {
		t.Errorf("second term %q after %q", t2.ID(), t1.ID())
	}
}

// TestLeader reads the holder from the Lease.
func TestLeader(t *testing.T) {
	s := newAPIServer(0)
	a := s.newNode(t, "node-a", Options{TTL: testTTL})
	ctx := context.Background()
	leader := func() string {
		t.Helper()
		got, err := a.e.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := leader(); got != "" {
		t.Errorf("Leader without a Lease = %q", got)
	}
	term := mustCampaign(t, a)
	if got := leader(); got != "node-a" {
		t.Errorf("Leader while node-a leads = %q", got)
	}
	if err := term.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if got := leader(); got != "" {
		t.Errorf("Leader after release = %q", got)
	}
	l := s.get()
	l.Spec.HolderIdentity = ptr.To("node-x")
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(-time.Minute)}
	l.Spec.LeaseDurationSeconds = ptr.To(int32(10))
	s.put(l)
	if got := leader(); got != "" {
		t.Errorf("Leader of an expired Lease = %q", got)
	}
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	s.put(l)
	if got := leader(); got != "node-x" {
		t.Errorf("Leader of node-x's Lease = %q", got)
	}
}

// TestLogger: client-go's messages go to Options.Logger, and nowhere
// without one (the other tests print nothing).
func TestLogger(t *testing.T) {
	var buf syncBuffer
	s := newAPIServer(0)
	a := s.newNode(t, "node-a", Options{TTL: testTTL, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	term := mustCampaign(t, a)
	resign(t, a, term)
	if !strings.Contains(buf.String(), "default/vip") {
		t.Errorf("logger got no message naming the Lease:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
