package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
)

// The built-in stages, in the order a pass applies them.
const (
	StageLinks     = "links"
	StageWireGuard = "wireguard"
	StageBonds     = "bonds"
	StageVLANs     = "vlans"
	StageBridges   = "bridges"
	StageAddresses = "addresses"
	StageRoutes    = "routes"
	StageRules     = "rules"
	StageFirewall  = "firewall"
	StageFiles     = "files"
)

// Event kinds a stage can wake on (Stage.WakeOn): the Kind of the
// netprim.Events of the packages' Watch functions.
const (
	WakeLink     = "link"     // link.Watch: a link appeared, changed or went
	WakeAddress  = "address"  // addr.Watch
	WakeRoute    = "route"    // route.Watch
	WakeRule     = "rule"     // route.Watch (policy rules)
	WakeFirewall = "firewall" // firewall.Watch: the owned table changed
	WakeFile     = "file"     // resolv.Watch: a managed file changed
)

// Stage is one step of a pass: it makes one part of the kernel (or of the
// files) match what it wants. The built-in stages apply the merged State
// of the sources; a product adds its own with WithStage, holding its own
// desired state and calling Reconciler.Trigger when it changes.
//
// A pass runs the stages in dependency order. The options carry the owner
// (netprim.WithOwner), the Reconciler's apply options (WithApplyOptions)
// and netprim.WithPrune when the stage may prune. Plan must return what
// Apply would change with the same options, without changing anything:
// the Reconciler relies on it. When the stage may prune, a pass calls Plan
// with prune first and then Apply without prune only if that plan adds or
// changes something (or Plan failed), and Apply with prune only if it
// deletes something and the first Apply succeeded; a stage whose Plan is
// empty is not applied. Otherwise a pass calls Apply once, without prune.
// After an Apply that changed something the Reconciler calls Plan again
// to verify: every change it still reports is a VerifyError.
type Stage interface {
	// Name is unique among the stages: not one of the built-in names.
	Name() string
	// After names the stages that must run before this one; a stage of
	// After that fails in a pass keeps this one from pruning in it.
	After() []string
	// WakeOn lists the event kinds (WakeLink, WakeAddress, ...) after
	// which the stage runs again; every stage also runs on a resync.
	WakeOn() []string
	// Plan returns the changes Apply would make.
	Plan(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error)
	// Apply makes the changes and returns them, also on error.
	Apply(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error)
}

// stage is a stage of the Reconciler: a built-in one, working on the
// merged State of the pass, or a product's Stage.
type stage struct {
	name  string
	after []string
	wake  []string
	// deferPrune is set for the stages that delete links: their pruning
	// runs at the end of the pass, in reverse order, after every stage
	// that could move an address or a route off a doomed link has run.
	deferPrune bool
	plan       func(ctx context.Context, p *pass, opts []netprim.Option) (netprim.Plan, error)
	apply      func(ctx context.Context, p *pass, opts []netprim.Option) (netprim.Plan, error)
}

