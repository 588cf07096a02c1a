package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// pass is the input of one pass: the merged desired state and what keeps
// stages from running or pruning.
type pass struct {
	r     *Reconciler
	state State
	// links is the links section for package link, selectors resolved.
	links []link.Spec
	// refused holds, per stage, the errors that keep it from running:
	// the merged section is invalid (two valid contributions collide).
	refused map[string]error
	// srcErrs holds, per stage, the sources' refused sections and
	// unresolvable selectors: reported, but the stage runs.
	srcErrs map[string][]error
	// noPrune holds, per stage, why it must not prune in this pass;
	// pending, why it must not because a source has not set its state.
	noPrune, pending map[string]string
	// keepWG are WireGuard devices a rollback must not remove.
	keepWG map[string]bool
	merged merged
}

// prepare merges the sources' contributions into the input of a pass. It
// lists the links of the namespace only when a device selector needs
// resolving.
//
// extra are contributions that are no source's: the keep layer of a Try's
// rollback.
//
// Without extra contributions and device selectors the outcome depends on
// the sources alone: it is kept until a source changes, so a resync does
// not merge and validate 10,000 routes again.
func (r *Reconciler) prepare(ctx context.Context, extra ...contribution) (*pass, error) {
	p := &pass{r: r, refused: map[string]error{}, srcErrs: map[string][]error{}, noPrune: map[string]string{}, pending: map[string]string{}}
	cs := slices.Clone(extra)
	r.mu.Lock()
	gen := r.gen
	if len(extra) == 0 && r.prepared != nil && r.preparedGen == gen {
		q := r.prepared.clone()
		r.mu.Unlock()
		return q, nil
	}
	for _, s := range r.sources {
		if s.pending {
			for _, sec := range builtinSections {
				p.pending[sec.name] = "source " + s.name + " has not set its state yet"
			}
		}
		cs = append(cs, contribution{source: s.name, priority: s.priority, state: s.use})
		for _, sec := range builtinSections {
			if err := s.errs[sec.name]; err != nil {
				p.srcErrs[sec.name] = append(p.srcErrs[sec.name], &SourceError{Source: s.name, Section: sec.name, Err: err})
			}
			if s.blocked[sec.name] {
				p.noPrune[sec.name] = "source " + s.name + " has no valid " + sec.name + " yet"
			}
		}
	}
	r.mu.Unlock()
	slices.SortFunc(cs, func(a, b contribution) int { return strings.Compare(a.source, b.source) })

	// Resolve device selectors, then merge by name.
	var listed []link.Status
	for _, c := range cs {
		if c.state.hasSelectors() {
			var err error
			if listed, err = link.List(ctx, r.ns); err != nil {
				return nil, fmt.Errorf("links: resolving device selectors: %w", err)
			}
			break
		}
	}
	for i := range cs {
		c := &cs[i]
		if !c.state.hasSelectors() {
			continue
		}
		var errs []error
		c.state.Links, errs = resolveSelectors(c.state.Links, listed)
		for _, err := range errs {
			p.srcErrs[StageLinks] = append(p.srcErrs[StageLinks], &SourceError{Source: c.source, Section: StageLinks, Err: err})
		}
		if len(errs) > 0 {
			// The entry left out may be a link the owner created (and
			// selected by its address since): pruning would delete it.
			p.noPrune[StageLinks] = "a device selector of source " + c.source + " did not resolve"
		}
	}
	p.merged = merge(cs)
	p.state = p.merged.state
	for _, sec := range builtinSections {
		if err := sec.validate(&p.state); err != nil {
			p.refused[sec.name] = fmt.Errorf("the sources' %s collide (%s): %w", sec.name, contributors(cs, sec.name), err)
		}
	}
	if err := p.state.validateCross(); err != nil {
		p.refused[StageWireGuard] = errors.Join(p.refused[StageWireGuard], fmt.Errorf("the sources' links and wireguard collide (%s): %w", contributors(cs, StageWireGuard), err))
	}
	p.links = make([]link.Spec, len(p.state.Links))
	for i, l := range p.state.Links {
		p.links[i] = l.Spec
	}
	if len(extra) == 0 && listed == nil {
		r.mu.Lock()
		if r.gen == gen {
			r.prepared, r.preparedGen = p.clone(), gen
		}
		r.mu.Unlock()
	}
	return p, nil
}

