package addr

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/netprim/netprim"
)

// This file is the pure diff: kernel state and wanted Specs in, ordered
// write operations out. No I/O.

// lifeForever is the kernel's "infinite" lifetime.
const lifeForever = 0xFFFFFFFF

// Kernel IFA_PROTO values; owner ids start above them.
const (
	protoUnspec   = 0
	protoKernelLL = 3
)

// kaddr is one address as read from or written to the kernel.
type kaddr struct {
	ifindex   int
	link      string
	local     netip.Addr
	bits      int
	peer      netip.Addr // IFA_ADDRESS when it differs from local
	scope     uint8
	label     string
	flags     uint32
	valid     uint32 // remaining or wanted seconds, lifeForever
	preferred uint32
	broadcast netip.Addr
	metric    uint32
	proto     uint8
	// until: the wanted lifetimes come from Spec.ValidUntil and are
	// compared with lifetimeStaleUntil.
	until bool
}

func (a *kaddr) v4() bool { return a.local.Is4() }

// prefix is the local address with the prefix length.
func (a *kaddr) prefix() netip.Prefix { return netip.PrefixFrom(a.local, a.bits) }

// remote is what the kernel keeps as IFA_ADDRESS: the peer or the local
// address.
func (a *kaddr) remote() netip.Addr {
	if a.peer.IsValid() {
		return a.peer
	}
	return a.local
}

// subnet is the network IPv4 uses to decide primary and secondary.
func (a *kaddr) subnet() netip.Prefix {
	p, _ := a.remote().Prefix(a.bits)
	return p
}

func (a *kaddr) object() string { return string(appendObject(nil, a.prefix(), a.peer, a.link)) }

func (a *kaddr) status() Status {
	st := Status{
		LinkIndex: a.ifindex,
		Link:      a.link,
		Family:    "inet",
		Address:   a.prefix(),
		Peer:      a.peer,
		Scope:     scopeString(a.scope),
		Label:     a.label,
		Flags:     flagStrings(a.flags, !a.v4()),
		Broadcast: a.broadcast,
		Metric:    a.metric,
		Protocol:  a.proto,
	}
	if !a.v4() {
		st.Family = "inet6"
	}
	if a.valid != lifeForever {
		st.ValidLifetime = time.Duration(a.valid) * time.Second
	}
	if a.preferred != lifeForever {
		st.PreferredLifetime = time.Duration(a.preferred) * time.Second
	}
	return st
}

// fromStatus is the inverse of status.
func fromStatus(st Status) kaddr {
	a := kaddr{
		ifindex:   st.LinkIndex,
		link:      st.Link,
		local:     st.Address.Addr(),
		bits:      st.Address.Bits(),
		peer:      st.Peer,
		scope:     scopeValue(st.Scope),
		label:     st.Label,
		flags:     flagBits(st.Flags),
		valid:     lifeForever,
		preferred: lifeForever,
		broadcast: st.Broadcast,
		metric:    st.Metric,
		proto:     st.Protocol,
	}
	if st.ValidLifetime > 0 {
		a.valid = uint32(st.ValidLifetime / time.Second)
	}
	if st.PreferredLifetime > 0 || a.flags&unixIFA_F_DEPRECATED != 0 {
		a.preferred = uint32(st.PreferredLifetime / time.Second)
	}
	return a
}

