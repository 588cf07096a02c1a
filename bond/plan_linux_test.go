package bond

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/selector"
)

// wantPlanIsApply checks that Plan for want lists exactly the changes that
// Apply then reports, in the same order, and that Apply sends one write
// request per change (two for a creation: the link and its ownership
// marker). It returns what Apply made.
func wantPlanIsApply(t *testing.T, n *nstest.NS, want []Spec, opts ...netprim.Option) netprim.Plan {
	t.Helper()
	ctx := context.Background()
	plan, err := Plan(ctx, n.Namespace, want, opts...)
	if err != nil {
		t.Fatalf("Plan: %v\n%s", err, plan)
	}
	var writes int64
	made, err := Apply(ctx, n.Namespace, want, append(slices.Clone(opts), netprim.WithWriteCounter(&writes))...)
	if err != nil {
		t.Fatalf("Apply: %v\nplan so far:\n%s", err, made)
	}
	if plan.String() != made.String() {
		t.Errorf("Plan and Apply differ\nplanned:\n%s\nmade:\n%s", plan, made)
	}
	if d := cmp.Diff(plan, made); d != "" {
		t.Errorf("Plan and Apply differ (-planned +made):\n%s", d)
	}
	requests := int64(len(made.Changes))
	for _, c := range made.Changes {
		if c.Action == netprim.Add {
			requests++
		}
	}
	if writes != requests {
		t.Errorf("Apply sent %d write requests for %d changes (%d creations):\n%s", writes, len(made.Changes), requests-int64(len(made.Changes)), made)
	}
	return made
}

