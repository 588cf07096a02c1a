package bond

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/selector"
)

// TestMemberSelectors enslaves dummies chosen by address and driver, checks
// with ip which ones the kernel enslaved, that a second Apply writes
// nothing although the ports now carry their bond's address, that a
// narrower selector releases a port (which gets its own address back), and
// that a selector matching nothing changes nothing.
func TestMemberSelectors(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	n := nstest.New(t)
	macs := map[string]string{
		"d0": "02:00:00:00:0a:01", "d1": "02:00:00:00:0a:02",
		"d2": "02:00:00:00:0b:01", "d3": "02:00:00:00:0b:02",
		"d4": "02:00:00:00:0c:01",
	}
	for _, name := range []string{"d0", "d1", "d2", "d3", "d4"} {
		n.Run(t, "ip", "link", "add", name, "address", macs[name], "type", "dummy")
	}
	// bond0 has an address of its own, which the bonding driver gives to
	// its ports: afterwards no port shows the address it was selected by.
	want := []Spec{
		{Name: "bond0", Mode: "active-backup", Up: ptr(true), HardwareAddr: "02:00:00:00:ff:00",
			MemberSelectors: []selector.Selector{{HardwareAddr: "02:00:00:00:0A:*"}}},
		{Name: "bond1", Mode: "balance-rr", Members: []string{"d2"},
			MemberSelectors: []selector.Selector{{Driver: "dummy", HardwareAddr: "*:0b:0?"}}},
	}
	resolved := []Spec{
		{Name: "bond0", Mode: "active-backup", Up: ptr(true), Members: []string{"d0", "d1"}},
		{Name: "bond1", Mode: "balance-rr", Members: []string{"d2", "d3"}},
	}
	made := wantPlanIsApply(t, n, want)
	t.Logf("made:\n%s", made)
	wantState(t, n, resolved)
	links := ipLinks(t, n)
	for _, name := range []string{"d0", "d1"} {
		l := links[name]
		if l.Address != "02:00:00:00:ff:00" {
			t.Errorf("ip: %s address %s, want bond0's 02:00:00:00:ff:00", name, l.Address)
		}
		if got := l.Linkinfo.InfoSlaveData["perm_hwaddr"]; got != macs[name] {
			t.Errorf("ip: %s perm_hwaddr %v, want %s", name, got, macs[name])
		}
	}
	if p, writes := mustApply(t, n.Namespace, want); writes != 0 || len(p.Changes) != 0 {
		t.Errorf("second Apply: %d writes:\n%s", writes, p)
	}
	if p, err := Plan(context.Background(), n.Namespace, want); err != nil || len(p.Changes) != 0 {
		t.Errorf("Plan after Apply: %v\n%s", err, p)
	}

	// A narrower selector releases d1, which gets its address back.
	want[0].MemberSelectors = []selector.Selector{{HardwareAddr: "*:0a:01"}}
	resolved[0].Members = []string{"d0"}
	made = wantPlanIsApply(t, n, want)
	if !strings.Contains(made.String(), "~ link d1 master bond0 -> none") {
		t.Errorf("plan does not release d1:\n%s", made)
	}
	wantState(t, n, resolved)
	if got := ipLinks(t, n)["d1"].Address; got != macs["d1"] {
		t.Errorf("ip: released d1 has address %s, want %s", got, macs["d1"])
	}
	if p, writes := mustApply(t, n.Namespace, want); writes != 0 || len(p.Changes) != 0 {
		t.Errorf("second Apply after release: %d writes:\n%s", writes, p)
	}

	// Dummies have no permanent address: a selector by permanentAddr
	// matches none of them, and nothing is written.
	before := configured(ipLinks(t, n))
	bad := []Spec{want[0], want[1].clone()}
	bad[1].Members = nil
	bad[1].MemberSelectors = append(bad[1].MemberSelectors, selector.Selector{PermanentAddr: "02:00:00:00:0c:*"})
	var writes int64
	p, err := Apply(context.Background(), n.Namespace, bad, netprim.WithWriteCounter(&writes))
	const field = "bond: spec[1].memberSelectors[1]: selector permanentAddr=02:00:00:00:0c:*: no link matches"
	if !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(err.Error(), field) {
		t.Errorf("Apply: %v, want %q wrapping ErrNotFound", err, field)
	}
	if writes != 0 || len(p.Changes) != 0 {
		t.Errorf("failed Apply made %d writes:\n%s", writes, p)
	}
	if _, err := Plan(context.Background(), n.Namespace, bad); !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(err.Error(), field) {
		t.Errorf("Plan: %v, want %q wrapping ErrNotFound", err, field)
	}
	if d := cmp.Diff(before, configured(ipLinks(t, n))); d != "" {
		t.Errorf("ip: links changed by a failed Apply (-before +after):\n%s", d)
	}
	wantState(t, n, resolved)
}

