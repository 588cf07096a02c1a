package bond

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// indexes returns the interface index of each named link as ip reports it.
func indexes(t testing.TB, n *nstest.NS, names ...string) map[string]int {
	t.Helper()
	links := ipLinks(t, n)
	m := make(map[string]int, len(names))
	for _, name := range names {
		m[name] = links[name].Ifindex
	}
	return m
}

// wantEnslaved checks with ip that each member is enslaved to bond.
func wantEnslaved(t testing.TB, n *nstest.NS, bond string, members ...string) {
	t.Helper()
	links := ipLinks(t, n)
	for _, m := range members {
		if l, ok := links[m]; !ok || l.Master != bond {
			t.Errorf("ip: %s master %q (exists %v), want %s", m, l.Master, ok, bond)
		}
	}
}

// TestChangeInPlace changes options of a running 802.3ad bond: those the
// kernel changes live are written without taking the bond down, those it
// takes only while down are written with the bond down (disruptive in the
// Plan); no member is ever released, and no link is recreated.
func TestChangeInPlace(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	ctx := context.Background()
	n := nstest.New(t)
	dummies(t, n, "d0", "d1")
	spec := Spec{Name: "bond0", Mode: "802.3ad", Members: []string{"d0", "d1"}, Up: ptr(true),
		Miimon: 100, XmitHashPolicy: "layer2", LACPRate: "slow"}
	mustApply(t, n.Namespace, []Spec{spec})
	before := indexes(t, n, "bond0", "d0", "d1")

	// Live options: no disruption at all.
	spec.Miimon, spec.XmitHashPolicy, spec.ADActorSysPrio, spec.MinLinks = 200, "layer3+4", 10, 1
	plan, err := Plan(ctx, n.Namespace, []Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 4 {
		t.Errorf("plan: %d changes, want 4:\n%s", len(plan.Changes), plan)
	}
	for _, c := range plan.Changes {
		if c.Disruptive || c.Object != "bond0" || c.Action != netprim.Modify {
			t.Errorf("plan: %+v, want a non-disruptive modification of bond0", c)
		}
	}
	p, writes := mustApply(t, n.Namespace, []Spec{spec})
	if writes != 4 || p.String() != plan.String() {
		t.Errorf("Apply: %d writes, want 4; made:\n%s\nplanned:\n%s", writes, p, plan)
	}
	d := ipLinks(t, n)["bond0"].Linkinfo.InfoData
	if d["miimon"] != float64(200) || d["xmit_hash_policy"] != "layer3+4" || d["ad_actor_sys_prio"] != float64(10) || d["min_links"] != float64(1) {
		t.Errorf("ip: info_data %v, want miimon 200, layer3+4, ad_actor_sys_prio 10, min_links 1", d)
	}

	// lacp_rate needs the bond down, not its members released.
	spec.LACPRate = "fast"
	plan, err = Plan(ctx, n.Namespace, []Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	got := plan.String()
	if !strings.Contains(got, "up true -> false") || !strings.Contains(got, "lacpRate slow -> fast") || strings.Contains(got, "member") {
		t.Errorf("plan:\n%s\nwant bond down, lacpRate, no member released", got)
	}
	if !plan.Changes[0].Disruptive {
		t.Errorf("plan: taking the bond down is not marked disruptive: %+v", plan.Changes[0])
	}
	mustApply(t, n.Namespace, []Spec{spec})
	links := ipLinks(t, n)
	if links["bond0"].Linkinfo.InfoData["ad_lacp_rate"] != "fast" {
		t.Errorf("ip: ad_lacp_rate %v, want fast", links["bond0"].Linkinfo.InfoData["ad_lacp_rate"])
	}
	if !strings.Contains(strings.Join(links["bond0"].Flags, ","), "UP") {
		t.Errorf("ip: bond0 flags %v, want UP again", links["bond0"].Flags)
	}
	wantEnslaved(t, n, "bond0", "d0", "d1")
	if after := indexes(t, n, "bond0", "d0", "d1"); after["bond0"] != before["bond0"] || after["d0"] != before["d0"] || after["d1"] != before["d1"] {
		t.Errorf("ifindexes %v, were %v: a link was recreated", after, before)
	}
	if p, writes := mustApply(t, n.Namespace, []Spec{spec}); writes != 0 {
		t.Errorf("third Apply: %d writes:\n%s", writes, p)
	}
}

// TestModeChange changes the mode of a bond with members: the kernel needs
// them released, which Plan shows as disruptive, with enslaving them again;
// Apply does what Plan says and the bond keeps its index.
func TestModeChange(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	ctx := context.Background()
	n := nstest.New(t)
	dummies(t, n, "d0", "d1")
	spec := Spec{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, Up: ptr(true), Miimon: 100}
	mustApply(t, n.Namespace, []Spec{spec})
	before := indexes(t, n, "bond0")

	spec.Mode = "balance-xor"
	spec.XmitHashPolicy = "layer2+3"
	plan, err := Plan(ctx, n.Namespace, []Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	released, enslaved := 0, 0
	for _, c := range plan.Changes {
		if !strings.HasPrefix(c.Field, "member ") {
			continue
		}
		switch c.To {
		case "released":
			released++
			if !c.Disruptive || !strings.Contains(c.Reason, "mode") {
				t.Errorf("plan: %+v: releasing a member must be disruptive and say why", c)
			}
		case "enslaved":
			enslaved++
		}
	}
	if released != 2 || enslaved != 2 || !strings.Contains(plan.String(), "mode active-backup -> balance-xor") {
		t.Errorf("plan:\n%s\nwant both members released, the mode changed and both enslaved again", plan)
	}
	p, _ := mustApply(t, n.Namespace, []Spec{spec})
	t.Logf("applied:\n%s", p)
	if p.String() != plan.String() {
		t.Errorf("applied:\n%s\nplanned:\n%s", p, plan)
	}
	links := ipLinks(t, n)
	d := links["bond0"].Linkinfo.InfoData
	if d["mode"] != "balance-xor" || d["xmit_hash_policy"] != "layer2+3" || d["miimon"] != float64(100) {
		t.Errorf("ip: info_data %v, want balance-xor, layer2+3, miimon 100", d)
	}
	wantEnslaved(t, n, "bond0", "d0", "d1")
	if after := indexes(t, n, "bond0"); after["bond0"] != before["bond0"] {
		t.Errorf("bond0 ifindex %d, was %d: recreated", after["bond0"], before["bond0"])
	}
	if p, writes := mustApply(t, n.Namespace, []Spec{spec}); writes != 0 {
		t.Errorf("second Apply: %d writes:\n%s", writes, p)
	}
}

// TestReleaseAndPrune removes a member from a bond (released, not deleted),
// then prunes the bond (deleted, its members released and kept), while a
// bond made by someone else survives the prune.
func TestReleaseAndPrune(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	n := nstest.New(t)
	dummies(t, n, "d0", "d1", "d2")
	n.Run(t, "ip", "link", "add", "foreign0", "type", "bond", "mode", "balance-rr")
	n.Run(t, "ip", "link", "set", "d2", "master", "foreign0")
	spec := Spec{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, Up: ptr(true)}
	mustApply(t, n.Namespace, []Spec{spec})

	spec.Members = []string{"d0"}
	p, _ := mustApply(t, n.Namespace, []Spec{spec})
	if !strings.Contains(p.String(), "link d1 master bond0 -> none") {
		t.Errorf("applied:\n%s\nwant d1 released", p)
	}
	links := ipLinks(t, n)
	if l, ok := links["d1"]; !ok || l.Master != "" {
		t.Errorf("ip: d1 exists %v master %q, want it kept and released", ok, l.Master)
	}
	wantEnslaved(t, n, "bond0", "d0")

	p, _ = mustApply(t, n.Namespace, nil, netprim.WithPrune())
	if !strings.Contains(p.String(), "- link bond0") {
		t.Errorf("applied:\n%s\nwant bond0 deleted", p)
	}
	links = ipLinks(t, n)
	if _, ok := links["bond0"]; ok {
		t.Error("ip: bond0 still exists after prune")
	}
	for _, m := range []string{"d0", "d1"} {
		if l, ok := links[m]; !ok || l.Master != "" {
			t.Errorf("ip: %s exists %v master %q, want kept without master", m, ok, l.Master)
		}
	}
	if l, ok := links["foreign0"]; !ok || links["d2"].Master != "foreign0" {
		t.Errorf("ip: foreign0 exists %v (%v), d2 master %q: a bond not owned was touched", ok, l.Flags, links["d2"].Master)
	}
}

// TestRefusedMembers: a member enslaved to a bond not in the list, a bond
// as its own member and an unknown mode are refused before any write.
func TestRefusedMembers(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	n := nstest.New(t)
	dummies(t, n, "d0", "d1")
	n.Run(t, "ip", "link", "add", "other0", "type", "bond")
	n.Run(t, "ip", "link", "set", "d0", "master", "other0")
	before := ipLinks(t, n)

	for _, tc := range []struct {
		name string
		want []Spec
		is   error
		msg  string
	}{
		{"member of another bond", []Spec{{Name: "bond0", Mode: "active-backup", Members: []string{"d1", "d0"}}},
			ErrMemberInUse, "bond: spec[0].members[1]: d0 is already enslaved to bond other0"},
		{"own member", []Spec{{Name: "bond0", Mode: "active-backup", Members: []string{"bond0"}}},
			netprim.ErrInvalidSpec, "bond: spec[0].members[0]: bond0 cannot be a member of itself"},
		{"unknown mode", []Spec{{Name: "bond0", Mode: "lacp", Members: []string{"d1"}}},
			netprim.ErrInvalidSpec, `bond: spec[0].mode: unknown mode "lacp"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var writes int64
			_, err := Apply(context.Background(), n.Namespace, tc.want, netprim.WithWriteCounter(&writes))
			if !errors.Is(err, tc.is) || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Errorf("Apply: %v, want %v containing %q", err, tc.is, tc.msg)
			}
			if writes != 0 {
				t.Errorf("Apply made %d writes", writes)
			}
			after := ipLinks(t, n)
			if len(after) != len(before) || after["d0"].Master != "other0" || after["d1"].Master != "" {
				t.Errorf("ip: links changed: %d links (were %d), d0 master %q, d1 master %q",
					len(after), len(before), after["d0"].Master, after["d1"].Master)
			}
		})
	}
}

// TestMoveMember moves a member from one wanted bond to another in one
// Apply, and a cancelled Apply writes nothing.
func TestMoveMember(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	n := nstest.New(t)
	dummies(t, n, "d0", "d1", "d2")
	want := []Spec{
		{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, Up: ptr(true)},
		{Name: "bond1", Mode: "balance-rr", Members: []string{"d2"}, Up: ptr(true)},
	}
	mustApply(t, n.Namespace, want)
	want[0].Members, want[1].Members = []string{"d0"}, []string{"d2", "d1"}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var writes int64
	if _, err := Apply(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes)); !errors.Is(err, context.Canceled) || writes != 0 {
		t.Errorf("cancelled Apply: %v after %d writes, want context.Canceled and no write", err, writes)
	}
	wantEnslaved(t, n, "bond0", "d0", "d1")

	p, _ := mustApply(t, n.Namespace, want)
	t.Logf("applied:\n%s", p)
	wantEnslaved(t, n, "bond0", "d0")
	wantEnslaved(t, n, "bond1", "d1", "d2")
	if p, writes := mustApply(t, n.Namespace, want); writes != 0 {
		t.Errorf("second Apply: %d writes:\n%s", writes, p)
	}
}

// TestMissingMember: a member that does not exist is refused, by Plan and
// by Apply, before any write: no bond is created and the members that do
// exist are not enslaved.
func TestMissingMember(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	n := nstest.New(t)
	dummies(t, n, "d0")
	before := ipLinks(t, n)
	want := []Spec{{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "nope"}, Up: ptr(true)}}
	const msg = "bond: spec[0].members[1]: link nope does not exist"

	if p, err := Plan(context.Background(), n.Namespace, want); !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(fmt.Sprint(err), msg) {
		t.Errorf("Plan: %v\n%s\nwant ErrNotFound containing %q", err, p, msg)
	}
	var writes int64
	p, err := Apply(context.Background(), n.Namespace, want, netprim.WithWriteCounter(&writes))
	if !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(fmt.Sprint(err), msg) {
		t.Errorf("Apply: %v, want ErrNotFound containing %q", err, msg)
	}
	if writes != 0 || len(p.Changes) != 0 {
		t.Errorf("Apply made %d writes:\n%s", writes, p)
	}
	after := ipLinks(t, n)
	if _, ok := after["bond0"]; ok {
		t.Errorf("ip: bond0 exists")
	}
	if d0, ok := after["d0"]; !ok || d0.Master != "" {
		t.Errorf("ip: d0 master %q (exists %v), want none", d0.Master, ok)
	}
	if len(after) != len(before) {
		t.Errorf("ip: %d links, were %d", len(after), len(before))
	}
}