// contributors names the sources contributing to a section, highest
// priority first: the merged list an error indexes ("spec[3]") is theirs
// in this order, without the objects they shadow.
func contributors(cs []contribution, section string) string {
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b contribution) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return strings.Compare(a.source, b.source)
	})
	var names []string
	for _, c := range sorted {
		var one, empty State
		copySection(&one, &c.state, section)
		if !reflect.DeepEqual(one, empty) {
			names = append(names, c.source)
		}
	}
	return "sources " + strings.Join(names, ", ")
}

// clone copies p so that a pass may change its maps and top-level slices
// (Plan and a rollback do) without touching a kept copy.
func (p *pass) clone() *pass {
	q := *p
	q.noPrune = clone(p.noPrune)
	q.pending = clone(p.pending)
	q.refused = clone(p.refused)
	q.srcErrs = clone(p.srcErrs)
	return &q
}

// resolveSelectors returns the links section with the device selectors
// resolved to names against listed. An entry whose selector matches no
// device (netprim.ErrNotFound) or several (selector.ErrAmbiguous), or
// that names a device another entry names too, is left out with an error
// naming it ("links[1].deviceSelector: ..."); a selected device is never
// created, so leaving it out never prunes it.
func resolveSelectors(in []Link, listed []link.Status) ([]Link, []error) {
	out := make([]Link, 0, len(in))
	var errs []error
	seen := map[string]int{}
	for i, l := range in {
		field := "name"
		if l.DeviceSelector != nil {
			field = "deviceSelector"
			dev, err := l.DeviceSelector.MatchOne(listed)
			if err != nil {
				errs = append(errs, fmt.Errorf("links[%d].deviceSelector: %w", i, err))
				continue
			}
			l.Name, l.DeviceSelector = dev.Name, nil
		}
		if j, ok := seen[l.Name]; ok {
			errs = append(errs, fmt.Errorf("links[%d].%s: %s is also links[%d]: %w", i, field, l.Name, j, netprim.ErrInvalidSpec))
			continue
		}
		seen[l.Name] = i
		out = append(out, l)
	}
	return out, errs
}

// stageRun is the outcome of one stage in a pass.
type stageRun struct {
	s       *stage
	plan    netprim.Plan
	err     error
	pruned  bool   // ran with prune (inline or deferred)
	skipped string // why it did not prune
	verify  []netprim.Change
}

// run runs the stages in which (nil: all) against the kernel, and updates
// the status. It returns the report of the pass.
func (r *Reconciler) run(ctx context.Context, which map[string]bool, why []string) Pass {
	return r.runWith(ctx, which, why, nil)
}

// rollback is how a Try's rollback pass differs from others: it always
// prunes (what the try added must go, also under WithoutPrune), over the
// previous state plus a keep layer of what the owner had before.
type rollback struct {
	keep    contribution
	noPrune map[string]string // stages that must not prune even so
	keepWG  map[string]bool   // WireGuard devices held before the try
}

