package bond

import (
	"sort"
	"strings"

	"github.com/netprim/netprim"
)

// This file is the pure part of Plan and Apply: it compares a Spec with a
// bond as the kernel reports it and returns the steps that make them
// match. It does no I/O.

// rawLink is a link as an rtnetlink dump reports it, with the bonding
// attributes undecoded.
type rawLink struct {
	Index        int
	Name         string
	Flags        uint32 // IFF_*
	MTU          int
	HardwareAddr string
	Master       int // IFLA_MASTER, 0 when none
	OperState    uint8
	Kind         string
	SlaveKind    string
	AltNames     []string
	// Data is IFLA_INFO_DATA by attribute type; SlaveData is
	// IFLA_INFO_SLAVE_DATA.
	Data      map[uint16][]byte
	SlaveData map[uint16][]byte
}

func (l *rawLink) up() bool { return l.Flags&1 != 0 } // IFF_UP

// snapshot is the links of a namespace.
type snapshot struct {
	byName  map[string]*rawLink
	byIndex map[int]*rawLink
}

func newSnapshot(links []*rawLink) *snapshot {
	s := &snapshot{byName: make(map[string]*rawLink, len(links)), byIndex: make(map[int]*rawLink, len(links))}
	for _, l := range links {
		s.byName[l.Name] = l
		s.byIndex[l.Index] = l
	}
	return s
}

// names maps indexes to names.
func (s *snapshot) names() map[int]string {
	m := make(map[int]string, len(s.byIndex))
	for i, l := range s.byIndex {
		m[i] = l.Name
	}
	return m
}

// index returns the index of a link, 0 when it does not exist.
func (s *snapshot) index(name string) int {
	if l := s.byName[name]; l != nil {
		return l.Index
	}
	return 0
}

