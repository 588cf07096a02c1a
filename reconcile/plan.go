package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
)

// Plan returns what a pass of every stage would change now, in the order
// the pass would make the changes, without changing anything: the merged
// dry run of every source.
//
// Addresses and routes on links a pass would create are shown as
// additions. Like a pass, Plan goes on past an error in one stage and
// joins the errors (StageErrors); the deletions a pass would not make
// because of them are left out. A stage whose input depends on what an
// earlier stage has still to create (a bond's VLAN, say) is planned as far
// as the kernel allows, with a warning.
func (r *Reconciler) Plan(ctx context.Context) (netprim.Plan, error) {
	r.passMu.Lock() // the WireGuard handles are the passes'
	defer r.passMu.Unlock()
	var total netprim.Plan
	p, err := r.prepare(ctx)
	if err != nil {
		return total, err
	}
	existing, err := link.List(ctx, r.ns, link.WithoutEthtool())
	if err != nil {
		return total, &StageError{Stage: StageLinks, Err: err}
	}
	missing := map[string]bool{}
	for _, l := range p.links {
		missing[l.Name] = true
	}
	for _, w := range p.state.WireGuard {
		missing[w.Name] = true
	}
	for _, b := range p.state.Bonds {
		missing[b.Name] = true
	}
	for _, v := range p.state.VLANs {
		missing[vlanKey(v)] = true
	}
	for _, b := range p.state.Bridges {
		missing[b.Name] = true
	}
	for _, l := range existing {
		delete(missing, l.Name)
	}
	// Addresses and routes on links still to be created cannot be planned
	// against the kernel: they are additions.
	var laterAddrs, laterRoutes netprim.Plan
	full := p.state
	p.state.Addresses, p.state.Routes = nil, nil
	for _, a := range full.Addresses {
		if missing[a.Link] {
			a.Normalize()
			laterAddrs.Append(netprim.Change{Action: netprim.Add, Kind: "address", Object: a.String()})
			continue
		}
		p.state.Addresses = append(p.state.Addresses, a)
	}
	for _, rt := range full.Routes {
		if routeUses(rt, missing) {
			rt.Normalize()
			laterRoutes.Append(netprim.Change{Action: netprim.Add, Kind: "route", Object: rt.String()})
			continue
		}
		p.state.Routes = append(p.state.Routes, rt)
	}
	var (
		deletes  []netprim.Plan
		errs     []error
		creating bool // an earlier stage adds objects that are not there yet
	)
	failed := map[string]bool{}
	for _, s := range r.stages {
		if err := errors.Join(append(slices.Clone(p.srcErrs[s.name]), p.refused[s.name])...); err != nil {
			errs = append(errs, &StageError{Stage: s.name, Err: err})
			if p.refused[s.name] != nil {
				failed[s.name] = true
				continue
			}
		}
		prune := r.cfg.prune && p.noPrune[s.name] == ""
		for _, a := range s.after {
			if failed[a] {
				prune = false
			}
		}
		pl, err := s.plan(ctx, p, r.options(prune, nil))
		switch {
		case err != nil && creating && errors.Is(err, netprim.ErrNotFound):
			total.Warnings = append(total.Warnings, fmt.Sprintf("%s: not fully planned until the changes above are made: %v", s.name, err))
		case err != nil:
			errs = append(errs, &StageError{Stage: s.name, Err: err})
			failed[s.name] = true
		}
		var del netprim.Plan
		for _, c := range pl.Changes {
			if c.Action == netprim.Add || c.Action == netprim.Recreate {
				creating = true
			}
			if c.Action == netprim.Delete && s.deferPrune {
				del.Append(c)
			} else {
				total.Append(c)
			}
		}
		total.Warnings = append(total.Warnings, pl.Warnings...)
		switch s.name {
		case StageAddresses:
			total.Merge(laterAddrs)
		case StageRoutes:
			total.Merge(laterRoutes)
		}
		deletes = append(deletes, del)
	}
	if len(errs) > 0 {
		// A pass would not prune the link stages.
		return total, errors.Join(errs...)
	}
	for i := len(deletes) - 1; i >= 0; i-- {
		total.Merge(deletes[i])
	}
	return total, nil
}

// routeUses reports whether r goes out through one of the links.
func routeUses(r route.Spec, links map[string]bool) bool {
	if links[r.Link] {
		return true
	}
	for _, h := range r.NextHops {
		if links[h.Link] {
			return true
		}
	}
	return false
}
