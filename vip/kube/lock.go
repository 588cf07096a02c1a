package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

// proofLock is the resource lock of one campaign: client-go's LeaseLock
// with this package's bookkeeping around it. client-go calls it from one
// goroutine at a time (the LeaderElector's Run).
//
//   - Before each write naming this node as holder it notes the send time
//     (Term.attempt), and after a successful one it moves the term's proof
//     (Term.proved); it refuses such writes once the term has ended.
//   - A write with an empty holder is client-go releasing the Lease: the
//     term ends before it is sent, and it is sent only when the Lease just
//     read still names this node (client-go's release checks only what it
//     last wrote, and would clear another node's Lease after losing it).
type proofLock struct {
	inner *rl.LeaseLock
	t     *Term
	last  *rl.LeaderElectionRecord // from the last successful Get; nil after a failed one
}

var _ rl.Interface = (*proofLock)(nil)

// errTermEnded refuses a renewal client-go attempts after the term ended.
var errTermEnded = errors.New("term has ended")

// errNotHolder refuses a release when the Lease names another holder.
var errNotHolder = errors.New("lease no longer held: nothing to release")

// Get reads the Lease.
func (l *proofLock) Get(ctx context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.inner.Get(ctx)
	if err != nil {
		l.last = nil
	} else {
		l.last = rec
	}
	if l.t.Err() != nil {
		// After the end every read belongs to the release (or to a
		// renewal that is about to be refused).
		if err != nil && !apierrors.IsNotFound(err) {
			l.t.setReleaseErr(fmt.Errorf("read lease: %w", err))
		} else {
			l.t.setReleaseErr(nil)
		}
	}
	return rec, raw, err
}

// Create creates the Lease naming this node.
func (l *proofLock) Create(ctx context.Context, rec rl.LeaderElectionRecord) error {
	return l.write(ctx, rec, l.inner.Create)
}

// Update renews or takes over the Lease, or releases it when rec names no
// holder.
func (l *proofLock) Update(ctx context.Context, rec rl.LeaderElectionRecord) error {
	if rec.HolderIdentity == "" {
		return l.release(ctx, rec)
	}
	return l.write(ctx, rec, l.inner.Update)
}

func (l *proofLock) write(ctx context.Context, rec rl.LeaderElectionRecord, send func(context.Context, rl.LeaderElectionRecord) error) error {
	if rec.HolderIdentity != l.t.e.identity {
		return fmt.Errorf("refusing to write holder %q as %q", rec.HolderIdentity, l.t.e.identity)
	}
	if err := l.t.attempt(observedBytes(rec)); err != nil {
		return err
	}
	if err := send(ctx, rec); err != nil {
		return err
	}
	l.t.proved(rec)
	return nil
}

func (l *proofLock) release(ctx context.Context, rec rl.LeaderElectionRecord) error {
	l.t.end(errors.New("the leader election stopped renewing"))
	if !l.t.holds(l.last) {
		l.t.setReleaseErr(nil)
		return errNotHolder
	}
	err := l.inner.Update(ctx, rec)
	l.t.setReleaseErr(err)
	return err
}

// RecordEvent records nothing: the Elector reports through its Term.
func (l *proofLock) RecordEvent(string) {}

// Identity returns this node's identity.
func (l *proofLock) Identity() string { return l.inner.Identity() }

// Describe returns "NAMESPACE/NAME".
func (l *proofLock) Describe() string { return l.inner.Describe() }

// observedBytes returns the bytes by which other candidates recognise rec
// once it is stored: client-go compares the JSON of the record read back
// from the Lease, in which times have whole seconds. A candidate restarts
// its expiry clock only when these bytes change, so two renewals within
// the same second look like one to it.
func observedBytes(rec rl.LeaderElectionRecord) []byte {
	spec := rl.LeaderElectionRecordToLeaseSpec(&rec)
	b, err := json.Marshal(*rl.LeaseSpecToLeaderElectionRecord(&spec))
	if err != nil {
		return nil // not reachable for this plain struct
	}
	return b
}
