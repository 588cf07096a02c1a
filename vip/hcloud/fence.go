package hcloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/netprim/netprim/vip"
)

// errProofRanOut is wrapped when a fenced call was cut off because the
// term's ProvenUntil passed while the caller's context was still alive.
var errProofRanOut = fmt.Errorf("leadership proof ran out: %w", vip.ErrNotLeader)

// errTermEnded is the cause of a fenced call's context when the term's
// Done channel closed during the call.
var errTermEnded = fmt.Errorf("term ended: %w", vip.ErrNotLeader)

// fenced runs call under vip.Fence(ctx, term, ...): not at all unless term
// provably leads, with a context that ends at the term's ProvenUntil and,
// beyond what Fence does, also as soon as the term's Done channel closes, so
// that no retry or poll of the API client outlives the term. When call
// fails because of either, the error wraps vip.ErrNotLeader as well as
// call's error.
func fenced(ctx context.Context, term vip.Term, call func(context.Context) error) error {
	return vip.Fence(ctx, term, func(fctx context.Context) error {
		cctx, cancel := context.WithCancelCause(fctx)
		defer cancel(nil)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-term.Done():
				cancel(errTermEnded)
			case <-stop:
			}
		}()

		err := call(cctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(context.Cause(cctx), errTermEnded):
			if errors.Is(err, errTermEnded) { // the HTTP client reports the cause
				return fmt.Errorf("term %s: %w", term.ID(), err)
			}
			return fmt.Errorf("term %s: %w: %w", term.ID(), errTermEnded, err)
		case ctx.Err() == nil && errors.Is(fctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("term %s: %w: %w", term.ID(), errProofRanOut, err)
		}
		return err
	})
}

// wait waits until action has finished and returns its error, if any. Each
// stretch of polling is fenced on term; when the proof ran out during one
// but the term has been renewed since (ProvenUntil moved on), polling goes
// on under the new proof.
func (h *Handler) wait(ctx context.Context, term vip.Term, action *hcloud.Action) error {
	if action.Status != hcloud.ActionStatusRunning {
		return action.Error()
	}
	for {
		seen := term.ProvenUntil()
		err := fenced(ctx, term, func(ctx context.Context) error {
			return h.client.Action.WaitFor(ctx, action)
		})
		if err == nil {
			return nil
		}
		if errors.Is(err, errProofRanOut) && term.ProvenUntil().After(seen) {
			continue
		}
		return classify(err)
	}
}