// TestPlanIsApply: for each kind of change, Plan lists the changes that
// Apply makes, and afterwards Apply makes none and Plan plans none.
func TestPlanIsApply(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	ab := Spec{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, Up: ptr(true), Miimon: 100}
	lacp := Spec{Name: "bond1", Mode: "802.3ad", Members: []string{"d2", "d3"}, Up: ptr(true), Miimon: 100,
		LACPRate: "slow", XmitHashPolicy: "layer2"}
	with := func(s Spec, f func(*Spec)) Spec {
		s = s.clone()
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name   string
		before []Spec // applied first
		up     []string
		want   []Spec
		opts   []netprim.Option
		// state is what wantState checks after Apply, when it is not
		// want: want with its member selectors resolved.
		state []Spec
		// lines must be in the plan (a few, to show the case is what
		// its name says).
		lines []string
	}{
		{name: "new bonds with members", up: []string{"d1"},
			want: []Spec{
				with(ab, func(s *Spec) { s.PeerNotifDelay, s.Primary = 200, "d1" }),
				with(lacp, func(s *Spec) { s.ADLACPActive, s.LACPRate = ptr(false), "fast" }),
				{Name: "bond2", Mode: "balance-rr", Members: []string{"d4"}, ARPInterval: 100,
					ARPIPTargets: mustAddrs("192.0.2.1"), MissedMax: 3},
				{Name: "bond3", Mode: "broadcast", Members: []string{"d5"}, Up: ptr(false), MTU: 1400},
			},
			lines: []string{"+ link bond0 (bond active-backup, miimon 100, primary d1)",
				"~ link d1 up true -> false (enslaved to bond bond0 while down)", "~ link bond0 peerNotifDelay 0 -> 200",
				"~ link bond1 adLACPActive on -> off", "~ link bond2 missedMax 2 -> 3", "~ link bond0 up false -> true"}},
		{name: "new bond without options it cannot create with",
			want:  []Spec{ab},
			lines: []string{"+ link bond0 (bond active-backup, miimon 100)", "~ link d1 master none -> bond0", "~ link bond0 up false -> true"}},
		{name: "new bond, up unmanaged", want: []Spec{with(ab, func(s *Spec) { s.Up = nil })},
			lines: []string{"~ link d1 master none -> bond0"}},
		{name: "option change in place", before: []Spec{lacp},
			want:  []Spec{with(lacp, func(s *Spec) { s.Miimon, s.XmitHashPolicy, s.MinLinks = 200, "layer3+4", 1 })},
			lines: []string{"~ link bond1 miimon 100 -> 200", "~ link bond1 minLinks 0 -> 1"}},
		{name: "option needing the bond down", before: []Spec{lacp},
			want: []Spec{with(lacp, func(s *Spec) { s.LACPRate, s.ADLACPActive = "fast", ptr(false) })},
			lines: []string{"~ link bond1 up true -> false (the kernel changes lacpRate, adLACPActive only while the bond is down)",
				"~ link bond1 lacpRate slow -> fast", "~ link bond1 up false -> true (brought up again after the change)"}},
		{name: "option needing the bond down, bond wanted down", before: []Spec{lacp},
			want:  []Spec{with(lacp, func(s *Spec) { s.LACPRate, s.Up = "fast", ptr(false) })},
			lines: []string{"~ link bond1 lacpRate slow -> fast"}},
		{name: "mode change with members", before: []Spec{ab},
			want: []Spec{with(ab, func(s *Spec) { s.Mode, s.XmitHashPolicy = "balance-xor", "layer2+3" })},
			lines: []string{"~ link bond0 member d0 enslaved -> released", "~ link bond0 mode active-backup -> balance-xor",
				"~ link bond0 member d1 released -> enslaved (enslaved again after the change)",
				"~ link bond0 up false -> true (brought up again after the change)"}},
		{name: "mode change, a member removed and one added", before: []Spec{ab},
			want: []Spec{with(ab, func(s *Spec) { s.Mode, s.Members = "balance-rr", []string{"d1", "d4"} })},
			lines: []string{"~ link bond0 member d0 enslaved -> released", "~ link bond0 member d1 released -> enslaved",
				"~ link d4 master none -> bond0"}},
		{name: "mode change, a member moved to another bond", before: []Spec{ab, lacp},
			want: []Spec{with(ab, func(s *Spec) { s.Mode, s.Members = "broadcast", []string{"d0"} }),
				with(lacp, func(s *Spec) { s.Members = []string{"d2", "d3", "d1"} })},
			lines: []string{"~ link bond0 member d1 enslaved -> released", "~ link d1 master none -> bond1"}},
		{name: "mode change of a bond wanted down", before: []Spec{ab},
			want:  []Spec{with(ab, func(s *Spec) { s.Mode, s.Up = "balance-alb", ptr(false) })},
			lines: []string{"~ link bond0 mode active-backup -> balance-alb", "~ link bond0 member d0 released -> enslaved"}},
		{name: "mode change of a bond that is down", before: []Spec{with(ab, func(s *Spec) { s.Up = ptr(false) })},
			want:  []Spec{with(ab, func(s *Spec) { s.Mode = "balance-tlb" })},
			lines: []string{"~ link bond0 mode active-backup -> balance-tlb", "~ link bond0 up false -> true"}},
		{name: "failOverMac change", before: []Spec{ab},
			want:  []Spec{with(ab, func(s *Spec) { s.FailOverMac = "active" })},
			lines: []string{"~ link bond0 failOverMac none -> active", "~ link bond0 member d1 released -> enslaved"}},
		{name: "member removed", before: []Spec{ab},
			want:  []Spec{with(ab, func(s *Spec) { s.Members = []string{"d0"} })},
			lines: []string{"~ link d1 master bond0 -> none"}},
		{name: "members by selector", before: []Spec{ab}, up: []string{"d3"},
			want: []Spec{with(ab, func(s *Spec) {
				s.Members, s.Primary = []string{"d1"}, "d4"
				s.MemberSelectors = []selector.Selector{{Driver: "dummy"}}
			})},
			state: []Spec{with(ab, func(s *Spec) { s.Members = []string{"d1", "d0", "d2", "d3", "d4", "d5"} })},
			lines: []string{"~ link d2 master none -> bond0", "~ link d3 up true -> false", "~ link d5 master none -> bond0",
				"~ link bond0 primary none -> d4"}},
		{name: "prune", before: []Spec{ab, lacp}, opts: []netprim.Option{netprim.WithPrune()},
			want:  []Spec{with(ab, func(s *Spec) { s.Members = []string{"d0", "d4"} })},
			lines: []string{"- link bond1", "~ link d1 master bond0 -> none", "~ link d4 master none -> bond0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := nstest.New(t)
			dummies(t, n, "d0", "d1", "d2", "d3", "d4", "d5")
			if len(tc.before) > 0 {
				mustApply(t, n.Namespace, tc.before)
			}
			for _, l := range tc.up {
				n.Run(t, "ip", "link", "set", l, "up")
			}
			made := wantPlanIsApply(t, n, tc.want, tc.opts...)
			t.Logf("made:\n%s", made)
			lines := make([]string, len(made.Changes))
			for i, c := range made.Changes {
				lines[i] = c.String()
			}
			for _, l := range tc.lines {
				if !slices.ContainsFunc(lines, func(s string) bool { return s == l || strings.HasPrefix(s, l+" (") }) {
					t.Errorf("plan has no line %q:\n%s", l, made)
				}
			}
			state := tc.want
			if tc.state != nil {
				state = tc.state
			}
			wantState(t, n, state)
			if p, writes := mustApply(t, n.Namespace, tc.want, tc.opts...); writes != 0 || len(p.Changes) != 0 {
				t.Errorf("second Apply: %d writes:\n%s", writes, p)
			}
			if p, err := Plan(context.Background(), n.Namespace, tc.want, tc.opts...); err != nil || len(p.Changes) != 0 {
				t.Errorf("Plan after Apply: %v\n%s", err, p)
			}
		})
	}
}
