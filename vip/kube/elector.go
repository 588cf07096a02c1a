package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/vip"
)

// Elector is a vip.Elector on a coordination.k8s.io/v1 Lease, run by
// client-go's leader election (k8s.io/client-go/tools/leaderelection with
// a LeaseLock). Every node sharing the IP uses the same Lease and a
// distinct identity; any other client-go leader election on the same Lease
// (kube-vip, a controller manager) takes part in the same election.
//
// An Elector is safe for concurrent use. It runs one campaign or term at a
// time: Campaign waits until the LeaderElector of the previous term has
// stopped, and fails while that term still runs.
type Elector struct {
	client    kubernetes.Interface
	namespace string
	name      string
	identity  string
	opts      Options
	logger    logr.Logger

	sem  chan struct{} // one Campaign at a time
	mu   sync.Mutex
	term *Term // the latest term, running or not; nil before the first Campaign
}

var _ vip.Elector = (*Elector)(nil)

// New returns an Elector for the Lease namespace/name (created on the first
// campaign if missing), in which this node is identity. Errors for bad
// arguments wrap netprim.ErrInvalidSpec and name the field. The client
// needs get, create and update on the Lease.
func New(client kubernetes.Interface, namespace, name, identity string, o Options) (*Elector, error) {
	const p = "kube elector: "
	if client == nil {
		return nil, specerr.Invalid(p, "client", "is nil")
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return nil, specerr.Invalid(p, "namespace", "%q: %s", namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return nil, specerr.Invalid(p, "name", "%q: %s", name, strings.Join(errs, "; "))
	}
	if identity == "" {
		return nil, specerr.Invalid(p, "identity", "is empty")
	}
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	logger := logr.Discard()
	if o.Logger != nil {
		logger = logr.FromSlogHandler(o.Logger.Handler())
	}
	return &Elector{
		client:    client,
		namespace: namespace,
		name:      name,
		identity:  identity,
		opts:      o,
		logger:    logger,
		sem:       make(chan struct{}, 1),
	}, nil
}

// Identity returns this node's name in the election, the holder it writes
// into the Lease.
func (e *Elector) Identity() string { return e.identity }

// Lease returns the Lease's namespace and name.
func (e *Elector) Lease() (namespace, name string) { return e.namespace, e.name }

// Options returns the options in effect, defaults filled in.
func (e *Elector) Options() Options { return e.opts }

// Leader returns the holder named by the Lease, "" when the Lease does not
// exist, names no holder (released) or has expired: its renew time plus its
// duration has passed on this node's clock. The renew time was written by
// the holder's clock, so the answer is for information, not for fencing
// (Term.Verify is).
func (e *Elector) Leader(ctx context.Context) (string, error) {
	lease, err := e.client.CoordinationV1().Leases(e.namespace).Get(ctx, e.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("kube elector %s/%s: leader: %w", e.namespace, e.name, err)
	}
	rec := rl.LeaseSpecToLeaderElectionRecord(&lease.Spec)
	if rec.HolderIdentity == "" {
		return "", nil
	}
	if lease.Spec.RenewTime != nil && lease.Spec.LeaseDurationSeconds != nil &&
		time.Now().After(lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds)*time.Second)) {
		return "", nil
	}
	return rec.HolderIdentity, nil
}

// Campaign blocks until this node leads and returns its Term, a *Term.
//
// It runs a client-go LeaderElector (ReleaseOnCancel set) with a lock that
// notes the send time of each write, and returns once the LeaderElector
// starts leading. The LeaderElector keeps running, renewing the Lease,
// until the term ends; it does not use ctx after Campaign returned.
//
// When ctx ends first, Campaign stops the LeaderElector, releases the Lease
// if a write of its own got through after all (one second at most), and
// returns ctx's error. Campaign fails at once while the previous term it
// returned still runs.
func (e *Elector) Campaign(ctx context.Context) (vip.Term, error) {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.sem }()
	for {
		e.mu.Lock()
		prev := e.term
		e.mu.Unlock()
		if prev != nil {
			if prev.Err() == nil {
				return nil, fmt.Errorf("kube elector %s/%s: campaign: term %s still runs", e.namespace, e.name, prev.ID())
			}
			select {
			case <-prev.stopped:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := e.campaign(ctx)
		if err != nil {
			return nil, err
		}
		if t != nil {
			return t, nil
		}
		// The term ended before it could be returned: campaign again.
	}
}

// campaign runs one LeaderElector until it leads (returning its term), its
// term ends first (nil, nil) or ctx ends.
func (e *Elector) campaign(ctx context.Context) (*Term, error) {
	runCtx, cancel := context.WithCancel(klog.NewContext(context.Background(), e.logger))
	t := newTerm(e, cancel)
	lock := &proofLock{
		inner: &rl.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.namespace, Name: e.name},
			Client:     e.client.CoordinationV1(),
			LockConfig: rl.ResourceLockConfig{Identity: e.identity},
		},
		t: t,
	}
	started := make(chan struct{})
	var once sync.Once
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   e.opts.TTL,
		RenewDeadline:   e.opts.RenewDeadline,
		RetryPeriod:     e.opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.namespace + "/" + e.name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { once.Do(func() { close(started) }) },
			OnStoppedLeading: func() { t.end(fmt.Errorf("the leader election stopped")) },
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("kube elector %s/%s: %w", e.namespace, e.name, err)
	}
	e.mu.Lock()
	e.term = t
	e.mu.Unlock()
	go func() {
		defer close(t.stopped)
		defer cancel()
		le.Run(runCtx)
	}()

	select {
	case <-started:
		if t.Err() != nil {
			return nil, nil
		}
		return t, nil
	case <-ctx.Done():
		t.end(fmt.Errorf("campaign: %w", ctx.Err()))
		<-t.stopped
		t.mu.Lock()
		attempted := t.attempted
		t.mu.Unlock()
		if attempted {
			wctx, wcancel := context.WithTimeout(context.Background(), cleanupTimeout)
			t.withdraw(wctx) // best effort: otherwise the Lease expires
			wcancel()
		}
		return nil, ctx.Err()
	}
}
