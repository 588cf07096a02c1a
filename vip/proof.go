package vip

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netprim/netprim/internal/specerr"
)

// DefaultMargin is the safety margin the electors subtract from each
// renewal's proof of leadership when none is configured.
const DefaultMargin = 200 * time.Millisecond

// Proof is the bookkeeping of a Term's proof of leadership, a building
// block for Elector implementations: ProvenUntil, which only moves forward
// while the term runs and is zero once it ended; the Renewed and Done
// channels; and why the term ended. Its methods are safe for concurrent
// use.
//
// A Term keeps a Proof in an unexported field and forwards ProvenUntil,
// Renewed and Done to it (embedding would export Extend and End to the
// Term's users). The elector calls Extend after each successful renewal
// and End once the term is over, for whatever reason.
type Proof struct {
	renewed chan struct{}
	done    chan struct{}

	mu    sync.Mutex
	until time.Time // zero once ended
	last  time.Time // the latest until, kept after the end
	err   error     // why the term ended; nil while it runs
}

// NewProof returns the proof of a running term that is proven until the
// given instant. A zero until stands for a term not proven yet: its first
// Extend sets ProvenUntil without signalling Renewed, since the first proof
// is the one the term starts with, not a renewal.
func NewProof(until time.Time) *Proof {
	return &Proof{
		renewed: make(chan struct{}, 1),
		done:    make(chan struct{}),
		until:   until,
		last:    until,
	}
}

// ProvenUntil returns the instant before which no other node can win the
// election. It never moves backwards while the term runs and is zero once
// the term has ended.
func (p *Proof) ProvenUntil() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.until
}

// Last returns the latest ProvenUntil the proof had, also after End (when
// ProvenUntil is zero): until when a holder that did not see the end may
// have relied on the term.
func (p *Proof) Last() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Renewed receives a value whenever Extend moved ProvenUntil forward from a
// non-zero instant. It is buffered by one: renewals that are not received
// are coalesced.
func (p *Proof) Renewed() <-chan struct{} { return p.renewed }

// Done is closed by the first End.
func (p *Proof) Done() <-chan struct{} { return p.done }

// Err returns why the term ended, an error wrapping ErrNotLeader; nil while
// it runs.
func (p *Proof) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Extend moves ProvenUntil to until if the term runs and until is later,
// and reports whether it did. A move from a non-zero ProvenUntil signals
// Renewed without blocking.
func (p *Proof) Extend(until time.Time) bool {
	p.mu.Lock()
	moved := p.err == nil && until.After(p.until)
	first := p.until.IsZero()
	if moved {
		p.until, p.last = until, until
	}
	p.mu.Unlock()
	if moved && !first {
		select {
		case p.renewed <- struct{}{}:
		default:
		}
	}
	return moved
}

// End ends the term: Err becomes reason, wrapped with ErrNotLeader unless
// it wraps it already (ErrNotLeader itself for a nil reason), ProvenUntil
// becomes zero and Done is closed, in that order. Only the first call
// counts; End reports whether it was this one, so that the caller runs the
// elector's own steps of the end (stopping goroutines, a timer) once.
func (p *Proof) End(reason error) bool {
	switch {
	case reason == nil:
		reason = ErrNotLeader
	case !errors.Is(reason, ErrNotLeader):
		reason = fmt.Errorf("%w: %w", reason, ErrNotLeader)
	}
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return false
	}
	p.err = reason
	p.until = time.Time{}
	p.mu.Unlock()
	close(p.done)
	return true
}

// NormalizeTTL returns an elector's TTL with the default filled in:
// DefaultTTL for 0. A TTL below MinTTL or that is not a whole number of
// seconds is refused with an error naming the field "ttl" after prefix
// (e.g. "etcd elector: ") and wrapping netprim.ErrInvalidSpec.
func NormalizeTTL(prefix string, ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl == 0:
		return DefaultTTL, nil
	case ttl < MinTTL:
		return ttl, specerr.Invalid(prefix, "ttl", "%v is below the minimum %v", ttl, MinTTL)
	case ttl%time.Second != 0:
		return ttl, specerr.Invalid(prefix, "ttl", "%v is not a whole number of seconds", ttl)
	}
	return ttl, nil
}

// NormalizeMargin returns an elector's safety margin with the default
// filled in: DefaultMargin for 0. A negative margin is refused with an
// error naming the field "margin" after prefix and wrapping
// netprim.ErrInvalidSpec. How long a margin may be depends on the elector,
// which checks that itself.
func NormalizeMargin(prefix string, margin time.Duration) (time.Duration, error) {
	switch {
	case margin == 0:
		return DefaultMargin, nil
	case margin < 0:
		return margin, specerr.Invalid(prefix, "margin", "%v is negative", margin)
	}
	return margin, nil
}
