package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/netprim/netprim/vip"
)

// cleanupTimeout bounds the release a cancelled Campaign makes on its own:
// when the API server does not answer by then, the Lease expires within its
// duration.
const cleanupTimeout = time.Second

// Term is a term won by Elector.Campaign: a vip.Term on the Lease.
//
// While it runs, client-go's LeaderElector renews the Lease every
// Options.RetryPeriod, and each successful renewal moves ProvenUntil (see
// the package documentation for how far). The term ends, and Done is
// closed, when ProvenUntil passes without a renewal, when the
// LeaderElector stops (it could not renew within Options.RenewDeadline, or
// found another holder), or on Resign. Once it ended, the LeaderElector is
// stopped and releases the Lease if the Lease still names this node.
type Term struct {
	e *Elector
	// proof is extended and ended only with mu held: a term seen running
	// with mu held runs until mu is released.
	proof   *vip.Proof
	stopped chan struct{} // closed when the LeaderElector's Run has returned
	cancel  context.CancelFunc

	mu          sync.Mutex
	won         bool // a write naming this node succeeded
	attempted   bool // a write naming this node was sent
	transitions int  // the Lease's leaseTransitions when won
	id          string
	timer       *time.Timer // ends the term when its proof runs out
	runBytes    []byte      // observedBytes of the last write sent
	runStart    time.Time   // when the first write with runBytes was sent
	sent        time.Time   // when the last write was sent
	releaseErr  error       // the outcome of the last release step after the end

	// For tests: the first proof's send time, the time the term ended,
	// the send time of the last successful write.
	start, endedAt, lastSent time.Time
}

var _ vip.Term = (*Term)(nil)

func newTerm(e *Elector, cancel context.CancelFunc) *Term {
	return &Term{
		e:       e,
		proof:   vip.NewProof(time.Time{}),
		stopped: make(chan struct{}),
		cancel:  cancel,
		id:      fmt.Sprintf("kube lease %s/%s holder %s", e.namespace, e.name, e.identity),
	}
}

// ID returns "kube lease NAMESPACE/NAME holder IDENTITY transitions N":
// the Lease, this node and the Lease's spec.leaseTransitions when it won,
// which a later term of any node (this one included, after a release)
// increments.
func (t *Term) ID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.id
}

// Transitions returns the Lease's spec.leaseTransitions of this term.
func (t *Term) Transitions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.transitions
}

// ProvenUntil returns the instant before which no other node can take the
// Lease over: the send time of the first write of the current renewal
// second plus the Lease's duration, less Options.Margin (see the package
// documentation). It never moves backwards while the term runs and is zero
// once the term has ended.
func (t *Term) ProvenUntil() time.Time { return t.proof.ProvenUntil() }

// Renewed receives a value whenever ProvenUntil moved forward (buffered by
// one, so renewals not received are coalesced).
func (t *Term) Renewed() <-chan struct{} { return t.proof.Renewed() }

// Done is closed when the term has ended.
func (t *Term) Done() <-chan struct{} { return t.proof.Done() }

// Err returns why the term ended, an error wrapping vip.ErrNotLeader; nil
// while it runs.
func (t *Term) Err() error { return t.proof.Err() }

// Verify returns nil when the term runs and the Lease names this node with
// the term's transition count. Otherwise the error wraps vip.ErrNotLeader;
// errors talking to the API server are returned as they are.
func (t *Term) Verify(ctx context.Context) error {
	if err := t.Err(); err != nil {
		return err
	}
	e := t.e
	lease, err := e.client.CoordinationV1().Leases(e.namespace).Get(ctx, e.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kube elector: term %s: lease %s/%s is gone: %w", t.ID(), e.namespace, e.name, vip.ErrNotLeader)
	}
	if err != nil {
		return fmt.Errorf("kube elector: verify term %s: %w", t.ID(), err)
	}
	if err := t.Err(); err != nil {
		return err
	}
	rec := rl.LeaseSpecToLeaderElectionRecord(&lease.Spec)
	if !t.holds(rec) {
		return fmt.Errorf("kube elector: term %s: lease names holder %q transitions %d: %w",
			t.ID(), rec.HolderIdentity, rec.LeaderTransitions, vip.ErrNotLeader)
	}
	return nil
}

