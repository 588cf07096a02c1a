//go:build linux

package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/nstest"
)

// holderSampler reads every node's addresses every interval, one goroutine
// per node namespace (addr.List), and records each stretch in which a node
// was seen holding the address on a link.
//
// A read sees the kernel at some instant between its start and its end,
// and a goroutine may be held up for long between the two on a busy
// machine, so the sampler keeps both times and tells what is certain:
// between two reads that saw the address the sampler takes it as held
// throughout (a gap shorter than the interval is not seen), so it was
// held for certain from when the first read returned until the last one
// began. A stretch of a single read is certain for no interval at all.
type holderSampler struct {
	mu    sync.Mutex
	spans [][]holdSpan
	now   []bool // seen holding at the last read
	errs  []error
	stop  context.CancelFunc
	done  sync.WaitGroup
	once  sync.Once
}

// holdSpan is a stretch in which a node held the address for certain:
// from when the first read that saw it returned until the last read that
// saw it began. A stretch of one read has from after to: the read's
// window, reversed.
type holdSpan struct{ from, to time.Time }

// single reports whether the stretch is one read.
func (sp holdSpan) single() bool { return sp.from.After(sp.to) }

// covers reports whether the address was held for certain from a to b.
func (sp holdSpan) covers(a, b time.Time) bool {
	return !sp.single() && !sp.from.After(a) && !b.After(sp.to)
}

// overlaps reports whether sp and o were held at one instant for certain:
// two stretches of several reads that overlap, or a one-read stretch
// within the other's certain stretch. Two one-read stretches never are.
func (sp holdSpan) overlaps(o holdSpan) bool {
	switch {
	case sp.single():
		return o.covers(sp.to, sp.from)
	case o.single():
		return sp.covers(o.to, o.from)
	}
	return !sp.to.Before(o.from) && !o.to.Before(sp.from)
}

func (sp holdSpan) String() string {
	return fmt.Sprintf("[%s, %s]", sp.from.Format("15:04:05.000"), sp.to.Format("15:04:05.000"))
}

// sampleHolders starts sampling whether each of nodes holds ip on dev,
// every interval, until check or the end of the test.
func sampleHolders(t testing.TB, nodes []*nstest.NS, dev string, ip netip.Addr, every time.Duration) *holderSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &holderSampler{spans: make([][]holdSpan, len(nodes)), now: make([]bool, len(nodes)), stop: cancel}
	for i, n := range nodes {
		s.done.Go(func() {
			holding := false
			for ctx.Err() == nil {
				before := time.Now()
				as, err := addr.List(ctx, n.Namespace)
				after := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						s.mu.Lock()
						s.errs = append(s.errs, fmt.Errorf("node %d: %w", i+1, err))
						s.mu.Unlock()
					}
					return
				}
				has := slices.ContainsFunc(as, func(a addr.Status) bool {
					return a.Address.Addr() == ip && a.Link == dev
				})
				s.mu.Lock()
				switch {
				case has && !holding:
					s.spans[i] = append(s.spans[i], holdSpan{from: after, to: before})
				case has:
					s.spans[i][len(s.spans[i])-1].to = before
				}
				s.now[i] = has
				s.mu.Unlock()
				holding = has
				time.Sleep(every)
			}
		})
	}
	t.Cleanup(s.close)
	return s
}

func (s *holderSampler) close() {
	s.once.Do(func() {
		s.stop()
		s.done.Wait()
	})
}

// waitOneHolder waits until exactly one node, none of except, is seen
// holding the address, and returns it.
func (s *holderSampler) waitOneHolder(t testing.TB, except []int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s.mu.Lock()
		var holders []int
		for i, h := range s.now {
			if h {
				holders = append(holders, i)
			}
		}
		errs := s.errs
		s.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("sampling: %v", errs)
		}
		if len(holders) == 1 && !slices.Contains(except, holders[0]) {
			return holders[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single holder (other than nodes %v) after %v: holders %v", except, within, holders)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// firstSeen is when the first read that saw node i holding the address
// after t0 returned: it acquired the address before then.
func (s *holderSampler) firstSeen(i int, t0 time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.spans[i] {
		if sp.from.After(t0) {
			return sp.from
		}
	}
	return time.Time{}
}

// lastSeen is when the last read that saw node i holding the address
// began: the address went away after then.
func (s *holderSampler) lastSeen(i int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.spans[i]); n > 0 {
		return s.spans[i][n-1].to
	}
	return time.Time{}
}

// check stops sampling and fails the test on sampling errors and on any
// two nodes that held the address at one instant for certain (see
// holdSpan.overlaps). It returns every node's stretches.
func (s *holderSampler) check(t testing.TB) [][]holdSpan {
	t.Helper()
	s.close()
	for _, err := range s.errs {
		t.Errorf("sampling: %v", err)
	}
	for a := range s.spans {
		for b := a + 1; b < len(s.spans); b++ {
			for _, x := range s.spans[a] {
				for _, y := range s.spans[b] {
					if x.overlaps(y) {
						t.Errorf("two holders at once: node %d %s and node %d %s", a+1, x, b+1, y)
					}
				}
			}
		}
	}
	return s.spans
}

// TestHoldSpanOverlaps: two nodes count as holding the address at once
// only when that is certain from the reads' times.
func TestHoldSpanOverlaps(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// reads is a stretch of several reads: the first returned at first,
	// the last began at last. read is a stretch of one read, from begin
	// to end.
	reads := func(first, last int) holdSpan { return holdSpan{from: at(first), to: at(last)} }
	read := func(begin, end int) holdSpan { return holdSpan{from: at(end), to: at(begin)} }
	for _, c := range []struct {
		name string
		x, y holdSpan
		want bool
	}{
		{"stretches overlap", reads(2, 10), reads(7, 20), true},
		{"stretches touch", reads(2, 10), reads(10, 20), true},
		// x's last read began at 10 and may have returned much later:
		// the address may have gone at 10, before y's first read.
		{"stretches apart", reads(2, 10), reads(14, 20), false},
		{"read within a stretch", read(5, 7), reads(2, 10), true},
		{"read across a stretch's start", read(1, 3), reads(2, 10), false},
		{"read across a stretch's end", read(9, 11), reads(2, 10), false},
		{"two reads at once", read(0, 10), read(0, 10), false},
	} {
		if got := c.x.overlaps(c.y); got != c.want {
			t.Errorf("%s: %v overlaps %v = %v, want %v", c.name, c.x, c.y, got, c.want)
		}
		if got := c.y.overlaps(c.x); got != c.want {
			t.Errorf("%s: %v overlaps %v = %v, want %v", c.name, c.y, c.x, got, c.want)
		}
	}
}
