package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"

	"github.com/netprim/netprim"
)

// Start runs the Reconciler in the background until ctx ends or Close: a
// first pass of every stage at once, then a pass whenever something asks
// for one:
//
//   - a source's Set, Clear or Remove, or Trigger: every stage (or the
//     stages named);
//   - a kernel event that a stage wakes on (link, address, route, rule
//     changes through the packages' Watch; a change of nftables through
//     firewall.Watch; a change of a managed file through resolv.Watch):
//     the stages that wake on its kind;
//   - a Watch resync (the kernel dropped notifications) or the periodic
//     resync (WithResync): every stage;
//   - a failed pass: its failed stages again, after an exponential
//     backoff with jitter (WithRetry), until a pass succeeds.
//
// Triggers that arrive while a pass runs are coalesced into one next pass,
// and passes are rate-limited (WithRateLimit). A subscription that fails
// is retried with the same backoff, and a full pass follows it; meanwhile
// the periodic resync still runs. Start returns an error only if the
// Reconciler was started or closed before.
func (r *Reconciler) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errClosed
	}
	if r.started {
		r.mu.Unlock()
		return fmt.Errorf("reconcile: %w: started twice", netprim.ErrInvalidSpec)
	}
	r.started = true
	ctx, cancel := context.WithCancel(ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, w := range r.watchers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.watchLoop(ctx, w)
		}()
	}
	r.markAll("start")
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.loop(ctx)
	}()
	go func() {
		wg.Wait()
		close(r.done)
	}()
	return nil
}

// Done is closed when the background loop started by Start has stopped.
// It is nil before Start.
func (r *Reconciler) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// newBackoff returns the retry backoff of the options.
func (r *Reconciler) newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = r.cfg.retryMin
	b.MaxInterval = r.cfg.retryMax
	b.RandomizationFactor = 0.5
	b.Multiplier = 2
	b.Reset()
	return b
}

// loop runs passes until ctx ends.
func (r *Reconciler) loop(ctx context.Context) {
	limiter := rate.NewLimiter(r.cfg.rate, r.cfg.burst)
	retry := r.newBackoff()
	var resync <-chan time.Time
	if r.cfg.resync > 0 {
		t := time.NewTicker(r.cfg.resync)
		defer t.Stop()
		resync = t.C
	}
	retryTimer := time.NewTimer(time.Hour)
	retryTimer.Stop()
	defer retryTimer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-resync:
			r.markAll("resync")
			continue // the mark wakes the loop
		case <-retryTimer.C:
			r.mark("retry", r.retryStages()...)
			continue
		}
		if err := limiter.Wait(ctx); err != nil {
			return
		}
		which, why := r.takeDirty()
		if len(which) == 0 {
			continue
		}
		r.passMu.Lock()
		rep := r.run(ctx, which, why)
		r.passMu.Unlock()
		r.report(rep)
		if ctx.Err() != nil {
			return
		}
		if len(r.retryStages()) > 0 {
			retryTimer.Reset(retry.NextBackOff())
		} else {
			retry.Reset()
		}
	}
}

// retryStages returns the stages a retry runs: those whose last run
// failed by their own error (a source's refused section is not retried:
// only a new Set fixes it), and those whose pruning was skipped because a
// stage failed; every stage when the last pass could not start.
func (r *Reconciler) retryStages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.stages {
		if r.prepErr != nil || r.failed[s.name] || strings.Contains(r.status[s.name].PruneSkipped, "failed") {
			out = append(out, s.name)
		}
	}
	return out
}

// watcher is one kernel subscription: which event kinds it reports.
type watcher struct {
	name  string
	watch func(ctx context.Context) (<-chan netprim.Event, error)
	// accept filters events (nil: all).
	accept func(netprim.Event) bool
}

// wakes returns the stages that wake on an event kind.
func (r *Reconciler) wakes(kind string) []string {
	var out []string
	for _, s := range r.stages {
		for _, k := range s.wake {
			if k == kind {
				out = append(out, s.name)
				break
			}
		}
	}
	return out
}

// watchLoop subscribes with w and marks the stages its events wake,
// re-subscribing with backoff when the subscription fails or ends, until
// ctx ends.
func (r *Reconciler) watchLoop(ctx context.Context, w watcher) {
	b := r.newBackoff()
	first := true
	for ctx.Err() == nil {
		ch, err := w.watch(ctx)
		if err != nil {
			r.setWatchErr(fmt.Errorf("reconcile: watch %s: %w", w.name, err))
			r.markAll("watch " + w.name + " failed") // no events: look now
			select {
			case <-ctx.Done():
				return
			case <-time.After(b.NextBackOff()):
			}
			continue
		}
		// Anything that changed before the subscription took effect
		// (also right after Start's first pass) is found by a full pass.
		if first {
			r.markAll("subscribed " + w.name)
		} else {
			r.markAll("resubscribed " + w.name)
		}
		first = false
		r.clearWatchErr(w.name)
		got := false
		for ev := range ch {
			if !got {
				// A subscription that delivers resets the backoff; one
				// that closes at once keeps backing off.
				b.Reset()
				got = true
			}
			if ev.Resync {
				r.markAll("resync " + ev.Kind)
				continue
			}
			if w.accept != nil && !w.accept(ev) {
				continue
			}
			r.mark("event "+ev.Kind, r.wakes(ev.Kind)...)
		}
	}
}

func (r *Reconciler) setWatchErr(err error) {
	r.mu.Lock()
	r.watchEr = err
	r.mu.Unlock()
}

// clearWatchErr clears the watch error if it is the named watcher's.
func (r *Reconciler) clearWatchErr(name string) {
	r.mu.Lock()
	if r.watchEr != nil && strings.HasPrefix(r.watchEr.Error(), "reconcile: watch "+name+":") {
		r.watchEr = nil
	}
	r.mu.Unlock()
}
