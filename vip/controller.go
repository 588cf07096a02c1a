package vip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
)

// removeLead is how long before ProvenUntil a holder whose term was not
// renewed removes its address itself: time for the removal's dump and
// write.
const removeLead = 300 * time.Millisecond

// resignTimeout bounds the Resign of a stepping-down node.
const resignTimeout = 2 * time.Second

// Option changes a Controller.
type Option func(*Controller)

// WithHandlers adds handlers that move the address by other means (a
// cloud provider's API) besides the announcements.
func WithHandlers(h ...Handler) Option {
	return func(c *Controller) { c.handlers = append(c.handlers, h...) }
}

// WithEvents calls fn with every Event. Calls are serialized; fn must
// return quickly and must not call the Controller's Run.
func WithEvents(fn func(Event)) Option { return func(c *Controller) { c.onEvent = fn } }

// Controller keeps one shared IP on this node while the election says so,
// and off it otherwise. Create it with New, run it with Run.
type Controller struct {
	ns       *netprim.Namespace
	cfg      Config
	el       Elector
	handlers []Handler
	onEvent  func(Event)

	evMu sync.Mutex // serializes onEvent
	mu   sync.Mutex
	st   Status
}

// New returns a Controller for the shared IP cfg in ns (nil: the caller's
// namespace), elected by el. It checks cfg without reading the kernel; Run
// checks it against the link.
func New(ns *netprim.Namespace, cfg Config, el Elector, opts ...Option) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if el == nil {
		return nil, fieldError("elector", "missing")
	}
	c := &Controller{ns: ns, cfg: cfg.normalized(), el: el}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.st = Status{Address: cfg.Address, Link: cfg.Link}
	return c, nil
}

// Status reports the controller's current state.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Controller) setStatus(f func(*Status)) {
	c.mu.Lock()
	f(&c.st)
	c.mu.Unlock()
}

func (c *Controller) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Address, e.Link = c.cfg.Address, c.cfg.Link
	if c.onEvent == nil {
		return
	}
	c.evMu.Lock()
	defer c.evMu.Unlock()
	c.onEvent(e)
}

// Run keeps the shared IP until ctx ends. It first checks the
// configuration against the kernel: the link must exist, the address must
// lie inside a subnet of another address of the link and must not be an
// address of this node; otherwise it returns an error naming the field
// before anything is announced. It then removes a copy of the address left
// by an earlier run of this owner (that run's term is over) and stands for
// election whenever the link is up and the health check passes.
//
// While leading, the address carries a kernel valid lifetime that ends
// before the term's ProvenUntil and is refreshed on each renewal: if this
// process is killed or hangs, the kernel removes the address before any
// other node can win. When the term cannot be proven any longer, ends, the
// link goes down or the health check fails, the address is removed first,
// then the term resigned. When ctx ends, Run removes the address, resigns
// and returns nil.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	if _, err := addr.Remove(ctx, c.ns, []addr.Spec{c.spec(0)}, netprim.WithOwner(c.cfg.Owner)); err != nil {
		return fmt.Errorf("vip %s: removing the address left by an earlier run: %w", c.cfg.Address, err)
	}
	// The health goroutines and the address watch end with hctx, before
	// Run returns, also on an error below.
	hctx, hcancel := context.WithCancel(ctx)
	h, err := c.startHealth(hctx)
	if err != nil {
		hcancel()
		return err
	}
	defer h.wait()
	defer hcancel()
	drift, err := c.watchAddress(hctx)
	if err != nil {
		return err
	}
	retry := time.Duration(0)
	for {
		if err := h.waitHealthy(ctx); err != nil {
			return nil
		}
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-h.changed(false):
				cancel()
			case <-cctx.Done():
			}
		}()
		term, err := c.el.Campaign(cctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if cctx.Err() != nil { // became unhealthy while campaigning
				continue
			}
			c.emit(Event{Kind: Failed, Err: fmt.Errorf("campaign: %w", err)})
			retry = min(max(2*retry, 100*time.Millisecond), 5*time.Second)
			if sleep(ctx, retry) != nil {
				return nil
			}
			continue
		}
		retry = 0
		c.lead(ctx, term, h, drift)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// spec is the address with a valid lifetime of lifetime (0: forever).
func (c *Controller) spec(lifetime time.Duration) addr.Spec {
	s := addr.Spec{Link: c.cfg.Link, Address: c.cfg.prefix(), ValidLifetime: lifetime}
	if c.cfg.Address.Is6() {
		s.Flags = []string{"nodad"}
	}
	return s
}

// errUnproven reports that the term's ProvenUntil is too close to carry
// the address for even a second.
var errUnproven = errors.New("leadership is not proven for long enough")

// put adds the address, or refreshes its lifetime, so that the kernel
// removes it before the term's ProvenUntil (see LifetimeSlack).
func (c *Controller) put(ctx context.Context, term Term) error {
	left := time.Until(term.ProvenUntil())
	lifetime := HoldLifetime(left)
	if lifetime < time.Second {
		return fmt.Errorf("%w (%v left)", errUnproven, left.Round(time.Millisecond))
	}
	_, err := addr.Apply(ctx, c.ns, []addr.Spec{c.spec(lifetime)}, netprim.WithOwner(c.cfg.Owner), addr.WithRefresh())
	return err
}

// remove deletes the address; it retries briefly because a node that keeps
// the address after stepping down is the failure this package prevents
// (the kernel lifetime removes it anyway before ProvenUntil).
func (c *Controller) remove() error {
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = addr.Remove(ctx, c.ns, []addr.Spec{c.spec(0)}, netprim.WithOwner(c.cfg.Owner))
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