// runWith is run, for a rollback when rb is not nil.
func (r *Reconciler) runWith(ctx context.Context, which map[string]bool, why []string, rb *rollback) Pass {
	start := time.Now()
	rep := Pass{Start: start, Why: why}
	var extra []contribution
	if rb != nil {
		extra = append(extra, rb.keep)
	}
	p, err := r.prepare(ctx, extra...)
	if err == nil && rb != nil {
		for k, v := range rb.noPrune {
			p.noPrune[k] = v
		}
		p.keepWG = rb.keepWG
	}
	if err == nil && rb == nil {
		// A source that has not said what it wants yet (a DHCP client
		// waiting for its lease after a restart) keeps every stage from
		// pruning: what it wanted before may be what it wants again. A
		// rollback restores the state before a try, pending sources
		// included, so it prunes regardless.
		for k, v := range p.pending {
			if p.noPrune[k] == "" {
				p.noPrune[k] = v
			}
		}
	}
	if err != nil {
		// Nothing ran: what asked for this pass is asked again, and the
		// retry backoff applies (see retryStages).
		rep.Err, rep.own = err, err
		rep.Duration = time.Since(start)
		r.finish(&rep, nil, nil)
		return rep
	}
	runs := map[string]*stageRun{}
	var ordered, deferred []*stageRun
	failed := func(name string) bool {
		if sr, ok := runs[name]; ok {
			return sr.err != nil
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.failed[name]
	}
	for _, s := range r.stages {
		if which != nil && !which[s.name] && !changedBefore(s, runs) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		sr := &stageRun{s: s}
		runs[s.name] = sr
		ordered = append(ordered, sr)
		rep.Stages = append(rep.Stages, s.name)
		if err := p.refused[s.name]; err != nil {
			sr.err = err
			continue
		}
		prune := r.cfg.prune || rb != nil
		if why := p.noPrune[s.name]; prune && why != "" {
			prune, sr.skipped = false, why
		} else if prune {
			for _, a := range s.after {
				if failed(a) {
					prune, sr.skipped = false, "stage "+a+" failed"
					break
				}
			}
		}
		if !prune {
			sr.plan, sr.err = s.apply(ctx, p, r.options(false, nil))
			rep.Changes.Merge(sr.plan)
			continue
		}
		// Pruning: the stage's Plan with prune (one read) says whether
		// it has anything to add or change, and anything to delete.
		// Additions and changes are applied first, without prune;
		// deletions only once they succeeded — within the stage, since a
		// package's Apply sends its adds and deletes together and a
		// failed add would not stop the delete of what it replaces — and,
		// for the stages that delete links, at the end of the pass. A
		// pass with nothing to do reads each stage once.
		pl, err := s.plan(ctx, p, r.options(true, nil))
		adds, dels := err != nil, err != nil
		for _, c := range pl.Changes {
			if c.Action == netprim.Delete {
				dels = true
			} else {
				adds = true
			}
		}
		if adds {
			sr.plan, sr.err = s.apply(ctx, p, r.options(false, nil))
		}
		switch {
		case !dels:
		case sr.err != nil:
			sr.skipped = "stage failed"
		case s.deferPrune:
			deferred = append(deferred, sr)
		default:
			pl, err := s.apply(ctx, p, r.options(true, nil))
			sr.plan.Merge(pl)
			sr.err, sr.pruned = err, true
		}
		rep.Changes.Merge(sr.plan)
	}
	// Verify what changed: the stage's Plan, with the options of its last
	// Apply, must be empty now. The link stages' deferred pruning waits
	// for this: a stage that applied but does not verify blocks it too.
	verify := func(sr *stageRun) {
		if sr.plan.Empty() || sr.err != nil || ctx.Err() != nil {
			return
		}
		pl, err := sr.s.plan(ctx, p, r.options(sr.pruned, nil))
		switch {
		case err != nil:
			sr.err = fmt.Errorf("verify: %w", err)
		case !pl.Empty():
			sr.verify = pl.Changes
			sr.err = &VerifyError{Stage: sr.s.name, Changes: pl.Changes}
		}
	}
	for _, sr := range ordered {
		verify(sr)
	}
	// Deferred pruning of the link stages, in reverse order: only when the
	// stage, what it depends on and what depends on it all succeeded (in
	// this pass, or in their last run), so that nothing is deleted while
	// its replacement may be missing.
	for i := len(deferred) - 1; i >= 0 && ctx.Err() == nil; i-- {
		sr := deferred[i]
		if why := r.blocker(sr.s, failed); why != "" {
			sr.skipped = why
			continue
		}
		pl, err := sr.s.apply(ctx, p, r.options(true, nil))
		sr.plan.Merge(pl)
		rep.Changes.Merge(pl)
		sr.err, sr.pruned = err, true
		if !pl.Empty() {
			verify(sr)
		}
	}
	var errs, own []error
	for _, sr := range ordered {
		serr := errors.Join(append(slices.Clone(p.srcErrs[sr.s.name]), sr.err)...)
		if serr != nil {
			errs = append(errs, &StageError{Stage: sr.s.name, Err: serr})
		}
		if sr.err != nil {
			own = append(own, &StageError{Stage: sr.s.name, Err: sr.err})
		}
	}
	for _, sr := range ordered {
		if strings.Contains(sr.skipped, "failed") {
			errs = append(errs, fmt.Errorf("%s: prune skipped because %s", sr.s.name, sr.skipped))
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
		own = append(own, ctx.Err())
	}
	rep.Err, rep.own = errors.Join(errs...), errors.Join(own...)
	rep.Duration = time.Since(start)
	r.finish(&rep, p, ordered)
	return rep
}

// changedBefore reports whether a stage s runs after changed something in
// this pass: then s runs too, also when nothing asked for it (a link made
// again needs its addresses, whatever events arrived).
func changedBefore(s *stage, runs map[string]*stageRun) bool {
	for _, a := range s.after {
		if sr := runs[a]; sr != nil && !sr.plan.Empty() {
			return true
		}
	}
	return false
}

// blocker says why a deferred prune of s must not run, or "".
func (r *Reconciler) blocker(s *stage, failed func(string) bool) string {
	if failed(s.name) {
		return "stage failed"
	}
	for _, a := range s.after {
		if failed(a) {
			return "stage " + a + " failed"
		}
	}
	for _, x := range r.stages {
		if x != s && dependsOn(r.byName, x.name, s.name) && failed(x.name) {
			return "stage " + x.name + " failed"
		}
	}
	return ""
}

// finish records the pass in the status and reports it.
func (r *Reconciler) finish(rep *Pass, p *pass, ordered []*stageRun) {
	r.mu.Lock()
	r.passes++
	rep.Seq = r.passes
	r.last = rep.Start
	if p != nil {
		r.merged = p.merged
		r.prepErr = nil
	} else {
		r.prepErr = rep.Err
	}
	for _, sr := range ordered {
		r.failed[sr.s.name] = sr.err != nil
		st := r.status[sr.s.name]
		st.Runs++
		st.LastRun = rep.Start
		st.LastPlan = sr.plan
		st.Unverified = sr.verify
		st.PruneSkipped = sr.skipped
		st.LastError = errors.Join(append(slices.Clone(p.srcErrs[sr.s.name]), sr.err)...)
		if sr.err == nil {
			// A source's refused section is reported in LastError, but
			// the stage applied what it could: that counts as success.
			st.LastSuccess = rep.Start
		}
	}
	r.mu.Unlock()
}

// report hands a pass to OnPass; callers hold no lock of the Reconciler.
func (r *Reconciler) report(rep Pass) {
	if r.cfg.onPass != nil && (len(rep.Stages) > 0 || rep.Err != nil) {
		r.cfg.onPass(rep)
	}
}

// VerifyError reports what still differed from the desired state right
// after a stage applied it: the kernel adjusted or refused a value
// silently, or something changed it again at once.
type VerifyError struct {
	Stage   string
	Changes []netprim.Change // what Plan still reports, field by field
}

// Error renders "verify: still differs after apply: ~ link eth0 mtu 1500 -> 9000; ...".
func (e *VerifyError) Error() string {
	parts := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		parts[i] = c.String()
	}
	return "verify: still differs after apply: " + strings.Join(parts, "; ")
}

// Apply runs one pass of every stage now and waits for it: the merged
// state of the sources is applied (and pruned, unless WithoutPrune). It
// returns the changes made and the pass's errors (StageErrors, joined).
// Apply works with or without Start; passes never overlap.
func (r *Reconciler) Apply(ctx context.Context) (netprim.Plan, error) {
	r.passMu.Lock()
	if r.isClosed() {
		r.passMu.Unlock()
		return netprim.Plan{}, errClosed
	}
	rep := r.run(ctx, nil, []string{"apply"})
	r.passMu.Unlock()
	r.report(rep)
	return rep.Changes, rep.Err
}

func (r *Reconciler) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
