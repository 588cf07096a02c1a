package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/vip"
)

// cleanupTimeout bounds the calls that give up a lease or a key after the
// caller's context ended or the term ran out: when etcd does not answer by
// then, the lease expires on its own within its TTL.
const cleanupTimeout = time.Second

// Elector is a vip.Elector on an etcd election: each candidate puts one key,
// PREFIX/LEASE (the lease ID in hex), attached to a lease of its own and
// holding its identity, and the key with the lowest create revision leads.
// This is the layout of go.etcd.io/etcd/client/v3/concurrency.Election, so
// its Leader and Observe (and etcdctl elect) see the same leader.
//
// An Elector is safe for concurrent use, but one node runs one Campaign at a
// time: a Campaign deletes the keys its identity left under the prefix
// before (see Campaign), and with them the key of any other Campaign or
// Term of the same identity.
type Elector struct {
	client   *clientv3.Client
	prefix   string // no trailing slash
	identity string
	opts     Options
}

var _ vip.Elector = (*Elector)(nil)

// New returns an Elector for the election under prefix (for example
// "/netprim/vip/192.0.2.10"; a trailing slash is dropped), in which this
// node is identity. Every node sharing the IP uses the same prefix and a
// distinct identity. The key range below prefix belongs to the election:
// any key there takes part in it. Errors for bad arguments wrap
// netprim.ErrInvalidSpec and name the field. The Elector does not close
// client.
func New(client *clientv3.Client, prefix, identity string, o Options) (*Elector, error) {
	const p = "etcd elector: "
	if client == nil {
		return nil, specerr.Invalid(p, "client", "is nil")
	}
	trimmed := strings.TrimRight(prefix, "/")
	if trimmed == "" {
		return nil, specerr.Invalid(p, "prefix", "%q names no key range", prefix)
	}
	if identity == "" {
		return nil, specerr.Invalid(p, "identity", "is empty")
	}
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	return &Elector{client: client, prefix: trimmed, identity: identity, opts: o}, nil
}

// Identity returns this node's name in the election, the value of its key.
func (e *Elector) Identity() string { return e.identity }

// Prefix returns the election's key prefix, without a trailing slash.
func (e *Elector) Prefix() string { return e.prefix }

// Options returns the options in effect, defaults filled in.
func (e *Elector) Options() Options { return e.opts }

// keyRange is the prefix of the candidates' keys.
func (e *Elector) keyRange() string { return e.prefix + "/" }