// builtinStages returns the built-in stages in dependency order.
func (r *Reconciler) builtinStages() []*stage {
	linkKinds := []string{StageLinks, StageWireGuard, StageBonds, StageVLANs, StageBridges}
	return []*stage{
		{name: StageLinks, wake: []string{WakeLink}, deferPrune: true,
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return link.Plan(ctx, r.ns, p.links, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return link.Apply(ctx, r.ns, p.links, o...)
			}},
		{name: StageWireGuard, after: []string{StageLinks}, wake: []string{WakeLink}, deferPrune: true,
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return r.wg.plan(ctx, r.ns, p.state.WireGuard, p.keepWG, o)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return r.wg.apply(ctx, r.ns, p.state.WireGuard, p.keepWG, o)
			}},
		{name: StageBonds, after: []string{StageLinks}, wake: []string{WakeLink}, deferPrune: true,
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return bond.Plan(ctx, r.ns, p.state.Bonds, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return bond.Apply(ctx, r.ns, p.state.Bonds, o...)
			}},
		{name: StageVLANs, after: []string{StageLinks, StageBonds}, wake: []string{WakeLink}, deferPrune: true,
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return vlan.Plan(ctx, r.ns, p.state.VLANs, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return vlan.Apply(ctx, r.ns, p.state.VLANs, o...)
			}},
		{name: StageBridges, after: []string{StageLinks, StageBonds, StageVLANs}, wake: []string{WakeLink}, deferPrune: true,
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return bridge.Plan(ctx, r.ns, p.state.Bridges, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return bridge.Apply(ctx, r.ns, p.state.Bridges, o...)
			}},
		{name: StageAddresses, after: linkKinds, wake: []string{WakeAddress},
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return addr.Plan(ctx, r.ns, p.state.Addresses, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return addr.Apply(ctx, r.ns, p.state.Addresses, o...)
			}},
		{name: StageRoutes, after: append(slices.Clone(linkKinds), StageAddresses), wake: []string{WakeRoute},
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return route.Plan(ctx, r.ns, p.state.Routes, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return route.Apply(ctx, r.ns, p.state.Routes, o...)
			}},
		{name: StageRules, after: linkKinds, wake: []string{WakeRule},
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return route.PlanRules(ctx, r.ns, p.state.Rules, o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				return route.ApplyRules(ctx, r.ns, p.state.Rules, o...)
			}},
		{name: StageFirewall, wake: []string{WakeFirewall},
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				if p.state.Firewall == nil {
					return netprim.Plan{}, nil
				}
				return firewall.Plan(ctx, r.ns, *p.state.Firewall, r.firewallOptions(o)...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				if p.state.Firewall == nil {
					return netprim.Plan{}, nil
				}
				return firewall.Apply(ctx, r.ns, *p.state.Firewall, r.firewallOptions(o)...)
			}},
		{name: StageFiles, wake: []string{WakeFile},
			plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				if !p.state.hasFiles() {
					return netprim.Plan{}, nil
				}
				return resolv.Plan(ctx, r.cfg.root, p.state.files(), o...)
			},
			apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
				if !p.state.hasFiles() {
					return netprim.Plan{}, nil
				}
				return resolv.Apply(ctx, r.cfg.root, p.state.files(), o...)
			}},
	}
}

// custom wraps a product's Stage.
func custom(s Stage) *stage {
	return &stage{
		name:  s.Name(),
		after: s.After(),
		wake:  s.WakeOn(),
		plan: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
			return s.Plan(ctx, p.r.ns, o...)
		},
		apply: func(ctx context.Context, p *pass, o []netprim.Option) (netprim.Plan, error) {
			return s.Apply(ctx, p.r.ns, o...)
		},
	}
}

// order sorts the stages so that every stage comes after those it names in
// After, keeping the given order otherwise (the built-in order first). An
// unknown name in After, a duplicate name or a cycle is an error.
func order(stages []*stage) ([]*stage, error) {
	index := map[string]int{}
	for i, s := range stages {
		if s.name == "" {
			return nil, fmt.Errorf("reconcile: stage %d has no name: %w", i, netprim.ErrInvalidSpec)
		}
		if _, ok := index[s.name]; ok {
			return nil, fmt.Errorf("reconcile: stage %s: name used twice: %w", s.name, netprim.ErrInvalidSpec)
		}
		index[s.name] = i
	}
	for _, s := range stages {
		for _, a := range s.after {
			if _, ok := index[a]; !ok {
				return nil, fmt.Errorf("reconcile: stage %s: after %q: no such stage: %w", s.name, a, netprim.ErrInvalidSpec)
			}
		}
	}
	out := make([]*stage, 0, len(stages))
	done := map[string]bool{}
	for len(out) < len(stages) {
		progress := false
		for _, s := range stages {
			if done[s.name] {
				continue
			}
			ready := true
			for _, a := range s.after {
				if !done[a] {
					ready = false
					break
				}
			}
			if ready {
				done[s.name] = true
				out = append(out, s)
				progress = true
				break // restart: keep the given order among ready stages
			}
		}
		if !progress {
			var left []string
			for _, s := range stages {
				if !done[s.name] {
					left = append(left, s.name)
				}
			}
			return nil, fmt.Errorf("reconcile: stages %v depend on each other in a cycle: %w", left, netprim.ErrInvalidSpec)
		}
	}
	return out, nil
}

// dependsOn reports whether stage a depends on stage b, directly or not.
func dependsOn(stages map[string]*stage, a, b string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		s := stages[n]
		if s == nil || seen[n] {
			return false
		}
		seen[n] = true
		for _, x := range s.after {
			if x == b || walk(x) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

// StageError is the error of one stage in a pass, naming the stage.
type StageError struct {
	Stage string
	Err   error
}

// Error renders "STAGE: ERR".
func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *StageError) Unwrap() error { return e.Err }