// Resign ends the term, stops the LeaderElector, which releases the Lease
// (clears its holder, so the next candidate wins at once) if the Lease
// still names this node, and waits for it, bounded by ctx. Done is closed
// and ProvenUntil is zero before the release is sent. When that release
// failed, Resign tries once more with ctx. It returns nil once the Lease is
// released or names another holder; it may be called more than once, and
// after Done.
func (t *Term) Resign(ctx context.Context) error {
	t.end(errors.New("resigned"))
	select {
	case <-t.stopped:
	case <-ctx.Done():
		return fmt.Errorf("kube elector: resign term %s: %w", t.ID(), ctx.Err())
	}
	t.mu.Lock()
	err := t.releaseErr
	t.mu.Unlock()
	if err == nil {
		return nil
	}
	if err := t.withdraw(ctx); err != nil {
		return fmt.Errorf("kube elector: resign term %s: %w", t.ID(), err)
	}
	return nil
}

// holds reports whether rec, read from the Lease, names this node in this
// term (before the term was won: names this node).
func (t *Term) holds(rec *rl.LeaderElectionRecord) bool {
	if rec == nil || rec.HolderIdentity != t.e.identity {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.won || rec.LeaderTransitions == t.transitions
}

// withdraw releases the Lease if it names this node in this term. It is
// called after the LeaderElector stopped, when its release did not happen
// or failed.
func (t *Term) withdraw(ctx context.Context) error {
	e := t.e
	leases := e.client.CoordinationV1().Leases(e.namespace)
	for range 3 {
		lease, err := leases.Get(ctx, e.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			t.setReleaseErr(nil)
			return nil
		}
		if err != nil {
			err = fmt.Errorf("read lease: %w", err)
			t.setReleaseErr(err)
			return err
		}
		old := rl.LeaseSpecToLeaderElectionRecord(&lease.Spec)
		if !t.holds(old) {
			t.setReleaseErr(nil)
			return nil
		}
		// The record client-go's release writes.
		now := metav1.Now()
		lease.Spec = rl.LeaderElectionRecordToLeaseSpec(&rl.LeaderElectionRecord{
			LeaderTransitions:    old.LeaderTransitions,
			LeaseDurationSeconds: 1,
			RenewTime:            now,
			AcquireTime:          now,
		})
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			err = fmt.Errorf("release lease: %w", err)
		}
		t.setReleaseErr(err)
		return err
	}
	err := errors.New("release lease: conflicting writes, gave up")
	t.setReleaseErr(err)
	return err
}

// attempt notes that a write naming this node with the given observed
// bytes is about to be sent; it fails once the term has ended.
func (t *Term) attempt(observed []byte) error {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.proof.Err() != nil {
		return errTermEnded
	}
	t.attempted = true
	t.sent = now
	if t.runStart.IsZero() || !bytes.Equal(observed, t.runBytes) {
		t.runBytes, t.runStart = observed, now
	}
	return nil
}

// proved takes the successful write of rec: the first one wins the term,
// each moves ProvenUntil to the send time of the first write with the same
// observed bytes plus the Lease's duration, less the margin.
func (t *Term) proved(rec rl.LeaderElectionRecord) {
	t.mu.Lock()
	if t.proof.Err() != nil {
		t.mu.Unlock()
		return
	}
	p := t.runStart.Add(time.Duration(rec.LeaseDurationSeconds)*time.Second - t.e.opts.Margin)
	t.lastSent = t.sent
	if !t.won {
		t.won = true
		t.transitions = rec.LeaderTransitions
		t.id = fmt.Sprintf("%s transitions %d", t.id, rec.LeaderTransitions)
		t.start = t.runStart
		t.proof.Extend(p) // the first proof: no renewal
		t.timer = time.AfterFunc(time.Until(p), t.expire)
		t.mu.Unlock()
		return
	}
	if rec.LeaderTransitions != t.transitions {
		// Another term came in between: this one is over.
		t.mu.Unlock()
		t.end(fmt.Errorf("lease transitions moved from %d to %d", t.transitions, rec.LeaderTransitions))
		return
	}
	if t.proof.Extend(p) {
		t.timer.Reset(time.Until(p))
	}
	t.mu.Unlock()
}

// expire ends the term when ProvenUntil has passed.
func (t *Term) expire() {
	t.mu.Lock()
	if t.proof.Err() != nil {
		t.mu.Unlock()
		return
	}
	if left := time.Until(t.proof.ProvenUntil()); left > 0 {
		t.timer.Reset(left)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.end(errors.New("leadership no longer proven: no renewal in time"))
}

// end ends the term for reason: ProvenUntil becomes zero, Done is closed,
// the LeaderElector is told to stop. Only the first call counts.
func (t *Term) end(reason error) {
	t.mu.Lock()
	if !t.proof.End(fmt.Errorf("kube elector: term %s: %w", t.id, reason)) {
		t.mu.Unlock()
		return
	}
	t.endedAt = time.Now()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
	t.cancel()
}

// setReleaseErr records the outcome of a release step after the end.
func (t *Term) setReleaseErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseErr = err
}