// Leader returns the identity of the current leader (the value of the key
// with the lowest create revision under the prefix), "" when no node
// campaigns.
func (e *Elector) Leader(ctx context.Context) (string, error) {
	resp, err := e.client.Get(ctx, e.keyRange(), clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("etcd elector %s: leader: %w", e.prefix, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// errLost means the candidacy's key vanished before its term could start
// (its lease expired or someone deleted the key): campaign again.
var errLost = errors.New("candidacy lost before the term started")

// Campaign blocks until this node leads and returns its Term, a *Term.
//
// It first deletes the keys its identity left under the prefix in an
// earlier run (a key holding this identity on another lease; each delete is
// guarded by the key's create revision), so that a restarted node does not
// wait a TTL for its own old key to expire. Then it grants a lease of
// Options.TTL, kept alive while it waits, puts its key, and waits until
// every key created before it is gone. Once it leads it renews the lease
// once more, checks that its key is still there, and starts the term.
//
// When ctx ends first, Campaign withdraws (revokes its lease, which
// deletes its key, with a fresh context of its own, one second at most)
// and returns ctx's error. When etcd fails it withdraws the same way and
// returns the error; the caller may campaign again.
func (e *Elector) Campaign(ctx context.Context) (vip.Term, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := e.campaign(ctx)
		if errors.Is(err, errLost) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

func (e *Elector) campaign(ctx context.Context) (*Term, error) {
	g, err := e.client.Grant(ctx, int64(e.opts.TTL/time.Second))
	if err != nil {
		return nil, e.campaignError(ctx, "grant lease", err)
	}
	lease := g.ID
	withdraw := func() {
		if e.client.Ctx().Err() != nil {
			return // closed: the lease expires on its own
		}
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		e.client.Revoke(cctx, lease) // best effort: otherwise the lease expires
	}
	if err := e.resignStale(ctx, lease); err != nil {
		withdraw()
		return nil, e.campaignError(ctx, "resign stale key", err)
	}
	// The session keeps the lease alive while this node waits in line.
	session, err := concurrency.NewSession(e.client, concurrency.WithLease(lease), concurrency.WithTTL(int(g.TTL)))
	if err != nil {
		withdraw()
		return nil, e.campaignError(ctx, "keep lease alive", err)
	}
	key := fmt.Sprintf("%s%x", e.keyRange(), lease)
	rev, err := e.enqueue(ctx, session, key)
	// From here the term renews the lease itself, or it is given up.
	session.Orphan()
	if err != nil {
		withdraw()
		return nil, e.campaignError(ctx, "campaign", err)
	}

	// Prove leadership once before the term starts: renew, noting the
	// time before sending, then check the key is still the one put.
	sent := time.Now()
	ka, err := e.client.KeepAliveOnce(ctx, lease)
	if err != nil {
		withdraw()
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return nil, errLost
		}
		return nil, e.campaignError(ctx, "renew lease", err)
	}
	resp, err := e.client.Get(ctx, key)
	if err != nil {
		withdraw()
		return nil, e.campaignError(ctx, "check key", err)
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != rev {
		withdraw()
		return nil, errLost
	}
	proven := sent.Add(time.Duration(ka.TTL)*time.Second - e.opts.Margin)
	return startTerm(e, lease, key, rev, sent, proven, resp.Header.Revision+1), nil
}

// campaignError returns ctx's error when ctx ended, err wrapped otherwise.
func (e *Elector) campaignError(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return fmt.Errorf("etcd elector %s: %s: %w", e.prefix, op, err)
}

// resignStale deletes the keys under the prefix that hold this node's
// identity on a lease other than lease: left by an earlier run.
func (e *Elector) resignStale(ctx context.Context, lease clientv3.LeaseID) error {
	resp, err := e.client.Get(ctx, e.keyRange(), clientv3.WithPrefix())
	if err != nil {
		return err
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) != e.identity || clientv3.LeaseID(kv.Lease) == lease {
			continue
		}
		k := string(kv.Key)
		_, err := e.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(k), "=", kv.CreateRevision)).
			Then(clientv3.OpDelete(k)).
			Commit()
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// enqueue puts key on the session's lease, unless it exists, and waits
// until no key under the prefix was created before it; it returns the
// key's create revision. It is the protocol of concurrency.Election's
// Campaign, which, when its context ends, withdraws with the client's
// context: without etcd that call would block until the client is closed.
func (e *Elector) enqueue(ctx context.Context, s *concurrency.Session, key string) (int64, error) {
	// Give up waiting when the session ends (its lease expired).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.Ctx(), cancel)
	defer stop()

	resp, err := e.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, e.identity, clientv3.WithLease(s.Lease()))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, e.lostIfSessionEnded(s, err)
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		rev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	if err := e.waitDeletes(ctx, rev-1); err != nil {
		return 0, e.lostIfSessionEnded(s, err)
	}
	return rev, nil
}

func (e *Elector) lostIfSessionEnded(s *concurrency.Session, err error) error {
	select {
	case <-s.Done():
		return errLost
	default:
		return err
	}
}

// waitDeletes waits until no key under the prefix has a create revision of
// maxRev or less.
func (e *Elector) waitDeletes(ctx context.Context, maxRev int64) error {
	opts := append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(maxRev))
	for {
		resp, err := e.client.Get(ctx, e.keyRange(), opts...)
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if err := e.waitDelete(ctx, string(resp.Kvs[0].Key), resp.Header.Revision); err != nil {
			return err
		}
	}
}

// waitDelete waits until key is deleted at a revision after rev.
func (e *Elector) waitDelete(ctx context.Context, key string, rev int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range e.client.Watch(ctx, key, clientv3.WithRev(rev+1)) {
		if err := wr.Err(); err != nil {
			// Compacted or cancelled by the server: look again.
			return nil
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.DELETE {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("watch ended")
}
