package vip

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Handler moves the shared IP by other means than the link layer, for
// example through a cloud provider's API (package vip/hcloud). The
// controller calls Acquire after it took the address up and announced it,
// and Release after it removed the address on step-down.
//
// Equinix Metal, the other provider Talos Linux supported, was shut down on
// 2026-06-30; netprim has no handler for it.
type Handler interface {
	// Name names the handler in errors and events, e.g. "hcloud".
	Name() string
	// Acquire moves ip to this node. Every call it makes to a provider
	// must be fenced with Fence(ctx, term, ...), so that a node that lost
	// the election never moves the address.
	Acquire(ctx context.Context, term Term, ip netip.Addr) error
	// Release is called after the address was removed on step-down; it
	// must not move the address anywhere (the next owner does that). A
	// handler with nothing to do returns nil.
	Release(ctx context.Context, ip netip.Addr) error
}

// Fence runs call only while term provably leads: it checks that
// ProvenUntil is still ahead, asks the backend with term.Verify, and runs
// call with a context that ends at ProvenUntil (or earlier with ctx). A term
// that has ended, or one the backend no longer knows as leader, yields an
// error wrapping ErrNotLeader and call is not run.
func Fence(ctx context.Context, term Term, call func(ctx context.Context) error) error {
	until := term.ProvenUntil()
	if until.IsZero() || !time.Now().Before(until) {
		return fmt.Errorf("term %s: leadership not proven: %w", term.ID(), ErrNotLeader)
	}
	fctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	select {
	case <-term.Done():
		return fmt.Errorf("term %s ended: %w", term.ID(), ErrNotLeader)
	default:
	}
	if err := term.Verify(fctx); err != nil {
		return fmt.Errorf("term %s: %w", term.ID(), err)
	}
	return call(fctx)
}
