package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/vip"
)

// maxRetryDelay bounds the pause before a failed renewal is tried again.
const maxRetryDelay = 250 * time.Millisecond

// Term is a term won by Elector.Campaign: a vip.Term on the candidate's
// lease and key.
//
// While it runs, a goroutine renews the lease (KeepAliveOnce) every
// Options.RenewInterval and moves ProvenUntil to the send time of each
// successful renewal plus the lease's TTL less Options.Margin; failed
// renewals are retried, each bounded by ProvenUntil. Another goroutine
// watches the key. The term ends, and Done is closed, when ProvenUntil
// passes without a renewal, when etcd reports the lease gone or the key
// deleted (by an operator, or by this identity campaigning again), when the
// client is closed, or on Resign. A term that ended on its own revokes its
// lease (best effort, one second at most) and renews nothing more.
type Term struct {
	e     *Elector
	lease clientv3.LeaseID
	key   string
	rev   int64
	id    string

	proof   *vip.Proof
	stopped chan struct{} // closed when the term's goroutines have returned
	ctx     context.Context
	cancel  context.CancelFunc
	// cleanup bounds the revoke after the term ended on its own; Resign
	// cancels it, as it gives the lease up itself.
	cleanup       context.Context
	cancelCleanup context.CancelFunc

	resignMu sync.Mutex
	released bool // Resign deleted the key and revoked the lease
}

var _ vip.Term = (*Term)(nil)

func startTerm(e *Elector, lease clientv3.LeaseID, key string, rev int64, sent, proven time.Time, watchRev int64) *Term {
	t := &Term{
		e:       e,
		lease:   lease,
		key:     key,
		rev:     rev,
		id:      fmt.Sprintf("etcd lease %x rev %d", int64(lease), rev),
		proof:   vip.NewProof(proven),
		stopped: make(chan struct{}),
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.cleanup, t.cancelCleanup = context.WithCancel(context.Background())
	go t.run(sent.Add(e.opts.RenewInterval), watchRev)
	return t
}

// ID returns "etcd lease LEASE rev REV": the lease ID in hex (also the last
// element of the key) and the key's create revision.
func (t *Term) ID() string { return t.id }

// Key returns the term's key in etcd.
func (t *Term) Key() string { return t.key }

// Lease returns the ID of the term's lease.
func (t *Term) Lease() clientv3.LeaseID { return t.lease }

// ProvenUntil returns the instant before which no other node can win: the
// send time of the last successful renewal plus the lease's TTL as etcd
// granted it, less Options.Margin. etcd expires the lease no earlier than
// TTL after it received that renewal, and no other candidate leads while
// the key exists. It never moves backwards while the term runs and is zero
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

// Verify returns nil when the term runs and its key is the leader's: it
// exists with the term's create revision and no key under the prefix was
// created before it. Otherwise the error wraps vip.ErrNotLeader; errors
// talking to etcd are returned as they are.
func (t *Term) Verify(ctx context.Context) error {
	select {
	case <-t.Done():
		return fmt.Errorf("etcd elector: term %s has ended: %w", t.id, vip.ErrNotLeader)
	default:
	}
	resp, err := t.e.client.Get(ctx, t.e.keyRange(), clientv3.WithFirstCreate()...)
	if err != nil {
		return fmt.Errorf("etcd elector: verify term %s: %w", t.id, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("etcd elector: term %s: no candidate under %s: %w", t.id, t.e.prefix, vip.ErrNotLeader)
	}
	select {
	case <-t.Done():
		return fmt.Errorf("etcd elector: term %s has ended: %w", t.id, vip.ErrNotLeader)
	default:
	}
	kv := resp.Kvs[0]
	if string(kv.Key) != t.key || kv.CreateRevision != t.rev {
		return fmt.Errorf("etcd elector: term %s: %q leads (key %s rev %d): %w",
			t.id, kv.Value, kv.Key, kv.CreateRevision, vip.ErrNotLeader)
	}
	return nil
}

// Resign ends the term and then releases the election: it deletes the key
// (if it still has the term's create revision) and revokes the lease, with
// ctx only. Done is closed and ProvenUntil is zero before the key goes, so
// the next leader never overlaps with this term. Resign may be called more
// than once, and after Done; once it succeeded it does nothing more. When
// it returns, the term's goroutines have returned, unless ctx ended first.
func (t *Term) Resign(ctx context.Context) error {
	t.end(errors.New("resigned"))
	t.cancelCleanup()
	select {
	case <-t.stopped:
	case <-ctx.Done():
		return fmt.Errorf("etcd elector: resign term %s: %w", t.id, ctx.Err())
	}
	t.resignMu.Lock()
	defer t.resignMu.Unlock()
	if t.released {
		return nil
	}
	c := t.e.client
	if err := c.Ctx().Err(); err != nil {
		// A closed client retries its calls until they time out.
		return fmt.Errorf("etcd elector: resign term %s: etcd client closed: %w", t.id, err)
	}
	_, err := c.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)).
		Then(clientv3.OpDelete(t.key)).
		Commit()
	if err != nil {
		return fmt.Errorf("etcd elector: resign term %s: delete key: %w", t.id, err)
	}
	if _, err := c.Revoke(ctx, t.lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("etcd elector: resign term %s: revoke lease: %w", t.id, err)
	}
	t.released = true
	return nil
}

