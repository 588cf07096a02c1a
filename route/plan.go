package route

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/netprim/netprim"
)

// This file is the pure diff between wanted routes and the kernel's: no
// I/O, so it is tested without a kernel.

// opKind is the kind of one kernel write.
type opKind uint8

const (
	opAdd     opKind = iota + 1 // RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL
	opReplace                   // RTM_NEWROUTE, NLM_F_CREATE|NLM_F_REPLACE
	opDelete                    // RTM_DELROUTE
)

// routeOp is one write: want indexes the wanted spec (add, replace), have
// the kernel route (replace, delete). The op's changes are
// Changes[first:first+n] of the diff's plan.
type routeOp struct {
	kind     opKind
	want     int32
	have     int32
	first, n int32
}

// routeDiff is the input of the diff.
type routeDiff struct {
	want []Spec // validated; normalized on use (Normalize is cheap, copying all is not)
	// skip[i] marks wanted routes that cannot be written (their link is
	// missing; the error is reported elsewhere). Their key still protects
	// the kernel's route from pruning. nil means none.
	skip []bool
	have []Status
	// opaque[i] marks kernel routes with attributes a Spec cannot express
	// (a source prefix): they are never matched, replaced or pruned.
	opaque []bool
	owner  Protocol
	prune  bool
	// owned lists the tables whose routes all belong to the owner.
	owned []uint32

	// conflicts is set by ops: the wanted routes it refused because their
	// key belongs to a route the kernel made for an address.
	conflicts []conflict
}

// conflict is a wanted route (want) that differs, in a field it sets, from
// the kernel's own route with its key (have). Apply never replaces such a
// route: it reports the conflict instead.
type conflict struct{ want, have int32 }

// run computes the writes that make the kernel match want, in the order to
// send them, and the changes they make.
func (d *routeDiff) run() ([]routeOp, []netprim.Change) {
	ops := d.ops()
	return ops, d.changes(ops)
}

// ops computes the writes that make the kernel match want, in the order to
// send them: adds and replacements first (routes that need no gateway
// resolution before those that do), then deletions (gateway routes first).
func (d *routeDiff) ops() []routeOp {
	head := make(map[key]int32, len(d.have))
	next := make([]int32, len(d.have))
	for i := len(d.have) - 1; i >= 0; i-- {
		if d.isOpaque(i) {
			next[i] = -1
			continue
		}
		k := d.have[i].key()
		if h, ok := head[k]; ok {
			next[i] = h
		} else {
			next[i] = -1
		}
		head[k] = int32(i)
	}
	used := make([]bool, len(d.have))
	d.conflicts = nil
	var ops []routeOp
	var later []routeOp // adds and replacements that need a gateway resolved

	for i := range d.want {
		nw := normalized(&d.want[i])
		w := &nw
		h, ok := head[w.key()]
		if !ok {
			if !d.skipped(i) {
				op := routeOp{kind: opAdd, want: int32(i), have: -1}
				if needsGateway(w) {
					later = append(later, op)
				} else {
					ops = append(ops, op)
				}
			}
			continue
		}
		// Pick the kernel route to keep or replace: an identical one of
		// ours, a kernel-made one that matches, else the first with the
		// key, which is the one the kernel replaces (taken over if it is
		// not ours, refused if the kernel made it).
		var exact, kernelEq, first int32 = -1, -1, -1
		for j := h; j >= 0; j = next[j] {
			if used[j] {
				continue
			}
			switch {
			case d.have[j].Protocol == ProtocolKernel:
				if kernelSatisfies(w, &d.have[j]) {
					kernelEq = j
				}
			case differ(w, &d.have[j], d.owner) == 0:
				exact = j
			}
			if first < 0 {
				first = j
			}
			if exact >= 0 {
				break
			}
		}
		if d.skipped(i) {
			for j := h; j >= 0; j = next[j] {
				used[j] = true
			}
			continue
		}
		switch {
		case exact >= 0:
			used[exact] = true
			continue
		case kernelEq >= 0:
			used[kernelEq] = true
			continue
		case first >= 0 && d.have[first].Protocol == ProtocolKernel:
			// Replacing it would change (and take over) the route of
			// an address; like a route that cannot be written, the
			// wanted one still protects its key from pruning.
			d.conflicts = append(d.conflicts, conflict{want: int32(i), have: first})
			for j := h; j >= 0; j = next[j] {
				used[j] = true
			}
			continue
		}
		op := routeOp{kind: opAdd, want: int32(i), have: -1}
		if first >= 0 {
			used[first] = true
			op = routeOp{kind: opReplace, want: int32(i), have: first}
		}
		if needsGateway(w) {
			later = append(later, op)
		} else {
			ops = append(ops, op)
		}
	}
	ops = append(ops, later...)

	// Deletions: kernel routes nobody wants that the owner may remove.
	nAdd := len(ops)
	if d.prune {
		for j := range d.have {
			if used[j] || d.isOpaque(j) || !d.prunable(&d.have[j]) {
				continue
			}
			ops = append(ops, routeOp{kind: opDelete, want: -1, have: int32(j)})
		}
		// Gateway routes go before the routes that may carry their
		// gateway.
		dels := ops[nAdd:]
		slices.SortStableFunc(dels, func(a, b routeOp) int {
			ga, gb := needsGateway(&d.have[a.have].Spec), needsGateway(&d.have[b.have].Spec)
			switch {
			case ga == gb:
				return 0
			case ga:
				return -1
			}
			return 1
		})
	}

	return ops
}

