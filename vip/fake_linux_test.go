package vip_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/netprim/netprim/vip"
)

// fakeElector is an Elector driven by the test: Campaign blocks until the
// test grants a term.
type fakeElector struct {
	grants    chan *fakeTerm
	campaigns chan struct{} // a value per Campaign call
	mu        sync.Mutex
	resigned  []string
}

func newFakeElector() *fakeElector {
	return &fakeElector{grants: make(chan *fakeTerm, 1), campaigns: make(chan struct{}, 100)}
}

func (e *fakeElector) Identity() string { return "fake" }

func (e *fakeElector) Leader(ctx context.Context) (string, error) { return "", nil }

func (e *fakeElector) Campaign(ctx context.Context) (vip.Term, error) {
	select {
	case e.campaigns <- struct{}{}:
	default:
	}
	select {
	case t := <-e.grants:
		return t, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// grant makes the pending or next Campaign win a term proven for d.
func (e *fakeElector) grant(id string, d time.Duration, onResign func()) *fakeTerm {
	t := &fakeTerm{id: id, until: time.Now().Add(d), renewed: make(chan struct{}, 1), done: make(chan struct{}), onResign: onResign}
	e.grants <- t
	return t
}

// fakeTerm is a term whose proof the test moves.
type fakeTerm struct {
	id       string
	mu       sync.Mutex
	until    time.Time
	renewed  chan struct{}
	done     chan struct{}
	ended    bool
	resigns  int
	onResign func()
}

func (t *fakeTerm) ID() string { return t.id }

func (t *fakeTerm) ProvenUntil() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return time.Time{}
	}
	return t.until
}

func (t *fakeTerm) Renewed() <-chan struct{} { return t.renewed }
func (t *fakeTerm) Done() <-chan struct{}    { return t.done }

func (t *fakeTerm) Verify(ctx context.Context) error {
	if t.ProvenUntil().IsZero() {
		return fmt.Errorf("fake: %w", vip.ErrNotLeader)
	}
	return nil
}

// renew moves the proof to now+d.
func (t *fakeTerm) renew(d time.Duration) {
	t.mu.Lock()
	t.until = time.Now().Add(d)
	t.mu.Unlock()
	select {
	case t.renewed <- struct{}{}:
	default:
	}
}

// end ends the term as a backend would.
func (t *fakeTerm) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ended {
		t.ended = true
		close(t.done)
	}
}

func (t *fakeTerm) Resign(ctx context.Context) error {
	t.mu.Lock()
	t.resigns++
	first := t.resigns == 1
	t.mu.Unlock()
	if first && t.onResign != nil {
		t.onResign()
	}
	t.end()
	return nil
}

func (t *fakeTerm) resignCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resigns
}
