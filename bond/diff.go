package bond

import (
	"sort"
	"strings"
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
	stepUp                          // bring the bond up again
)

// step is one write of an in-place change.
type step struct {
	kind        stepKind
	member      string // release
	memberIndex int    // release
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
// preceded by releasing the members
// and taking the bond down where the kernel needs that, and followed by
// bringing the bond up again unless s wants it down (or wants it up and
// its members were released: link's attribute step brings it up after
// enslaving them again).
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
	// With Up managed and members released, link's attribute step brings
	// the bond up after enslaving them again.
	if down && (s.Up == nil || *s.Up && !release) {
		steps = append(steps, step{kind: stepUp, field: "up", from: "false", to: "true", disruptive: true,
			reason: "brought up again after the change"})
	}
	return steps
}

// describe renders a bond for a Plan: "bond active-backup, miimon 100".
func describe(s *Spec, index func(string) int) string {
	parts := []string{"bond " + s.Mode}
	names := map[int]string{}
	if s.Primary != "" {
		names[index(s.Primary)] = s.Primary
	}
	for _, o := range options[1:] {
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