// changes renders the changes of ops and records in each op which of them
// it makes.
func (d *routeDiff) changes(ops []routeOp) []netprim.Change {
	var buf []byte
	changes := make([]netprim.Change, 0, len(ops))
	for k := range ops {
		op := &ops[k]
		op.first = int32(len(changes))
		switch op.kind {
		case opAdd:
			w := normalized(&d.want[op.want])
			buf = appendRoute(buf[:0], &w, 0, netip.Prefix{}, 0)
			changes = append(changes, netprim.Change{Action: netprim.Add, Kind: "route", Object: string(buf)})
		case opDelete:
			h := &d.have[op.have]
			buf = appendRoute(buf[:0], &h.Spec, 0, h.From, h.Protocol)
			c := netprim.Change{Action: netprim.Delete, Kind: "route", Object: string(buf)}
			if h.Protocol != d.owner {
				c.Reason = "proto " + h.Protocol.String() + ", in owned table " + TableName(h.Table)
			}
			changes = append(changes, c)
		case opReplace:
			nw := normalized(&d.want[op.want])
			w, h := &nw, &d.have[op.have]
			diff := differ(w, h, d.owner)
			for _, f := range fieldOrder {
				if diff&f.f == 0 {
					continue
				}
				buf = appendRoute(buf[:0], w, f.f, netip.Prefix{}, 0)
				changes = append(changes, netprim.Change{
					Action: netprim.Modify, Kind: "route", Object: string(buf), Field: f.name,
					From: fieldValue(&h.Spec, f.f, h.Protocol), To: fieldValue(w, f.f, d.owner),
				})
			}
		}
		op.n = int32(len(changes)) - op.first
	}
	return changes
}

func (d *routeDiff) skipped(i int) bool { return d.skip != nil && d.skip[i] }

func (d *routeDiff) isOpaque(i int) bool { return d.opaque != nil && d.opaque[i] }

// prunable reports whether the owner may delete h when it is not wanted.
func (d *routeDiff) prunable(h *Status) bool {
	if h.Protocol == ProtocolKernel {
		return false
	}
	if h.Protocol == d.owner {
		return true
	}
	return slices.Contains(d.owned, h.Table)
}

// needsGateway reports whether the kernel must resolve a gateway of s
// through another route (not onlink) when s is written.
func needsGateway(s *Spec) bool {
	if s.Gateway.IsValid() && !s.OnLink {
		return true
	}
	for i := range s.NextHops {
		if s.NextHops[i].Gateway.IsValid() && !s.NextHops[i].OnLink {
			return true
		}
	}
	return false
}

// differ returns the fields in which the kernel route h differs from the
// wanted route w. A wanted Link left empty next to a gateway is not
// compared: the kernel picks it.
func differ(w *Spec, h *Status, owner Protocol) fields {
	var d fields
	if w.Type != h.Type {
		d |= fType
	}
	if w.Gateway != h.Gateway {
		d |= fGateway
	}
	if w.Link != h.Link && !(w.Link == "" && w.Gateway.IsValid()) {
		d |= fLink
	}
	if w.Source != h.Source {
		d |= fSource
	}
	if w.Scope != h.Scope {
		d |= fScope
	}
	if w.MTU != h.MTU {
		d |= fMTU
	}
	if w.OnLink != h.OnLink {
		d |= fOnLink
	}
	if !sameHops(w.NextHops, h.NextHops) {
		d |= fNextHops
	}
	if h.Protocol != owner {
		d |= fProtocol
	}
	return d
}

// kernelSatisfies reports whether the kernel's own route h (protocol
// kernel, made for an address) already is the wanted route w. Fields w
// leaves unset (a preferred source, an MTU) are the kernel's to choose:
// the kernel gives the route of an IPv4 address that address as source.
func kernelSatisfies(w *Spec, h *Status) bool {
	d := differ(w, h, ProtocolKernel)
	if !w.Source.IsValid() {
		d &^= fSource
	}
	if w.MTU == 0 {
		d &^= fMTU
	}
	return d == 0
}

// conflictError describes c for the error Plan and Apply return: the
// wanted route, and the kernel's route and address that own its key.
func (d *routeDiff) conflictError(c conflict) error {
	h := &d.have[c.have]
	whose := "an address"
	switch {
	case h.Source.IsValid():
		whose = "address " + h.Source.String()
	case h.Link != "":
		whose = "an address on " + h.Link
	}
	return &netprim.OpError{Op: "replace", Object: "route " + normalized(&d.want[c.want]).String(),
		Err: fmt.Errorf("spec[%d]: %w: the key belongs to the kernel's route for %s (%s), which is never replaced: use another metric or table",
			c.want, netprim.ErrConflict, whose, h.String())}
}

func sameHops(w, h []NextHop) bool {
	if len(w) != len(h) {
		return false
	}
	for i := range w {
		a, b := &w[i], &h[i]
		if a.Gateway != b.Gateway || a.Weight != b.Weight || a.OnLink != b.OnLink ||
			(a.Link != b.Link && !(a.Link == "" && a.Gateway.IsValid())) {
			return false
		}
	}
	return true
}