// fromSpec makes the wanted kernel address of a normalized Spec. The
// lifetimes of a Spec with ValidUntil are the whole seconds left at now;
// a valid lifetime of 0 means the Spec has expired.
func fromSpec(s *Spec, ifindex int, proto uint8, now time.Time) kaddr {
	a := kaddr{
		ifindex:   ifindex,
		link:      s.Link,
		local:     s.Address.Addr(),
		bits:      s.Address.Bits(),
		peer:      s.Peer,
		scope:     scopeValue(s.Scope),
		label:     s.Label,
		flags:     flagBits(s.Flags),
		valid:     lifeForever,
		preferred: lifeForever,
		broadcast: s.Broadcast,
		metric:    s.Metric,
		proto:     proto,
	}
	if a.peer == a.local {
		a.peer = netip.Addr{}
	}
	if s.ValidLifetime > 0 {
		a.valid = uint32(s.ValidLifetime / time.Second)
	}
	if s.PreferredLifetime > 0 {
		a.preferred = uint32(s.PreferredLifetime / time.Second)
	}
	if !s.ValidUntil.IsZero() {
		a.until = true
		a.valid = secondsLeft(s.ValidUntil, now)
		a.preferred = secondsLeft(s.PreferredUntil, now)
	}
	return a
}

// secondsLeft is the whole seconds from now to until, rounded down: 0 when
// until is less than a second away or past, at most the kernel's longest
// finite lifetime.
func secondsLeft(until, now time.Time) uint32 {
	d := until.Sub(now)
	switch {
	case d < time.Second:
		return 0
	case d > maxLifetime:
		return uint32(maxLifetime / time.Second)
	}
	return uint32(d / time.Second)
}

// target is one validated, normalized Spec with its link resolved.
type target struct {
	index   int // position in the caller's list
	spec    Spec
	ifindex int
}

// planInput is everything the diff needs.
type planInput struct {
	want []target
	have []kaddr // in kernel dump order
	// promote reports net.ipv4.conf.LINK.promote_secondaries by ifindex.
	promote    map[int]bool
	promoteAll bool
	owner      uint8
	prune      bool
	// marks is false on kernels without IFA_PROTO: nothing is marked, so
	// nothing is adopted or pruned.
	marks bool
	// remark4 is true when the kernel changes the IFA_PROTO of an IPv4
	// address on replace (Linux 6.3); IPv6 always does.
	remark4 bool
	// refresh rewrites every finite wanted lifetime (WithRefresh).
	refresh bool
	// now is the time the lifetimes of Specs with ValidUntil count from.
	now time.Time
}

type opKind uint8

const (
	opAdd     opKind = iota + 1 // RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL
	opReplace                   // RTM_NEWADDR, NLM_F_REPLACE
	opDelete                    // RTM_DELADDR
)

func (k opKind) String() string {
	switch k {
	case opAdd:
		return "add"
	case opReplace:
		return "replace"
	case opDelete:
		return "delete"
	}
	return "?"
}

// op is one write request.
type op struct {
	kind opKind
	a    kaddr
	// changes are the Plan lines this request carries out.
	changes []netprim.Change
	// second puts the request in the second batch: deletes, and adds that
	// must follow a delete.
	second bool
	// after is the index+1 of an op that must succeed first (0: none).
	after int
	// skip: the kernel does this by itself (the address went with its
	// primary); the changes are done when after is.
	skip bool
	// readd: the address is added again after the kernel deleted it with
	// its primary; EEXIST means it survived, which is fine.
	readd bool
}

// planResult is the diff's output.
type planResult struct {
	ops      []op
	warnings []string
	errs     []error
	// lost reports that some addresses are re-added because deleting a
	// primary IPv4 address removes its secondaries.
	lost bool
}

// plan returns the changes of the result in order.
func (r *planResult) plan() netprim.Plan {
	p := netprim.Plan{Changes: make([]netprim.Change, 0, len(r.ops))}
	for i := range r.ops {
		p.Append(r.ops[i].changes...)
	}
	p.Warnings = append(p.Warnings, r.warnings...)
	return p
}

type linkIP struct {
	ifindex int
	ip      netip.Addr
}

