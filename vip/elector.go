package vip

import (
	"context"
	"errors"
	"time"
)

// ErrNotLeader is wrapped by Term.Verify when the election backend shows
// that the term no longer leads, and by calls fenced on a term that ended.
var ErrNotLeader = errors.New("not the leader")

// MinTTL is the shortest election TTL an elector accepts. Election TTLs
// are whole seconds (etcd leases and Kubernetes Leases count in seconds),
// and the holder's address needs a kernel lifetime of at least a second
// that ends LifetimeSlack before the term's proof (the TTL less a margin):
// a TTL of 2 s leaves none.
const MinTTL = 3 * time.Second

// LifetimeSlack is how much earlier than a term's ProvenUntil the kernel
// lifetime of the shared IP's address ends. The kernel counts lifetimes in
// whole seconds and drops an expired IPv4 address from a check that runs
// at most once a second after any address change on the host, and may run
// a quarter of a second late besides: an address can outlive its lifetime
// by up to about 1.25 s. The rest, a quarter of a second, is for the
// write itself: the lifetime is computed before the write, which reads the
// links and addresses of the namespace first.
const LifetimeSlack = 1500 * time.Millisecond

// HoldLifetime is the kernel lifetime the holder gives its address when
// its term is proven for the next proven: whole seconds, LifetimeSlack
// earlier. Electors check that it outlasts the time between two moves of
// their proof, so that the address never lapses while a node leads.
func HoldLifetime(proven time.Duration) time.Duration {
	return max(proven-LifetimeSlack, 0).Truncate(time.Second)
}

// DefaultTTL is the election TTL of the electors when none is configured.
const DefaultTTL = 10 * time.Second

// Elector runs the election of one shared IP among the nodes that share it.
// Implementations live in their own packages (vip/etcd, vip/kube) so that
// importing vip compiles neither etcd nor client-go.
type Elector interface {
	// Identity is this node's name in the election.
	Identity() string
	// Campaign blocks until this node leads, then returns its Term. It
	// returns ctx's error when ctx ends first, having withdrawn the
	// candidacy.
	Campaign(ctx context.Context) (Term, error)
	// Leader reports the identity of the current leader, "" when there is
	// none.
	Leader(ctx context.Context) (string, error)
}

// Term is one stretch of leadership won by Campaign.
type Term interface {
	// ID identifies the term among all terms of the election (etcd: the
	// lease and the key's create revision; Kubernetes: the holder and the
	// lease's transition count). It fences calls to cloud providers.
	ID() string
	// ProvenUntil is the instant before which no other node can win the
	// election: the moment this node sent its last successful renewal plus
	// the TTL, less a safety margin. It is zero once the term has ended.
	// The holder of the shared IP gives up the address before this instant
	// unless a later renewal moved it.
	ProvenUntil() time.Time
	// Renewed receives a value whenever ProvenUntil moves forward. It is
	// buffered by one: renewals that are not received are coalesced.
	Renewed() <-chan struct{}
	// Done is closed when the term has ended: leadership was lost, the
	// elector could not renew, or Resign was called.
	Done() <-chan struct{}
	// Verify asks the election backend whether this term still leads. It
	// returns nil when it does and an error wrapping ErrNotLeader when
	// another term or none leads.
	Verify(ctx context.Context) error
	// Resign ends the term and releases the election so that another node
	// can win at once. It uses only ctx (never the campaign's context, which
	// is typically cancelled by then), may be called more than once and
	// after Done.
	Resign(ctx context.Context) error
}
