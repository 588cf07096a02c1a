package vip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// lead holds the address for one term and returns when the term is over
// for this node: the address is removed and the term resigned by then.
func (c *Controller) lead(ctx context.Context, term Term, h *health, drift <-chan struct{}) {
	won := time.Now()
	if err := c.put(ctx, term); err != nil {
		c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("taking the address up: %w", err)})
		c.stepDown(term, Lost, "could not take the address up", false)
		return
	}
	c.setStatus(func(s *Status) {
		s.Leading, s.Term, s.Since, s.ProvenUntil = true, term.ID(), won, term.ProvenUntil()
	})
	c.emit(Event{Kind: Acquired, Time: won, Term: term.ID()})
	// tctx bounds the announcements and handlers of this term: they stop
	// before the address is removed, so a deposed node never announces.
	tctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	quit := func() {
		cancel()
		wg.Wait()
	}
	defer quit()
	if an, err := NewAnnouncer(c.ns, c.cfg.Link); err != nil {
		c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("announcing: %w", err)})
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer an.Close()
			an.Run(tctx, c.cfg.Address, c.cfg.Announce, func(round int, at time.Time, err error) {
				if err != nil {
					c.emit(Event{Kind: Failed, Time: at, Round: round, Err: fmt.Errorf("announcement round %d: %w", round, err)})
					return
				}
				c.emit(Event{Kind: Announced, Time: at, Round: round})
			})
		}()
	}
	for _, hd := range c.handlers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hd.Acquire(tctx, term, c.cfg.Address); err != nil && tctx.Err() == nil {
				c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("%s: %w", hd.Name(), err)})
			}
		}()
	}

	proof := time.NewTimer(time.Until(term.ProvenUntil()) - removeLead)
	defer proof.Stop()
	for {
		select {
		case <-ctx.Done():
			quit()
			c.stepDown(term, Released, "stopped", true)
			return
		case <-term.Done():
			quit()
			c.stepDown(term, Lost, "the election ended the term", false)
			return
		case <-h.changed(false):
			quit()
			c.stepDown(term, Released, h.reason(), true)
			return
		case <-proof.C:
			if time.Until(term.ProvenUntil()) > removeLead {
				proof.Reset(time.Until(term.ProvenUntil()) - removeLead)
				continue
			}
			quit()
			c.stepDown(term, Lost, "leadership not proven (no renewal in time)", true)
			return
		case <-term.Renewed():
			c.setStatus(func(s *Status) { s.ProvenUntil = term.ProvenUntil() })
			if err := c.put(ctx, term); err != nil && ctx.Err() == nil {
				c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("refreshing the address: %w", err)})
			}
			proof.Reset(time.Until(term.ProvenUntil()) - removeLead)
		case <-drift:
			// The address changed under us (deleted by hand, the link
			// recreated): put it back while the term is proven.
			if err := c.put(ctx, term); err != nil && ctx.Err() == nil {
				c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("restoring the address: %w", err)})
			}
		}
	}
}

// stepDown removes the address, then resigns (a term the election ended
// gets a resignation too, cheaply, to release what the elector may still
// hold; its error is reported only when resign is set) and reports the
// event.
//
// The event carries the time the address was removed: resigning may take
// long when the backend is unreachable.
func (c *Controller) stepDown(term Term, kind EventKind, reason string, resign bool) {
	until := term.ProvenUntil()
	err := c.remove()
	removed := time.Now()
	c.setStatus(func(s *Status) {
		s.Leading, s.Term, s.Since, s.ProvenUntil = false, "", removed, time.Time{}
	})
	if err != nil {
		// The address may still be up: resigning now would let another
		// node win while it is. Its kernel lifetime ends before until.
		time.Sleep(time.Until(until))
	}
	rctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
	defer cancel()
	rerr := term.Resign(rctx)
	for _, hd := range c.handlers {
		hctx, hcancel := context.WithTimeout(context.Background(), resignTimeout)
		herr := hd.Release(hctx, c.cfg.Address)
		hcancel()
		if herr != nil {
			c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("%s: release: %w", hd.Name(), herr)})
		}
	}
	if err != nil {
		c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("removing the address (the kernel drops it by its lifetime): %w", err)})
	}
	if rerr != nil && resign && !errors.Is(rerr, context.Canceled) {
		c.emit(Event{Kind: Failed, Term: term.ID(), Err: fmt.Errorf("resigning: %w", rerr)})
	}
	c.emit(Event{Kind: kind, Time: removed, Term: term.ID(), Reason: reason})
}