// diff computes the ordered writes that make have match want.
//
// Order: adds of new addresses and in-place replaces (first batch), then
// recreates of addresses whose key attributes changed (delete, add), then
// deletes of replaced and pruned addresses, then re-adds of IPv4 addresses
// the kernel removed together with a deleted primary (second batch).
func diff(in planInput) planResult {
	var r planResult
	// byIP finds the addresses with a given local address on a link: the
	// first one's index, further ones chained through next (IPv4 can hold
	// one local address with several prefix lengths).
	byIP := make(map[linkIP]int32, len(in.have))
	next := make([]int32, len(in.have))
	for i := len(in.have) - 1; i >= 0; i-- {
		h := &in.have[i]
		k := linkIP{h.ifindex, h.local}
		next[i] = -1
		if j, ok := byIP[k]; ok {
			next[i] = j
		}
		byIP[k] = int32(i)
	}
	cands := func(k linkIP) func(yield func(int) bool) {
		return func(yield func(int) bool) {
			j, ok := byIP[k]
			for ok && j >= 0 {
				if !yield(int(j)) {
					return
				}
				j = next[j]
			}
		}
	}
	// matchedBy[i] is 1 + the index of the target that matches have[i].
	matchedBy := make([]int32, len(in.have))
	var first, recreates, deletes []op
	// Most ops carry one change: take them from one array, made when the
	// first is needed (a no-op Apply allocates none).
	var arena []netprim.Change
	one := func(c netprim.Change) []netprim.Change {
		if arena == nil {
			arena = make([]netprim.Change, 0, len(in.want)+len(in.have))
		}
		arena = append(arena, c)
		n := len(arena)
		return arena[n-1 : n : n]
	}
	for ti := range in.want {
		t := &in.want[ti]
		w := fromSpec(&t.spec, t.ifindex, in.owner, in.now)
		if w.until && w.valid == 0 {
			// Expired: not wanted. An address of ours is pruned;
			// otherwise the kernel removes it by itself.
			r.warnings = append(r.warnings, fmt.Sprintf("address %s: validUntil %s is past or less than a second away: not added",
				w.object(), t.spec.ValidUntil.Format(time.RFC3339Nano)))
			continue
		}
		key := linkIP{w.ifindex, w.local}
		exact := -1
		for c := range cands(key) {
			if sameKey(&w, &in.have[c]) {
				exact = c
			}
		}
		addAt := -1
		if exact < 0 {
			if first == nil {
				first = make([]op, 0, len(in.want)-ti)
			}
			first = append(first, op{kind: opAdd, a: w, changes: one(netprim.Change{
				Action: netprim.Add, Kind: "address", Object: w.object(),
			})})
			addAt = len(first) - 1
		} else {
			matchedBy[exact] = int32(ti + 1)
			h := &in.have[exact]
			w.proto = keepProto(h, in)
			mods, recreate := compare(&w, h, in.refresh)
			switch {
			case len(recreate) > 0 && h.proto != in.owner:
				r.errs = append(r.errs, &netprim.OpError{Op: "replace", Object: "address " + w.object(),
					Err: fmt.Errorf("%w: %s cannot change in place and the existing address is not ours (protocol %d): delete it or change the spec",
						netprim.ErrConflict, strings.Join(recreate, ", "), h.proto)})
			case len(recreate) > 0:
				del := op{kind: opDelete, a: *h, second: true}
				add := op{kind: opAdd, a: w, second: true, changes: one(netprim.Change{
					Action: netprim.Recreate, Kind: "address", Object: w.object(), Disruptive: true,
					Reason: strings.Join(recreate, ", ") + " cannot change in place",
				})}
				recreates = append(recreates, del, add)
			case len(mods) > 0:
				for i := range mods {
					mods[i].Object = w.object()
				}
				first = append(first, op{kind: opReplace, a: w, changes: mods})
			}
		}
		// IPv4 keeps the same local address with another prefix length as
		// another address: ours are replaced, add before delete.
		for c := range cands(key) {
			h := &in.have[c]
			if c == exact || matchedBy[c] != 0 || h.proto != in.owner || !in.marks {
				continue
			}
			matchedBy[c] = int32(ti + 1)
			d := op{kind: opDelete, a: *h, second: true, changes: one(netprim.Change{
				Action: netprim.Delete, Kind: "address", Object: h.object(), Reason: "replaced by " + w.object(),
			})}
			if addAt >= 0 {
				d.after = addAt + 1 // index into first, which comes first in ops
			}
			deletes = append(deletes, d)
		}
	}
	if in.prune && in.marks {
		for i := range in.have {
			h := &in.have[i]
			if matchedBy[i] != 0 || h.proto != in.owner {
				continue
			}
			deletes = append(deletes, op{kind: opDelete, a: *h, second: true, changes: one(netprim.Change{
				Action: netprim.Delete, Kind: "address", Object: h.object(),
			})})
		}
	}
	r.ops = make([]op, 0, len(first)+len(recreates)+len(deletes))
	r.ops = append(r.ops, first...)
	for _, o := range recreates {
		if o.kind == opAdd {
			o.after = len(r.ops) // the delete just before
		}
		r.ops = append(r.ops, o)
	}
	r.ops = append(r.ops, deletes...)
	if in.prune && !in.marks {
		r.warnings = append(r.warnings, "the kernel does not record address owners (IFA_PROTO, Linux 5.18): nothing is pruned")
	}
	simulateSecondaries(in, &r, matchedBy)
	return r
}

