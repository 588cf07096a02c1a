package kube

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/netprim/netprim/vip"
)

// TestProofFromFirstWriteOfSecond checks the rule ProvenUntil follows:
// candidates restart their expiry clock only when the record they read
// back changes, and its times have whole seconds, so a renewal within the
// same second as the one before does not move the proof; the first write
// of a new second does, from its own send time, even when it failed and a
// retry in the same second got through.
func TestProofFromFirstWriteOfSecond(t *testing.T) {
	e, err := New(fake.NewClientset(), "default", "vip", "node-a", Options{TTL: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	term := newTerm(e, func() {})
	base := time.Date(2026, 1, 2, 10, 0, 0, 100e6, time.UTC)
	rec := func(d time.Duration) rl.LeaderElectionRecord {
		return rl.LeaderElectionRecord{
			HolderIdentity:       "node-a",
			LeaseDurationSeconds: 4,
			AcquireTime:          metav1.NewTime(base),
			RenewTime:            metav1.NewTime(base.Add(d)),
			LeaderTransitions:    3,
		}
	}
	proof := 4*time.Second - e.opts.Margin
	// send notes the attempt of r, between the returned bounds.
	send := func(r rl.LeaderElectionRecord) (before, after time.Time) {
		before = time.Now()
		if err := term.attempt(observedBytes(r)); err != nil {
			t.Fatal(err)
		}
		return before, time.Now()
	}
	within := func(what string, got, before, after time.Time) {
		t.Helper()
		if got.Before(before.Add(proof)) || got.After(after.Add(proof)) {
			t.Errorf("%s: ProvenUntil %v not between %v and %v", what, got, before.Add(proof), after.Add(proof))
		}
	}
	renewed := func() bool {
		select {
		case <-term.Renewed():
			return true
		default:
			return false
		}
	}

	b, a := send(rec(0))
	term.proved(rec(0))
	within("winning write", term.ProvenUntil(), b, a)
	if want := "kube lease default/vip holder node-a transitions 3"; term.ID() != want {
		t.Errorf("ID = %q, want %q", term.ID(), want)
	}
	first := term.ProvenUntil()

	time.Sleep(10 * time.Millisecond)
	send(rec(500 * time.Millisecond)) // same second: 10:00:00.6
	term.proved(rec(500 * time.Millisecond))
	if got := term.ProvenUntil(); !got.Equal(first) {
		t.Errorf("renewal in the same second moved ProvenUntil from %v to %v", first, got)
	}
	if renewed() {
		t.Error("Renewed signalled for a renewal that did not move ProvenUntil")
	}

	time.Sleep(10 * time.Millisecond)
	b, a = send(rec(time.Second)) // 10:00:01.1
	term.proved(rec(time.Second))
	within("write of the next second", term.ProvenUntil(), b, a)
	if !renewed() {
		t.Error("Renewed not signalled when ProvenUntil moved")
	}

	time.Sleep(10 * time.Millisecond)
	b, a = send(rec(2 * time.Second)) // 10:00:02.1, fails
	time.Sleep(10 * time.Millisecond)
	send(rec(2200 * time.Millisecond)) // 10:00:02.3, succeeds
	term.proved(rec(2200 * time.Millisecond))
	within("retry in the same second as a failed write", term.ProvenUntil(), b, a)

	// Another transition count means another term came in between.
	term.proved(rl.LeaderElectionRecord{HolderIdentity: "node-a", LeaseDurationSeconds: 4, RenewTime: metav1.NewTime(base.Add(5 * time.Second)), LeaderTransitions: 4})
	select {
	case <-term.Done():
	default:
		t.Fatal("term runs after a renewal under another transition count")
	}
	if !term.ProvenUntil().IsZero() {
		t.Errorf("ProvenUntil = %v after the end, want zero", term.ProvenUntil())
	}
	if err := term.Err(); !errors.Is(err, vip.ErrNotLeader) {
		t.Errorf("Err = %v, want ErrNotLeader", err)
	}
	if err := term.attempt(observedBytes(rec(6 * time.Second))); !errors.Is(err, errTermEnded) {
		t.Errorf("attempt after the end = %v, want %v", err, errTermEnded)
	}
}