// end ends the term for reason: ProvenUntil becomes zero, Done is closed
// and the goroutines are told to stop. Only the first call counts.
func (t *Term) end(reason error) {
	if t.proof.End(fmt.Errorf("etcd elector: term %s: %w", t.id, reason)) {
		t.cancel()
	}
}

// run renews the lease until the term ends, with the key watched beside,
// then gives the lease up unless Resign does.
func (t *Term) run(next time.Time, watchRev int64) {
	defer close(t.stopped)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.watch(watchRev)
	}()
	t.renew(next)
	wg.Wait()

	if t.cleanup.Err() == nil && t.e.client.Ctx().Err() == nil {
		ctx, cancel := context.WithTimeout(t.cleanup, cleanupTimeout)
		t.e.client.Revoke(ctx, t.lease) // best effort: otherwise it expires
		cancel()
	}
}

// renew renews the lease every RenewInterval until the term ends, and ends
// it when ProvenUntil passes or the lease is gone; the first renewal is
// due at next.
func (t *Term) renew(next time.Time) {
	o := t.e.opts
	retry := min(o.RenewInterval, maxRetryDelay)
	var lastErr error
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		proven := t.ProvenUntil()
		if proven.IsZero() {
			return // ended
		}
		timer.Reset(time.Until(minTime(next, proven)))
		select {
		case <-t.ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(proven) {
			reason := errors.New("leadership no longer proven: no renewal succeeded in time")
			if lastErr != nil {
				reason = fmt.Errorf("leadership no longer proven: renew lease: %w", lastErr)
			}
			t.end(reason)
			return
		}
		if now.Before(next) {
			continue
		}
		// One attempt lasts a renewal interval at most, and never past
		// ProvenUntil: a connection that went silent does not hold the
		// term beyond its proof.
		ctx, cancel := context.WithDeadline(t.ctx, minTime(now.Add(o.RenewInterval), proven))
		sent := time.Now()
		resp, err := t.e.client.KeepAliveOnce(ctx, t.lease)
		cancel()
		switch {
		case err == nil:
			t.proof.Extend(sent.Add(time.Duration(resp.TTL)*time.Second - o.Margin))
			next = sent.Add(o.RenewInterval)
			lastErr = nil
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			t.end(fmt.Errorf("lease expired or revoked: %w", err))
			return
		case t.ctx.Err() != nil:
			return
		case t.e.client.Ctx().Err() != nil:
			t.end(errors.New("etcd client closed"))
			return
		default:
			lastErr = err
			next = time.Now().Add(retry)
		}
	}
}

// watch ends the term when the key is deleted. The watch starts at
// revision rev, right after the campaign last saw the key.
func (t *Term) watch(rev int64) {
	c := t.e.client
	for {
		for wr := range c.Watch(t.ctx, t.key, clientv3.WithRev(rev)) {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.DELETE {
					t.end(fmt.Errorf("key %s deleted at revision %d", t.key, ev.Kv.ModRevision))
					return
				}
			}
		}
		if t.ctx.Err() != nil {
			return
		}
		if c.Ctx().Err() != nil {
			t.end(errors.New("etcd client closed"))
			return
		}
		// The watch broke off (compaction, a server cancelling it): look
		// at the key, then watch again from there.
		ctx, cancel := context.WithTimeout(t.ctx, t.e.opts.RenewInterval)
		resp, err := c.Get(ctx, t.key)
		cancel()
		switch {
		case err != nil:
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(min(t.e.opts.RenewInterval, maxRetryDelay)):
			}
		case len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != t.rev:
			t.end(fmt.Errorf("key %s deleted", t.key))
			return
		default:
			rev = resp.Header.Revision + 1
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
