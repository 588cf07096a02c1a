package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim/internal/etcdtest"
	"github.com/netprim/netprim/vip"
	"github.com/netprim/netprim/vip/etcd"
)

// doneAt records when a term's Done closes: the returned function reports
// the time (a little late, never early) and whether it has closed.
func doneAt(term *etcd.Term) func() (time.Time, bool) {
	var mu sync.Mutex
	var at time.Time
	go func() {
		<-term.Done()
		now := time.Now()
		mu.Lock()
		at = now
		mu.Unlock()
	}()
	return func() (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		return at, !at.IsZero()
	}
}

// TestPartition: a leader cut off from etcd (its connection silent, not
// closed) ends its term on its own once ProvenUntil passes, before another
// node wins, and the other node wins after that ProvenUntil.
func TestPartition(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxTimeout(t)
	const prefix = "/test/partition"
	a := newProxiedNode(t, s, prefix, "a")
	outA := make(chan won, 1)
	campaign(t, a, outA)
	wa := await(t, outA)
	out := make(chan won, 2)
	campaign(t, newNode(t, s, prefix, "b"), out)
	campaign(t, newNode(t, s, prefix, "c"), out)
	select {
	case <-wa.term.Renewed():
	case <-time.After(hang):
		t.Fatal("no renewal")
	}
	done := doneAt(wa.term)

	a.proxy.Block()
	blocked := time.Now()
	w := await(t, out)
	last := etcd.LastProvenUntil(wa.term)
	at, closed := done()
	t.Logf("a's Done closed %v after its last ProvenUntil; %s won %v after the partition began, %v after a's last ProvenUntil",
		at.Sub(last), w.node.id, w.at.Sub(blocked), w.at.Sub(last))
	if !closed || !at.Before(w.at) {
		t.Errorf("a's Done closed %v (at %v), want it closed before %s won at %v", closed, at, w.node.id, w.at)
	}
	if !last.Before(w.at) {
		t.Errorf("a's last ProvenUntil %v is not before %s's win at %v", last, w.node.id, w.at)
	}
	if err := wa.term.Err(); !errors.Is(err, vip.ErrNotLeader) || !strings.Contains(err.Error(), "no longer proven") {
		t.Errorf("a's Err() = %v, want leadership no longer proven, wrapping %v", err, vip.ErrNotLeader)
	}
	noWinner(t, out, w.node.id)

	// Healed, a campaigns again and waits behind the new leader.
	a.proxy.Unblock()
	outA2 := make(chan won, 1)
	campaign(t, a, outA2)
	if l, err := a.e.Leader(ctx); err != nil || l != w.node.id {
		t.Errorf("a: Leader() = %q, %v after the partition healed; want %q", l, err, w.node.id)
	}
	if err := wa.term.Resign(ctx); err != nil {
		t.Errorf("a: Resign of the ended term: %v", err)
	}
	if err := w.term.Verify(ctx); err != nil {
		t.Errorf("%s: Verify: %v", w.node.id, err)
	}
	noWinner(t, outA2, w.node.id)
}

// TestHandovers checks the core property of a term at every handover, in
// thirty elections run ten at a time, with the leader leaving in three
// ways: it resigns, it crashes (its client closed: no renewal, no
// resignation) or it is cut off (its connection goes silent). The
// successor's Campaign returns only after the predecessor's last
// ProvenUntil, unless the predecessor resigned, which ends its term (Done
// closed, ProvenUntil zero) before it releases the key. A leader cut off
// also ends its term before the successor wins.
func TestHandovers(t *testing.T) {
	s := etcdtest.Start(t)
	const trials, batch = 30, 10
	modes := []string{"resign", "crash", "partition"}
	type trial struct {
		i    int
		mode string
		a, b *node
		outA chan won
		outB chan won
	}
	var minAfter, maxDoneLate time.Duration = hang, -hang
	var mu sync.Mutex
	for first := 0; first < trials; first += batch {
		var ts []*trial
		for i := first; i < first+batch; i++ {
			prefix := fmt.Sprintf("/test/handover/%d", i)
			tr := &trial{i: i, mode: modes[i%len(modes)], outA: make(chan won, 1), outB: make(chan won, 1)}
			tr.a = newProxiedNode(t, s, prefix, "a")
			tr.b = newNode(t, s, prefix, "b")
			campaign(t, tr.a, tr.outA)
			ts = append(ts, tr)
		}
		errs := make(chan error, len(ts))
		for _, tr := range ts {
			go func() {
				err := func() error {
					var wa won
					select {
					case wa = <-tr.outA:
						if wa.err != nil {
							return wa.err
						}
					case <-time.After(hang):
						return errors.New("a did not win")
					}
					campaign(t, tr.b, tr.outB)
					done := doneAt(wa.term)
					// Hold the lead for 0 to 1 s: none to two renewals.
					time.Sleep(time.Duration(tr.i*97%1000) * time.Millisecond)
					switch tr.mode {
					case "resign":
						ctx, cancel := context.WithTimeout(context.Background(), hang)
						defer cancel()
						if err := wa.term.Resign(ctx); err != nil {
							return err
						}
					case "crash":
						tr.a.client.Close()
					case "partition":
						tr.a.proxy.Block()
						defer tr.a.proxy.Unblock()
					}
					var wb won
					select {
					case wb = <-tr.outB:
						if wb.err != nil {
							return wb.err
						}
					case <-time.After(hang):
						return errors.New("b did not win")
					}
					last := etcd.LastProvenUntil(wa.term)
					at, closed := done()
					if tr.mode == "resign" || tr.mode == "partition" {
						if !closed || !at.Before(wb.at) {
							return fmt.Errorf("a's Done closed %v (at %v), want it closed before b won at %v", closed, at, wb.at)
						}
					}
					if tr.mode == "resign" {
						return nil
					}
					if !last.Before(wb.at) {
						return fmt.Errorf("a's last ProvenUntil %v is not before b's win %v", last, wb.at)
					}
					// etcd keeps a's lease TTL after the renewal it
					// received last, sent at last-TTL+Margin.
					if earliest := last.Add(etcd.DefaultMargin); wb.at.Before(earliest) {
						return fmt.Errorf("b won at %v, before a's lease could expire (%v)", wb.at, earliest)
					}
					mu.Lock()
					minAfter = min(minAfter, wb.at.Sub(last))
					if tr.mode == "partition" {
						maxDoneLate = max(maxDoneLate, at.Sub(last))
					}
					mu.Unlock()
					return nil
				}()
				if err != nil {
					err = fmt.Errorf("trial %d (%s): %w", tr.i, tr.mode, err)
				}
				errs <- err
			}()
		}
		for range ts {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
	t.Logf("successors won at least %v after the last ProvenUntil of a crashed or cut-off leader; a cut-off leader's Done closed at most %v after it",
		minAfter, maxDoneLate)
}