// TestMemberSelectorsSkipStacked: VLANs carry the address of the link
// they sit on (a VLAN on the bond or on a port carries the bond's, which
// is a member's; a VLAN on a NIC the NIC's), so a selector by
// hardwareAddr matches them too. They are never selected: the first
// Apply leaves a VLAN on a selected dummy alone, and after VLANs are put
// on the bond and on one of its ports a second Apply writes nothing and
// leaves them up.
func TestMemberSelectorsSkipStacked(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy", "8021q")
	n := nstest.New(t)
	// In index order: d0 is enslaved first and gives bond0 its address.
	for _, d := range [][2]string{{"d0", "02:00:00:00:f0:ab"}, {"d1", "02:00:00:00:f0:ac"}, {"d2", "02:00:00:00:f0:ad"}} {
		n.Run(t, "ip", "link", "add", d[0], "address", d[1], "type", "dummy")
	}
	// A VLAN on a NIC before the NIC is selected.
	n.Run(t, "ip", "link", "set", "d2", "up")
	n.Run(t, "ip", "link", "add", "link", "d2", "name", "d2.100", "type", "vlan", "id", "100")
	n.Run(t, "ip", "link", "set", "d2.100", "up")
	want := []Spec{
		{Name: "bond0", Mode: "active-backup", Up: ptr(true),
			MemberSelectors: []selector.Selector{{HardwareAddr: "*:f0:ab"}, {HardwareAddr: "*:f0:ac"}}},
		{Name: "bond1", Mode: "active-backup", Up: ptr(true),
			MemberSelectors: []selector.Selector{{HardwareAddr: "02:00:00:00:f0:ad"}}},
	}
	resolved := []Spec{
		{Name: "bond0", Mode: "active-backup", Up: ptr(true), Members: []string{"d0", "d1"}},
		{Name: "bond1", Mode: "active-backup", Up: ptr(true), Members: []string{"d2"}},
	}
	made := wantPlanIsApply(t, n, want)
	t.Logf("made:\n%s", made)
	if strings.Contains(made.String(), "d2.100") {
		t.Errorf("plan touches d2.100, a VLAN on a selected dummy:\n%s", made)
	}

	// VLANs on the bond and on one of its ports: both carry bond0's
	// address, d0's, which the first selector matches.
	n.Run(t, "ip", "link", "add", "link", "bond0", "name", "bond0.100", "type", "vlan", "id", "100")
	n.Run(t, "ip", "link", "add", "link", "d1", "name", "d1.200", "type", "vlan", "id", "200")
	n.Run(t, "ip", "link", "set", "bond0.100", "up")
	n.Run(t, "ip", "link", "set", "d1.200", "up")
	vlans := []string{"bond0.100", "d1.200", "d2.100"}
	links := ipLinks(t, n)
	for _, name := range []string{"bond0.100", "d1.200"} {
		if got := links[name].Address; got != "02:00:00:00:f0:ab" {
			t.Fatalf("ip: %s address %s, want bond0's 02:00:00:00:f0:ab (the test proves nothing otherwise)", name, got)
		}
	}

	if p, err := Plan(context.Background(), n.Namespace, want); err != nil || len(p.Changes) != 0 {
		t.Errorf("Plan with VLANs: %v\n%s", err, p)
	}
	if p, writes := mustApply(t, n.Namespace, want); writes != 0 || len(p.Changes) != 0 {
		t.Errorf("second Apply with VLANs: %d writes:\n%s", writes, p)
	}
	wantState(t, n, resolved)
	links = ipLinks(t, n)
	for _, name := range vlans {
		l, ok := links[name]
		switch {
		case !ok:
			t.Errorf("ip: %s is gone", name)
		case l.Linkinfo.InfoKind != "vlan" || l.Master != "" || !slices.Contains(l.Flags, "UP"):
			t.Errorf("ip: %s kind %q master %q flags %v, want a vlan, up, without master", name, l.Linkinfo.InfoKind, l.Master, l.Flags)
		}
	}
}
