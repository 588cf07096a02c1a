package vip_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
)

// base is an arbitrary instant: the proofs below never look at the clock.
var base = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// received reports whether ch holds a value, taking it.
func received(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestProofExtendMovesForwardOnly(t *testing.T) {
	p := vip.NewProof(base)
	if got := p.ProvenUntil(); !got.Equal(base) {
		t.Fatalf("ProvenUntil of a new proof = %v, want %v", got, base)
	}
	for _, tc := range []struct {
		until time.Time
		moved bool
		want  time.Time
	}{
		{base, false, base},                                  // the same instant
		{base.Add(-time.Second), false, base},                // earlier
		{base.Add(time.Second), true, base.Add(time.Second)}, // later
		{base.Add(500 * time.Millisecond), false, base.Add(time.Second)},
		{base.Add(3 * time.Second), true, base.Add(3 * time.Second)},
	} {
		if moved := p.Extend(tc.until); moved != tc.moved {
			t.Errorf("Extend(%v) = %v, want %v", tc.until, moved, tc.moved)
		}
		if got := p.ProvenUntil(); !got.Equal(tc.want) {
			t.Errorf("after Extend(%v): ProvenUntil = %v, want %v", tc.until, got, tc.want)
		}
		if got := p.Last(); !got.Equal(tc.want) {
			t.Errorf("after Extend(%v): Last = %v, want %v", tc.until, got, tc.want)
		}
		if got := received(p.Renewed()); got != tc.moved {
			t.Errorf("after Extend(%v): Renewed signalled %v, want %v", tc.until, got, tc.moved)
		}
		if p.Err() != nil || closed(p.Done()) {
			t.Errorf("after Extend(%v): ended (Err %v)", tc.until, p.Err())
		}
	}
}

// TestProofFirstProof: a proof that starts unproven takes its first
// Extend as the proof the term starts with, not as a renewal.
func TestProofFirstProof(t *testing.T) {
	p := vip.NewProof(time.Time{})
	if got := p.ProvenUntil(); !got.IsZero() {
		t.Fatalf("ProvenUntil of an unproven proof = %v, want zero", got)
	}
	if p.Err() != nil || closed(p.Done()) {
		t.Fatalf("an unproven proof has ended (Err %v)", p.Err())
	}
	if !p.Extend(base) {
		t.Fatalf("first Extend(%v) did not move ProvenUntil", base)
	}
	if received(p.Renewed()) {
		t.Error("the first proof signalled Renewed")
	}
	if got := p.ProvenUntil(); !got.Equal(base) {
		t.Errorf("ProvenUntil = %v, want %v", got, base)
	}
	if !p.Extend(base.Add(time.Second)) || !received(p.Renewed()) {
		t.Error("the second proof did not move ProvenUntil and signal Renewed")
	}
}

// TestProofRenewedCoalesced: Extend never blocks on Renewed; renewals not
// received are one value.
func TestProofRenewedCoalesced(t *testing.T) {
	p := vip.NewProof(base)
	for i := 1; i <= 100; i++ {
		if !p.Extend(base.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("Extend %d did not move ProvenUntil", i)
		}
	}
	if !received(p.Renewed()) {
		t.Fatal("Renewed not signalled after 100 renewals")
	}
	if received(p.Renewed()) {
		t.Error("Renewed holds more than one value")
	}
	if got, want := p.ProvenUntil(), base.Add(100*time.Second); !got.Equal(want) {
		t.Errorf("ProvenUntil = %v, want %v", got, want)
	}
}

func TestProofEnd(t *testing.T) {
	reason := errors.New("lease expired")
	p := vip.NewProof(base)
	p.Extend(base.Add(time.Second))
	received(p.Renewed())

	if !p.End(reason) {
		t.Fatal("the first End reported that it did not end the term")
	}
	err := p.Err()
	if !errors.Is(err, reason) || !errors.Is(err, vip.ErrNotLeader) {
		t.Errorf("Err = %v, want it to wrap %v and vip.ErrNotLeader", err, reason)
	}
	if want := "lease expired: " + vip.ErrNotLeader.Error(); err == nil || err.Error() != want {
		t.Errorf("Err = %v, want %q", err, want)
	}
	if got := p.ProvenUntil(); !got.IsZero() {
		t.Errorf("ProvenUntil after End = %v, want zero", got)
	}
	if got, want := p.Last(), base.Add(time.Second); !got.Equal(want) {
		t.Errorf("Last after End = %v, want %v", got, want)
	}
	if !closed(p.Done()) {
		t.Error("Done not closed after End")
	}

	if p.End(errors.New("resigned")) {
		t.Error("a second End reported that it ended the term")
	}
	if p.Err() != err {
		t.Errorf("a second End changed Err from %v to %v", err, p.Err())
	}
	if p.Extend(base.Add(time.Hour)) {
		t.Error("Extend after End moved ProvenUntil")
	}
	if got := p.ProvenUntil(); !got.IsZero() {
		t.Errorf("ProvenUntil after Extend after End = %v, want zero", got)
	}
	if received(p.Renewed()) {
		t.Error("Extend after End signalled Renewed")
	}
}

// TestProofEndReasons: Err wraps vip.ErrNotLeader once, whatever the
// reason.
func TestProofEndReasons(t *testing.T) {
	wrapped := fmt.Errorf("term 1: %w", vip.ErrNotLeader)
	for _, tc := range []struct {
		reason error
		want   string
	}{
		{nil, vip.ErrNotLeader.Error()},
		{vip.ErrNotLeader, vip.ErrNotLeader.Error()},
		{wrapped, wrapped.Error()},
		{fmt.Errorf("etcd elector: term 1: %w", errors.New("resigned")), "etcd elector: term 1: resigned: " + vip.ErrNotLeader.Error()},
	} {
		p := vip.NewProof(base)
		p.End(tc.reason)
		err := p.Err()
		if !errors.Is(err, vip.ErrNotLeader) {
			t.Errorf("End(%v): Err = %v, does not wrap vip.ErrNotLeader", tc.reason, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("End(%v): Err = %q, want %q", tc.reason, err, tc.want)
		}
		if tc.reason != nil && !errors.Is(err, tc.reason) {
			t.Errorf("End(%v): Err = %v, does not wrap the reason", tc.reason, err)
		}
	}
}

// TestProofEndOnce: of concurrent Ends exactly one ends the term, and its
// reason is the one recorded.
func TestProofEndOnce(t *testing.T) {
	const n = 16
	p := vip.NewProof(base)
	reasons := make([]error, n)
	won := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		reasons[i] = fmt.Errorf("reason %d", i)
		wg.Go(func() {
			<-start
			won[i] = p.End(reasons[i])
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range n {
		if won[i] {
			winners++
			if !errors.Is(p.Err(), reasons[i]) {
				t.Errorf("End(%v) ended the term, but Err = %v", reasons[i], p.Err())
			}
		}
	}
	if winners != 1 {
		t.Errorf("%d of %d concurrent Ends ended the term, want 1", winners, n)
	}
	if !closed(p.Done()) {
		t.Error("Done not closed")
	}
}

// TestProofExtendEndRace runs renewals, an End and observers at once (run
// it with -race): an observer never sees ProvenUntil move backwards while
// the term runs, nor become non-zero again once it was zero; once Done is
// closed, Err is set and ProvenUntil is zero; Last is the latest accepted
// renewal.
func TestProofExtendEndRace(t *testing.T) {
	const (
		extenders = 4
		steps     = 2000
		observers = 2
	)
	p := vip.NewProof(base)
	var wg sync.WaitGroup
	start := make(chan struct{})
	latest := make([]time.Time, extenders) // each extender's latest accepted proof
	for i := range extenders {
		wg.Go(func() {
			<-start
			for s := range steps {
				until := base.Add(time.Duration(s*extenders+i+1) * time.Millisecond)
				if p.Extend(until) {
					latest[i] = until
				}
			}
		})
	}
	ended := make(chan bool, 1)
	wg.Go(func() {
		<-start
		for range steps / 2 {
			p.ProvenUntil()
		}
		ended <- p.End(errors.New("resigned"))
	})
	errs := make(chan error, observers)
	for range observers {
		wg.Go(func() {
			<-start
			var prev time.Time // the latest non-zero ProvenUntil seen
			sawZero := false
			for {
				done := closed(p.Done())
				got := p.ProvenUntil()
				err := p.Err()
				switch {
				case done && (!got.IsZero() || err == nil):
					errs <- fmt.Errorf("Done closed but ProvenUntil %v, Err %v", got, err)
					return
				case got.IsZero() && err == nil:
					errs <- errors.New("ProvenUntil zero while the term runs")
					return
				case sawZero && !got.IsZero():
					errs <- fmt.Errorf("ProvenUntil %v after it was zero", got)
					return
				case got.Before(prev) && !got.IsZero():
					errs <- fmt.Errorf("ProvenUntil moved backwards from %v to %v", prev, got)
					return
				}
				if done {
					return
				}
				if got.IsZero() {
					sawZero = true
				} else {
					prev = got
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !<-ended {
		t.Error("the only End did not end the term")
	}
	var want time.Time
	for _, l := range latest {
		if l.After(want) {
			want = l
		}
	}
	if want.IsZero() {
		want = base
	}
	if got := p.Last(); !got.Equal(want) {
		t.Errorf("Last = %v, want the latest accepted renewal %v", got, want)
	}
	if p.Extend(want.Add(time.Hour)) {
		t.Error("Extend after End moved ProvenUntil")
	}
}

func TestProofNormalizeTTL(t *testing.T) {
	const prefix = "etcd elector: "
	for _, tc := range []struct {
		in, want time.Duration
		err      string
	}{
		{0, vip.DefaultTTL, ""},
		{vip.MinTTL, vip.MinTTL, ""},
		{15 * time.Second, 15 * time.Second, ""},
		{time.Second, 0, "etcd elector: ttl: 1s is below the minimum 3s: invalid spec"},
		{-time.Second, 0, "etcd elector: ttl: -1s is below the minimum 3s: invalid spec"},
		{3500 * time.Millisecond, 0, "etcd elector: ttl: 3.5s is not a whole number of seconds: invalid spec"},
	} {
		got, err := vip.NormalizeTTL(prefix, tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("NormalizeTTL(%v) = %v, %v; want error %q wrapping netprim.ErrInvalidSpec", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeTTL(%v) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestProofNormalizeMargin(t *testing.T) {
	const prefix = "kube elector: "
	for _, tc := range []struct {
		in, want time.Duration
		err      string
	}{
		{0, vip.DefaultMargin, ""},
		{time.Nanosecond, time.Nanosecond, ""},
		{time.Hour, time.Hour, ""}, // the upper bound is the elector's
		{-time.Millisecond, 0, "kube elector: margin: -1ms is negative: invalid spec"},
	} {
		got, err := vip.NormalizeMargin(prefix, tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("NormalizeMargin(%v) = %v, %v; want error %q wrapping netprim.ErrInvalidSpec", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeMargin(%v) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// ExampleProof shows the proof an elector's term keeps: each renewal moves
// it forward, and the end records why.
func ExampleProof() {
	granted := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	ttl := 10 * time.Second
	proof := vip.NewProof(granted.Add(ttl - vip.DefaultMargin))

	// A renewal sent 2.5 s later succeeded.
	proof.Extend(granted.Add(2500*time.Millisecond + ttl - vip.DefaultMargin))
	<-proof.Renewed()
	fmt.Println("proven until", proof.ProvenUntil().Format(time.TimeOnly+".0"))

	// The elector found the lease gone.
	if proof.End(fmt.Errorf("example elector: term 1: %w", errors.New("lease expired"))) {
		fmt.Println("ended:", proof.Err())
	}
	<-proof.Done()
	fmt.Println("proven until zero:", proof.ProvenUntil().IsZero())
	// Output:
	// proven until 10:00:12.3
	// ended: example elector: term 1: lease expired: not the leader
	// proven until zero: true
}

// TestHoldLifetime: the address's kernel lifetime ends vip.LifetimeSlack
// before the proof, in whole seconds.
func TestHoldLifetime(t *testing.T) {
	for _, tc := range []struct{ proven, want time.Duration }{
		{2800 * time.Millisecond, time.Second}, // vip.MinTTL less the default margin
		{1800 * time.Millisecond, 0},           // a TTL of 2 s: no whole second left
		{3800 * time.Millisecond, 2 * time.Second},
		{9800 * time.Millisecond, 8 * time.Second},
		{0, 0},
		{-time.Second, 0},
	} {
		if got := vip.HoldLifetime(tc.proven); got != tc.want {
			t.Errorf("HoldLifetime(%v) = %v, want %v", tc.proven, got, tc.want)
		}
	}
}
