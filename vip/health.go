package vip

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/link"
)

// linkPoll is how often the link state is read besides its events.
const linkPoll = time.Second

// health tracks whether this node may stand: the link is up and the
// caller's check passes.
type health struct {
	mu          sync.Mutex
	linkOK      bool
	linkReason  string
	checkOK     bool
	checkReason string
	up, down    chan struct{} // closed on becoming healthy / unhealthy
	wg          sync.WaitGroup
	onChange    func(ok bool, reason string)
}

// newHealth starts unhealthy: the link was not read yet.
func newHealth() *health {
	h := &health{up: make(chan struct{}), down: make(chan struct{}), checkOK: true, linkReason: "link state not read yet"}
	close(h.down)
	return h
}

// set records one input and switches the channels on a transition; the
// status follows every change of health or of its reason.
func (h *health) set(f func()) {
	h.mu.Lock()
	was := h.linkOK && h.checkOK
	wasReason := h.reasonLocked()
	f()
	now := h.linkOK && h.checkOK
	reason := h.reasonLocked()
	if was != now {
		if now {
			close(h.up)
			h.down = make(chan struct{})
		} else {
			close(h.down)
			h.up = make(chan struct{})
		}
	}
	// Under h.mu, so that the status sees the changes in order (the
	// callback takes only the controller's status lock).
	if (was != now || reason != wasReason) && h.onChange != nil {
		h.onChange(now, reason)
	}
	h.mu.Unlock()
}

// changed returns a channel closed when the health becomes ok (true) or
// not ok (false); it is closed already when it is so now.
func (h *health) changed(ok bool) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ok {
		return h.up
	}
	return h.down
}

func (h *health) waitHealthy(ctx context.Context) error {
	select {
	case <-h.changed(true):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *health) reason() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reasonLocked()
}

func (h *health) reasonLocked() string {
	switch {
	case !h.linkOK:
		return h.linkReason
	case !h.checkOK:
		return h.checkReason
	}
	return ""
}

func (h *health) wait() { h.wg.Wait() }

// startHealth follows the link's state (events and a poll) and runs the
// caller's check until ctx ends.
func (c *Controller) startHealth(ctx context.Context) (*health, error) {
	h := newHealth()
	h.onChange = func(ok bool, reason string) {
		c.setStatus(func(s *Status) { s.Healthy, s.Reason = ok, reason })
	}
	events, err := link.Watch(ctx, c.ns)
	if err != nil {
		return nil, fmt.Errorf("vip %s: watching links: %w", c.cfg.Address, err)
	}
	readLink := func() {
		ok, reason := c.linkState(ctx)
		if ctx.Err() != nil {
			return
		}
		h.set(func() { h.linkOK, h.linkReason = ok, reason })
	}
	if c.cfg.Health.Check != nil {
		h.set(func() { h.checkOK, h.checkReason = false, "health check not run yet" })
	}
	readLink()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(linkPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				// Drain until the watcher closes its channel (nil once it
				// was seen closed: ranging over nil would block forever).
				if events != nil {
					for range events {
					}
				}
				return
			case _, ok := <-events:
				if !ok {
					events = nil
					continue
				}
				readLink()
			case <-t.C:
				readLink()
			}
		}
	}()
	if check := c.cfg.Health.Check; check != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			c.runCheck(ctx, h, check)
		}()
	}
	return h, nil
}

// linkState reads whether the link can carry the address.
func (c *Controller) linkState(ctx context.Context) (bool, string) {
	links, err := link.List(ctx, c.ns, link.WithoutEthtool())
	if err != nil {
		return false, fmt.Sprintf("reading link %s: %v", c.cfg.Link, err)
	}
	for _, l := range links {
		if l.Name != c.cfg.Link {
			continue
		}
		switch {
		case !l.Up:
			return false, "link " + c.cfg.Link + " is down"
		case l.OperState == "down" || l.OperState == "lowerlayerdown" || l.OperState == "notpresent" || l.OperState == "dormant":
			return false, "link " + c.cfg.Link + " is " + l.OperState
		}
		return true, ""
	}
	return false, "link " + c.cfg.Link + " does not exist"
}

// runCheck calls the caller's check every interval.
func (c *Controller) runCheck(ctx context.Context, h *health, check func(context.Context) error) {
	iv, limit := c.cfg.Health.Interval, c.cfg.Health.Failures
	t := time.NewTicker(iv)
	defer t.Stop()
	fails := 0
	for {
		cctx, cancel := context.WithTimeout(ctx, iv)
		err := check(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fails++
			if fails == limit {
				reason := fmt.Sprintf("health check failed %d times: %v", fails, err)
				h.set(func() { h.checkOK, h.checkReason = false, reason })
			}
		} else {
			fails = 0
			h.set(func() { h.checkOK, h.checkReason = true, "" })
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchAddress signals when the shared IP is deleted from its link or
// address events were lost.
func (c *Controller) watchAddress(ctx context.Context) (<-chan struct{}, error) {
	events, err := addr.Watch(ctx, c.ns)
	if err != nil {
		return nil, fmt.Errorf("vip %s: watching addresses: %w", c.cfg.Address, err)
	}
	out := make(chan struct{}, 1)
	p := c.cfg.prefix()
	go func() {
		for e := range events {
			if e.Resync || (e.Action == netprim.Delete && matches(e.Object, p, c.cfg.Link)) {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}
