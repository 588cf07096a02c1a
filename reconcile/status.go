package reconcile

import (
	"slices"
	"time"

	"github.com/netprim/netprim"
)

// Pass reports one pass of the Reconciler.
type Pass struct {
	// Seq counts the passes of the Reconciler, from 1.
	Seq int `json:"seq"`
	// Start is when the pass began; Duration how long it took.
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	// Why lists what asked for the pass: "source static", "event route",
	// "resync", "retry", "apply", ...
	Why []string `json:"why"`
	// Stages are the stages that ran, in order.
	Stages []string `json:"stages"`
	// Changes are the writes the pass made, in order.
	Changes netprim.Plan `json:"changes"`
	// Err joins the StageErrors of the pass (and VerifyErrors, and the
	// sources' refused sections); nil when every stage that ran
	// succeeded and no source had a section refused. When merging the
	// sources failed (a device selector could not be resolved because
	// the links could not be listed), no stage ran and Err says why.
	Err error `json:"-"`
	// own joins the errors of the stages themselves, without the
	// sources' refused sections: what a retry can fix, and what decides
	// a Try.
	own error
}

// StageStatus is what the Reconciler knows of one stage.
type StageStatus struct {
	Name string `json:"name"`
	// Runs counts the passes that ran the stage.
	Runs int `json:"runs"`
	// LastRun is when the stage last ran; LastSuccess when it last ran
	// without error.
	LastRun     time.Time `json:"lastRun"`
	LastSuccess time.Time `json:"lastSuccess"`
	// LastPlan holds the changes of the stage's last run.
	LastPlan netprim.Plan `json:"lastPlan"`
	// LastError is the error of the stage's last run, nil after a
	// success.
	LastError error `json:"-"`
	// Unverified lists what still differed from the desired state when
	// the stage was verified after its last run (see VerifyError).
	Unverified []netprim.Change `json:"unverified,omitempty"`
	// PruneSkipped says why the last run did not prune ("" when it
	// pruned, or pruning is off).
	PruneSkipped string `json:"pruneSkipped,omitempty"`
}

// SourceStatus is what the Reconciler knows of one source.
type SourceStatus struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
	// Objects are the objects the source contributes, by merge key, as
	// of the last pass ("address 192.0.2.10 dev eth0").
	Objects []string `json:"objects"`
	// Shadowed are its objects that a source of higher priority (or the
	// same priority and a lower name) contributes too.
	Shadowed []Shadow `json:"shadowed,omitempty"`
	// Err holds the SourceErrors of the sections its last Set refused.
	Err error `json:"-"`
}

// Status is a snapshot of the Reconciler's state.
type Status struct {
	// Passes counts the passes; LastPass is when the last one began.
	Passes   int       `json:"passes"`
	LastPass time.Time `json:"lastPass"`
	// Stages in pass order; Sources by name.
	Stages  []StageStatus  `json:"stages"`
	Sources []SourceStatus `json:"sources"`
	// WatchErr is the error of a kernel subscription that is failing
	// now (the Reconciler falls back to the periodic pass until it
	// re-subscribes); nil while every subscription works.
	WatchErr error `json:"-"`
	// Err is the error of the last pass if it could not start at all
	// (see Pass.Err), else nil.
	Err error `json:"-"`
}

// Status returns a snapshot of the Reconciler's state.
func (r *Reconciler) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{Passes: r.passes, LastPass: r.last, WatchErr: r.watchEr, Err: r.prepErr}
	for _, s := range r.stages {
		ss := *r.status[s.name]
		ss.LastPlan.Changes = slices.Clone(ss.LastPlan.Changes)
		ss.Unverified = slices.Clone(ss.Unverified)
		st.Stages = append(st.Stages, ss)
	}
	names := make([]string, 0, len(r.sources))
	for n := range r.sources {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := r.sources[n]
		st.Sources = append(st.Sources, SourceStatus{
			Name:     n,
			Priority: s.priority,
			Objects:  slices.Clone(r.merged.objects[n]),
			Shadowed: slices.Clone(r.merged.shadows[n]),
			Err:      s.errorLocked(),
		})
	}
	return st
}

// Stage returns the status of the named stage.
func (st Status) Stage(name string) (StageStatus, bool) {
	for _, s := range st.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return StageStatus{}, false
}

// Source returns the status of the named source.
func (st Status) Source(name string) (SourceStatus, bool) {
	for _, s := range st.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return SourceStatus{}, false
}