// members returns the links enslaved to the link with index master,
// ordered by index.
func (s *snapshot) members(master int) []*rawLink {
	var out []*rawLink
	for _, l := range s.byIndex {
		if master != 0 && l.Master == master {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// stepKind is what a step of an in-place change does.
type stepKind uint8

const (
	stepRelease stepKind = iota + 1 // release a member
	stepDown                        // take the bond down
	stepSet                         // write one option
	stepEnslave                     // enslave a released member again
	stepUp                          // bring the bond up again
)

// step is one write of an in-place change.
type step struct {
	kind        stepKind
	member      string // release, enslave
	memberIndex int    // release, enslave
	opt         *option
	payload     []byte
	// field, from, to, disruptive and reason render the step in a Plan.
	field, from, to string
	disruptive      bool
	reason          string
}

// modeResets are the options the kernel may reset when the mode changes
// (bond_option_mode_set): they are written again after a mode change.
var modeResets = map[string]bool{"miimon": true, "arpInterval": true, "arpValidate": true, "tlbDynamicLB": true}

// diff returns the in-place steps that make the bond have match s: the
// options that differ (and those in modeResets when the mode changes),
// preceded by releasing the members and taking the bond down where the
// kernel needs that, and followed by enslaving again the released members
// that s lists and bringing the bond up again unless s wants it down.
//
// The steps own what they change: a bond they take down is not also
// managed by link's attribute step (linkSpecs leaves its Up unset), and a
// released member that s does not list stays released.
func diff(s *Spec, have *rawLink, snap *snapshot) []step {
	names := snap.names()
	type pending struct {
		o          *option
		want, from []byte
	}
	var sets []pending
	modeChanged := false
	if want, ok := modeOption.encode(s, snap.index); ok && !modeOption.equal(want, have.Data[modeOption.attr]) {
		modeChanged = true
	}
	for _, o := range options {
		want, ok := o.encode(s, snap.index)
		if !ok {
			continue
		}
		cur := have.Data[o.attr]
		if o.equal(want, cur) && !(modeChanged && modeResets[o.field]) {
			continue
		}
		sets = append(sets, pending{o, want, cur})
	}
	if len(sets) == 0 {
		return nil
	}
	var downFor, releaseFor []string
	for _, p := range sets {
		if p.o.ifDown {
			downFor = append(downFor, p.o.field)
		}
		if p.o.noMembers {
			releaseFor = append(releaseFor, p.o.field)
		}
	}
	members := snap.members(have.Index)
	release := len(releaseFor) > 0 && len(members) > 0
	down := len(downFor) > 0 && have.up()
	var steps []step
	if release {
		reason := "the kernel changes " + strings.Join(releaseFor, ", ") + " only while the bond has no members: released, then enslaved again"
		for _, m := range members {
			steps = append(steps, step{kind: stepRelease, member: m.Name, memberIndex: m.Index,
				field: "member " + m.Name, from: "enslaved", to: "released", disruptive: true, reason: reason})
		}
	}
	if down {
		steps = append(steps, step{kind: stepDown, field: "up", from: "true", to: "false", disruptive: true,
			reason: "the kernel changes " + strings.Join(downFor, ", ") + " only while the bond is down"})
	}
	for _, p := range sets {
		st := step{kind: stepSet, opt: p.o, payload: p.want, field: p.o.field,
			from: p.o.render(p.from, names), to: p.o.render(p.want, names)}
		if p.o.equal(p.want, p.from) {
			st.reason = "written again: changing the mode may reset it"
		}
		steps = append(steps, st)
	}
	if release {
		// In the order of s.Members, as a new bond enslaves them; the
		// bonding driver opens each member itself.
		released := make(map[string]bool, len(members))
		for _, m := range members {
			released[m.Name] = true
		}
		for _, name := range s.Members {
			if released[name] {
				steps = append(steps, step{kind: stepEnslave, member: name, memberIndex: snap.index(name),
					field: "member " + name, from: "released", to: "enslaved", disruptive: true,
					reason: "enslaved again after the change"})
			}
		}
	}
	if down && (s.Up == nil || *s.Up) {
		steps = append(steps, step{kind: stepUp, field: "up", from: "false", to: "true", disruptive: true,
			reason: "brought up again after the change"})
	}
	return steps
}

// effects are what the in-place steps of the existing bonds do besides
// writing options: linkSpecs leaves those links to the steps, and Plan
// corrects what link plans for them from the state before the steps.
type effects struct {
	// released maps each member that a step releases to its bond.
	released map[string]string
	// down holds the bonds a step takes down: the steps bring them up
	// again as wanted.
	down map[string]bool
}

// inPlace returns the effects of the in-place steps of the bonds of specs
// that exist in snap.
func inPlace(specs []Spec, snap *snapshot) effects {
	e := effects{released: map[string]string{}, down: map[string]bool{}}
	for i := range specs {
		b := snap.byName[specs[i].Name]
		if b == nil || b.Kind != "bond" {
			continue
		}
		for _, st := range diff(&specs[i], b, snap) {
			switch st.kind {
			case stepRelease:
				e.released[st.member] = b.Name
			case stepDown:
				e.down[b.Name] = true
			}
		}
	}
	return e
}

// createDefaults are the values the kernel gives a new bond for the
// options that the creation request cannot carry (bond_check_params in
// drivers/net/bonding/bond_main.c). Without targets the kernel reports no
// ns_ip6_target attribute.
var createDefaults = map[uint16][]byte{
	attrPeerNotifDelay: encodeNum(tU32, 0),
	attrMissedMax:      encodeNum(tU8, 2),
	attrAdLacpActive:   encodeNum(tU8, 1),
}

// created returns the bond that the creation request for s makes, as the
// kernel reports it: down, with every option s manages that the request
// carries, and the kernel's defaults for the others. Its index is 0, so
// it has no members in snap.
func created(s *Spec, snap *snapshot) *rawLink {
	l := &rawLink{Name: s.Name, Kind: "bond", Data: map[uint16][]byte{}}
	for _, o := range options {
		if o.extra {
			if d, ok := createDefaults[o.attr]; ok {
				l.Data[o.attr] = d
			}
			continue
		}
		if p, ok := o.encode(s, snap.index); ok {
			l.Data[o.attr] = p
		}
	}
	return l
}

// needsSecondPass returns the specs of the bonds that p created and that
// either set an option the creation request could not carry or are wanted
// up, in the order of specs.
func needsSecondPass(specs []Spec, p netprim.Plan) []*Spec {
	made := make(map[string]bool)
	for _, c := range p.Changes {
		if c.Kind == "link" && (c.Action == netprim.Add || c.Action == netprim.Recreate) {
			made[c.Object] = true
		}
	}
	var out []*Spec
	for i := range specs {
		s := &specs[i]
		if made[s.Name] && (hasExtras(s) || s.Up != nil && *s.Up) {
			out = append(out, s)
		}
	}
	return out
}

// secondPass returns the changes of Apply's second pass for the first
// pass's plan p: the options of each created bond that differ from the
// kernel's defaults, then, for each created bond wanted up, bringing it
// up. That is what link.ApplyKinds plans for the bonds as the kernel
// reports them after the first pass (down, with their members).
func secondPass(specs []Spec, snap *snapshot, p netprim.Plan) []netprim.Change {
	var out, ups []netprim.Change
	for _, s := range needsSecondPass(specs, p) {
		for _, st := range diff(s, created(s, snap), snap) {
			out = append(out, change(s.Name, st))
		}
		if s.Up != nil && *s.Up {
			ups = append(ups, netprim.Change{Action: netprim.Modify, Kind: "link", Object: s.Name,
				Field: "up", From: "false", To: "true"})
		}
	}
	return append(out, ups...)
}

// change renders a step of bond name as link renders an in-place change.
func change(name string, st step) netprim.Change {
	return netprim.Change{Action: netprim.Modify, Kind: "link", Object: name,
		Field: st.field, From: st.from, To: st.to, Disruptive: st.disruptive, Reason: st.reason}
}

// afterRelease corrects the changes link plans, from the links as they
// are before any write, for a member that an in-place step of its bond
// releases (a mode change) and that another wanted bond lists: when Apply
// gets to it, the kernel has released it and taken it down, so its master
// changes from none and, its up state being unmanaged, it is neither taken
// down before nor brought up after.
func afterRelease(p *netprim.Plan, specs []Spec, e effects) {
	moved := make(map[string]bool)
	for _, s := range specs {
		for _, m := range s.Members {
			if b, ok := e.released[m]; ok && b != s.Name {
				moved[m] = true
			}
		}
	}
	if len(moved) == 0 {
		return
	}
	out := p.Changes[:0]
	for _, c := range p.Changes {
		if c.Kind == "link" && c.Action == netprim.Modify && moved[c.Object] {
			switch c.Field {
			case "up":
				continue
			case "master":
				c.From = ""
			}
		}
		out = append(out, c)
	}
	p.Changes = out
}

// hasExtras reports whether s sets an option that the creation request
// cannot carry.
func hasExtras(s *Spec) bool {
	for _, o := range options {
		if o.extra && o.set(s) {
			return true
		}
	}
	return false
}

// describe renders the creation request of a bond for a Plan: "bond
// active-backup, miimon 100". Options the request cannot carry are not
// shown: they are separate changes after it.
func describe(s *Spec, index func(string) int) string {
	parts := []string{"bond " + s.Mode}
	names := map[int]string{}
	if s.Primary != "" {
		names[index(s.Primary)] = s.Primary
	}
	for _, o := range options[1:] {
		if o.extra {
			continue
		}
		if b, ok := o.encode(s, index); ok {
			v := o.render(b, names)
			if o.typ == tPrimary {
				v = s.Primary
			}
			parts = append(parts, o.field+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}
