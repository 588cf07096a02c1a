package route

import (
	"github.com/netprim/netprim"
)

// This file is the pure diff of policy rules.

// ruleOp is one rule write. For an add, rule is the rule to add; for a
// delete, rule and proto are the fields of the request, which the kernel
// matches against its rules in order (fields left zero match anything).
type ruleOp struct {
	add    bool
	rule   Rule
	proto  Protocol
	change int // index of the Change this write belongs to
}

// ruleDiff is the input of the rule diff.
type ruleDiff struct {
	want []Rule       // validated and normalized
	have []RuleStatus // in the kernel's order
	// opaque[i] marks kernel rules with selectors a Rule cannot express
	// (uid range, ports, goto, ...): they are never taken as a wanted rule.
	opaque []bool
	owner  Protocol
	prune  bool
}

// simRule is a kernel rule in the simulation of deletions.
type simRule struct {
	r      Rule
	proto  Protocol
	alive  bool
	stale  bool // to be deleted
	wanted bool // must exist at the end
}

// run computes the writes that make the kernel's rules match want: adds,
// then deletions of the owner's rules nobody wants (with prune). A wanted
// rule that exists with any protocol is left alone.
//
// The kernel deletes the first rule that matches the fields of a delete
// request, treating fields the request leaves zero as wildcards, so a
// request for a stale rule may hit a more specific wanted rule of the same
// priority that comes first. run simulates the kernel's search: such a
// wanted rule is deleted and added again afterwards, reported as a
// Recreate.
func (d *ruleDiff) run() ([]ruleOp, []netprim.Change) {
	index := make(map[ruleKey][]int, len(d.have))
	for i := range d.have {
		if d.opaque != nil && d.opaque[i] {
			continue
		}
		k := d.have[i].Rule.key()
		index[k] = append(index[k], i)
	}
	// sim holds every rule, order the kernel's order of them; sim[i] is
	// have[i] for i < len(have).
	sim := make([]simRule, len(d.have), len(d.have)+len(d.want))
	order := make([]int, len(d.have), len(d.have)+len(d.want))
	for i := range d.have {
		sim[i] = simRule{r: d.have[i].Rule, proto: d.have[i].Protocol, alive: true}
		order[i] = i
	}
	var ops []ruleOp
	var changes []netprim.Change
	for i := range d.want {
		w := &d.want[i]
		found := false
		for _, j := range index[w.key()] {
			if !sim[j].wanted {
				sim[j].wanted = true
				found = true
				break
			}
		}
		if found {
			continue
		}
		ops = append(ops, ruleOp{add: true, rule: *w, change: len(changes)})
		changes = append(changes, netprim.Change{Action: netprim.Add, Kind: "rule", Object: w.String()})
		sim = append(sim, simRule{r: *w, proto: d.owner, alive: true, wanted: true})
		order = insertRule(sim, order, len(sim)-1)
	}
	if !d.prune {
		return ops, changes
	}
	for i := range d.have {
		// Only the owner's rules: never the kernel's default rules or
		// rules of other protocols.
		if !sim[i].wanted && d.have[i].Protocol == d.owner && d.owner != 0 {
			sim[i].stale = true
		}
	}
	var readd []ruleOp
	for i := range d.have {
		if !sim[i].stale || !sim[i].alive {
			continue
		}
		filter, proto := &sim[i].r, sim[i].proto
		for {
			j := firstMatch(sim, order, filter, proto)
			if j < 0 {
				break
			}
			hit := &sim[j]
			hit.alive = false
			ops = append(ops, ruleOp{rule: *filter, proto: proto, change: len(changes)})
			switch {
			case hit.stale:
				changes = append(changes, netprim.Change{Action: netprim.Delete, Kind: "rule",
					Object: string(appendRule(nil, &hit.r, hit.proto))})
			default:
				readd = append(readd, ruleOp{add: true, rule: hit.r, change: len(changes)})
				changes = append(changes, netprim.Change{Action: netprim.Recreate, Kind: "rule",
					Object: string(appendRule(nil, &hit.r, hit.proto)), Disruptive: true,
					Reason: "the kernel cannot delete rule " + filter.String() + " without it"})
			}
			if j == i {
				break
			}
		}
	}
	return append(ops, readd...), changes
}

// insertRule inserts sim[n] into order where the kernel would put it:
// after the last rule of its family with a priority not above its own.
func insertRule(sim []simRule, order []int, n int) []int {
	r := &sim[n].r
	at := -1
	for k, i := range order {
		if sim[i].r.Family != r.Family {
			continue
		}
		if sim[i].r.Priority <= r.Priority {
			at = k + 1
		} else if at < 0 {
			at = k
		}
	}
	if at < 0 {
		at = len(order)
	}
	order = append(order, 0)
	copy(order[at+1:], order[at:])
	order[at] = n
	return order
}

// firstMatch returns the index in sim of the first live rule, in kernel
// order, that the kernel would delete for a request carrying the fields of
// filter and protocol proto, or -1.
func firstMatch(sim []simRule, order []int, filter *Rule, proto Protocol) int {
	for _, i := range order {
		s := &sim[i]
		if s.alive && s.r.Family == filter.Family && ruleMatches(&s.r, s.proto, filter, proto) {
			return i
		}
	}
	return -1
}

// ruleMatches mirrors the kernel's rule_find: fields of the request that
// are zero are not compared; the invert flag is never compared.
func ruleMatches(r *Rule, rp Protocol, f *Rule, fp Protocol) bool {
	switch {
	case r.Action.kernel() != f.Action.kernel():
		return false
	case f.Table != 0 && r.Table != f.Table:
		return false
	case r.Priority != f.Priority:
		return false
	case f.IIF != "" && r.IIF != f.IIF:
		return false
	case f.OIF != "" && r.OIF != f.OIF:
		return false
	case f.FwMark != 0 && r.FwMark != f.FwMark:
		return false
	case f.FwMask != 0 && r.FwMask != f.FwMask:
		return false
	case f.SuppressPrefixLength != nil && (r.SuppressPrefixLength == nil || *r.SuppressPrefixLength != *f.SuppressPrefixLength):
		return false
	case fp != 0 && rp != fp:
		return false
	case f.From.IsValid() && r.From != f.From:
		return false
	case f.To.IsValid() && r.To != f.To:
		return false
	}
	return true
}