// sameKey reports whether the kernel treats w and h as the same address:
// IPv6 by local address, IPv4 by local address, prefix length and the
// masked IFA_ADDRESS.
func sameKey(w, h *kaddr) bool {
	if w.ifindex != h.ifindex || w.local != h.local {
		return false
	}
	if !w.v4() {
		return true
	}
	return w.bits == h.bits && w.subnet() == h.subnet()
}

// keepProto is the IFA_PROTO to send when replacing h in place: ours for
// our own and for unmarked addresses (they are adopted, where the kernel
// can change the mark), otherwise the existing owner's, since the kernel
// overwrites it.
func keepProto(h *kaddr, in planInput) uint8 {
	if h.proto == protoUnspec && in.marks && (in.remark4 || !h.v4()) {
		return in.owner
	}
	return h.proto
}

// compare returns the attributes of h that differ from w: those the kernel
// changes in place (as Modify changes) and those that need the address
// deleted and added again.
//
// With refresh, a finite wanted lifetime is written even when it is not
// stale (the change's Reason says "refresh").
func compare(w, h *kaddr, refresh bool) (mods []netprim.Change, recreate []string) {
	mod := func(field, from, to string) {
		mods = append(mods, netprim.Change{Action: netprim.Modify, Kind: "address", Field: field, From: from, To: to})
	}
	stale := lifetimeStale
	if w.until {
		stale = lifetimeStaleUntil
	}
	life := func(field string, have, want uint32) {
		switch {
		case stale(have, want):
			mod(field, lifeString(have), lifeString(want))
		case refresh && want != lifeForever:
			mods = append(mods, netprim.Change{Action: netprim.Modify, Kind: "address", Field: field,
				From: lifeString(have), To: lifeString(want), Reason: "refresh"})
		}
	}
	v4 := w.v4()
	if w.bits != h.bits {
		recreate = append(recreate, fmt.Sprintf("prefix length /%d -> /%d", h.bits, w.bits))
	}
	if w.peer != h.peer {
		recreate = append(recreate, fmt.Sprintf("peer %s -> %s", addrString(h.peer), addrString(w.peer)))
	}
	managed := uint32(managedFlags6)
	if v4 {
		managed = managedFlags4
		if w.scope != h.scope {
			recreate = append(recreate, fmt.Sprintf("scope %s -> %s", scopeString(h.scope), scopeString(w.scope)))
		}
		if w.label != h.label {
			recreate = append(recreate, fmt.Sprintf("label %s -> %s", h.label, w.label))
		}
		if w.broadcast != h.broadcast {
			recreate = append(recreate, fmt.Sprintf("broadcast %s -> %s", addrString(h.broadcast), addrString(w.broadcast)))
		}
	}
	if wf, hf := w.flags&managed, h.flags&managed; wf != hf {
		if v4 {
			recreate = append(recreate, fmt.Sprintf("flags %s -> %s", flagList(hf), flagList(wf)))
		} else {
			mod("flags", flagList(hf), flagList(wf))
		}
	}
	if w.metric != h.metric {
		mod("metric", fmt.Sprint(h.metric), fmt.Sprint(w.metric))
	}
	life("validLifetime", h.valid, w.valid)
	life("preferredLifetime", h.preferred, w.preferred)
	if w.proto != h.proto {
		mod("protocol", fmt.Sprint(h.proto), fmt.Sprint(w.proto))
	}
	return mods, recreate
}

