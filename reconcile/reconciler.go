package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/firewall"
)

// Reconciler keeps the network of one namespace at the merged desired
// state of its sources. See the package documentation.
type Reconciler struct {
	ns  *netprim.Namespace
	cfg config

	stages []*stage // in pass order
	byName map[string]*stage

	wg      wgHost
	fwCache firewall.Cache

	// passMu serialises passes (and Try).
	passMu sync.Mutex

	mu      sync.Mutex // guards the fields below
	sources map[string]*Source
	status  map[string]*StageStatus
	failed  map[string]bool // stages whose last run failed by their own error
	prepErr error           // why the last pass could not start, or nil
	passes  int
	last    time.Time
	merged  merged
	// gen counts the changes of the sources; prepared is the input of a
	// pass prepared at preparedGen (see prepare).
	gen         uint64
	prepared    *pass
	preparedGen uint64
	dirty       map[string]bool
	why         []string
	started     bool
	closed      bool
	watchEr     error
	cancel      context.CancelFunc
	done        chan struct{}
	wake        chan struct{}
}

// New returns a Reconciler for ns (nil: the caller's namespace) with no
// sources. It applies nothing until Apply, or until Start runs it in the
// background.
func New(ns *netprim.Namespace, opts ...Option) (*Reconciler, error) {
	cfg := defaults()
	for _, f := range opts {
		if f != nil {
			f(&cfg)
		}
	}
	if err := cfg.owner.Validate(); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	if cfg.owner.Name == "" {
		cfg.owner.Name = netprim.DefaultOwnerName
	}
	if cfg.resync < 0 || cfg.rate <= 0 || cfg.burst < 1 || cfg.retryMin <= 0 || cfg.retryMax < cfg.retryMin {
		return nil, fmt.Errorf("reconcile: resync %v, rate %v/s burst %d, retry %v..%v: %w: want resync >= 0, rate > 0, burst >= 1, 0 < retry min <= max",
			cfg.resync, cfg.rate, cfg.burst, cfg.retryMin, cfg.retryMax, netprim.ErrInvalidSpec)
	}
	r := &Reconciler{
		ns:      ns,
		cfg:     cfg,
		sources: map[string]*Source{},
		status:  map[string]*StageStatus{},
		failed:  map[string]bool{},
		dirty:   map[string]bool{},
		wake:    make(chan struct{}, 1),
	}
	all := r.builtinStages()
	builtin := map[string]bool{}
	for _, s := range all {
		builtin[s.name] = true
	}
	for _, s := range cfg.stages {
		if s == nil {
			continue
		}
		if builtin[s.Name()] {
			return nil, fmt.Errorf("reconcile: stage %s: %w: the name of a built-in stage", s.Name(), netprim.ErrInvalidSpec)
		}
		all = append(all, custom(s))
	}
	stages, err := order(all)
	if err != nil {
		return nil, err
	}
	r.stages = stages
	r.byName = make(map[string]*stage, len(stages))
	for _, s := range stages {
		r.byName[s.name] = s
		r.status[s.name] = &StageStatus{Name: s.name}
	}
	return r, nil
}

// Stages returns the names of the stages in the order a pass runs them.
func (r *Reconciler) Stages() []string {
	out := make([]string, len(r.stages))
	for i, s := range r.stages {
		out[i] = s.name
	}
	return out
}

// options returns the package options of a stage run.
func (r *Reconciler) options(prune bool, writes *int64) []netprim.Option {
	o := []netprim.Option{netprim.WithOwner(r.cfg.owner)}
	o = append(o, r.cfg.applyOpts...)
	if writes != nil {
		o = append(o, netprim.WithWriteCounter(writes))
	}
	// Prune is the Reconciler's decision alone: a WithPrune among the
	// caller's apply options is overridden either way.
	o = append(o, func(opt *netprim.Options) { opt.Prune = prune })
	return o
}

// firewallOptions adds the Reconciler's firewall cache, so a pass in which
// nothing changed in nftables reads nothing but the ruleset generation.
func (r *Reconciler) firewallOptions(o []netprim.Option) []netprim.Option {
	return append(o[:len(o):len(o)], firewall.WithCache(&r.fwCache))
}

// Trigger asks for a pass of the named stages (every stage when none is
// named), for a product's Stage whose desired state changed. It returns at
// once; the pass runs in the background (see Start).
func (r *Reconciler) Trigger(stages ...string) {
	if len(stages) == 0 {
		r.markAll("trigger")
		return
	}
	r.mark("trigger", stages...)
}

func (r *Reconciler) markAll(why string) {
	names := make([]string, len(r.stages))
	for i, s := range r.stages {
		names[i] = s.name
	}
	r.mark(why, names...)
}

func (r *Reconciler) mark(why string, stages ...string) {
	r.mu.Lock()
	for _, s := range stages {
		if _, ok := r.byName[s]; ok {
			r.dirty[s] = true
		}
	}
	if !slices.Contains(r.why, why) {
		r.why = append(r.why, why)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// takeDirty returns and clears the stages asked for and why.
func (r *Reconciler) takeDirty() (map[string]bool, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, why := r.dirty, r.why
	r.dirty, r.why = map[string]bool{}, nil
	return d, why
}

// Close stops the background loop and its watches (see Start), waits for
// them, and closes the WireGuard devices the Reconciler hosts in this
// process (a userspace device's link goes with it; a kernel device stays).
// It returns when every goroutine it started has returned.
func (r *Reconciler) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	r.passMu.Lock()
	defer r.passMu.Unlock()
	return r.wg.closeAll()
}

var errClosed = errors.New("reconcile: reconciler is closed")