// lifetimeStale decides whether a remaining lifetime (seconds, counting
// down) must be refreshed to the wanted one: when one of them is forever
// and the other is not, when more than half of the wanted lifetime has
// passed (this includes a preferred lifetime that ran out), or when the
// remaining time is longer than wanted (the Spec was shortened), with one
// second of slack for rounding.
func lifetimeStale(have, want uint32) bool {
	if have == lifeForever || want == lifeForever {
		return have != want
	}
	return uint64(have) > uint64(want)+1 || uint64(have)*2 < uint64(want)
}

// untilSlack is how much shorter than wanted the kernel's remaining
// lifetime of an address with ValidUntil may be before Apply writes it
// again, in seconds. A lifetime written from ValidUntil reads as the
// wanted one or one more (see lifetimeStaleUntil), never less, as long as
// the kernel's clock and the one ValidUntil is read on (the wall clock when
// ValidUntil has no monotonic reading) agree; the slack lets them drift
// two seconds apart before a write. A larger gap is a renewal (a later
// ValidUntil) or a lifetime someone else wrote.
const untilSlack = 2

// lifetimeStaleUntil decides whether a remaining lifetime (seconds,
// counting down) must be rewritten for a Spec with ValidUntil, whose
// wanted lifetime want is the whole seconds left until then. It is stale
// when one of them is forever and the other is not; when the kernel would
// keep the address (or its preferred state) longer than wanted: have is
// above want + 1, the one second being the kernel's rounding (the kernel
// reports the seconds written less the whole seconds passed, so a lifetime
// written as floor(until - t0) reads as floor(until - t) or one more); or
// when have is more than untilSlack seconds short of want.
func lifetimeStaleUntil(have, want uint32) bool {
	if have == lifeForever || want == lifeForever {
		return have != want
	}
	return uint64(have) > uint64(want)+1 || uint64(have)+untilSlack < uint64(want)
}

func lifeString(v uint32) string {
	if v == lifeForever {
		return "forever"
	}
	return (time.Duration(v) * time.Second).String()
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}

func flagList(bits uint32) string {
	var names []string
	for _, bit := range managedFlagOrder {
		if bits&bit != 0 {
			names = append(names, flagNames[bit])
		}
	}
	return strings.Join(names, ",")
}

// v4entry is one IPv4 address in the simulated kernel list of a link.
type v4entry struct {
	a       kaddr
	primary bool
	have    int // index in planInput.have, -1 when added by this plan
}

// simulateSecondaries replays the IPv4 operations of r against the
// kernel's primary/secondary rules. Deleting a primary address deletes the
// secondaries of its subnet unless promote_secondaries is set on the link
// (or for all links). Deletes of addresses the kernel already removed this
// way are skipped; addresses that must stay are added again at the end.
func simulateSecondaries(in planInput, r *planResult, matchedBy []int32) {
	any4del := false
	for i := range r.ops {
		if o := &r.ops[i]; o.kind == opDelete && o.a.v4() {
			any4del = true
			break
		}
	}
	if !any4del {
		return
	}
	lists := make(map[int][]v4entry)
	for i := range in.have {
		h := &in.have[i]
		if h.v4() {
			lists[h.ifindex] = append(lists[h.ifindex], v4entry{a: *h, primary: h.flags&unixIFA_F_SECONDARY == 0, have: i})
		}
	}
	warned := make(map[int]bool)
	for i := 0; i < len(r.ops); i++ {
		o := &r.ops[i]
		if !o.a.v4() || o.skip {
			continue
		}
		l := lists[o.a.ifindex]
		switch o.kind {
		case opAdd:
			e := v4entry{a: o.a, primary: true, have: -1}
			for _, x := range l {
				if x.primary && x.a.bits == o.a.bits && x.a.subnet() == o.a.subnet() {
					e.primary = false
					break
				}
			}
			lists[o.a.ifindex] = append(l, e)
		case opDelete:
			at := -1
			for j := range l {
				if sameKey(&l[j].a, &o.a) {
					at = j
					break
				}
			}
			if at < 0 {
				continue
			}
			gone := l[at]
			l = append(l[:at:at], l[at+1:]...)
			if gone.primary {
				promote := in.promoteAll || in.promote[o.a.ifindex]
				var keep, lost []v4entry
				for _, x := range l {
					switch {
					case x.primary || x.a.bits != gone.a.bits || x.a.subnet() != gone.a.subnet():
						keep = append(keep, x)
					case promote:
						x.primary = true // the first becomes primary, the rest its secondaries
						promote = false
						keep = append(keep, x)
					case in.promoteAll || in.promote[o.a.ifindex]:
						keep = append(keep, x)
					default:
						lost = append(lost, x)
					}
				}
				l = keep
				for _, x := range lost {
					r.lost = true
					o.changes = markDisruptive(o.changes, o.a.object())
					if !warned[o.a.ifindex] {
						warned[o.a.ifindex] = true
						r.warnings = append(r.warnings, fmt.Sprintf(
							"deleting primary address %s also deletes its secondaries: they are added again; set net.ipv4.conf.%s.promote_secondaries=1 to keep them",
							o.a.object(), o.a.link))
					}
					readdLost(in, r, i, x, matchedBy)
				}
			}
			lists[o.a.ifindex] = l
		}
	}
}

// readdLost handles address x that the kernel deleted together with the
// primary deleted by op killer: a later delete of x is skipped, otherwise
// x is added again.
func readdLost(in planInput, r *planResult, killer int, x v4entry, matchedBy []int32) {
	for j := killer + 1; j < len(r.ops); j++ {
		o := &r.ops[j]
		if o.kind == opDelete && !o.skip && sameKey(&o.a, &x.a) {
			o.skip = true
			o.after = killer + 1
			// A recreate's add depended on this delete: it now depends on
			// the killer too, and is still needed.
			return
		}
	}
	a := x.a
	if x.have >= 0 && matchedBy[x.have] != 0 {
		// Wanted: added again as wanted (the IPv4 "replaced by" case
		// cannot reach here, its old address is ours and deleted).
		t := &in.want[matchedBy[x.have]-1]
		h := &in.have[x.have]
		a = fromSpec(&t.spec, t.ifindex, in.owner, in.now)
		a.proto = keepProto(h, in)
	}
	a.flags &^= unixIFA_F_SECONDARY | unixIFA_F_PERMANENT | unixIFA_F_DEPRECATED | unixIFA_F_TENTATIVE
	r.ops = append(r.ops, op{kind: opAdd, a: a, second: true, after: killer + 1, readd: true, changes: []netprim.Change{{
		Action: netprim.Add, Kind: "address", Object: a.object(), Disruptive: true,
		Reason: "added again: the kernel deleted it with primary " + r.ops[killer].a.object(),
	}}})
}

func markDisruptive(cs []netprim.Change, obj string) []netprim.Change {
	for i := range cs {
		if !cs[i].Disruptive {
			cs[i].Disruptive = true
			if cs[i].Reason == "" {
				cs[i].Reason = "deletes the secondaries of " + obj
			}
		}
	}
	return cs
}
