package bridge_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/nstest"
)

// TestForeignMaster: a port enslaved to a bridge that is not in want and
// not ours is refused by Plan and Apply, before any write; ip shows it
// still in that bridge. A port moves between two bridges of want.
func TestForeignMaster(t *testing.T) {
	n := nstest.New(t)
	ports(t, n, 2)
	n.Run(t, "ip", "link", "add", "fbr", "type", "bridge")
	n.Run(t, "ip", "link", "set", "p1", "master", "fbr")
	// The veths' operational state follows their coming up a moment
	// later: compare against the links once the kernel has settled.
	nstest.Settle(t, n)
	before := string(n.Run(t, "ip", "-d", "link", "show"))

	want := []bridge.Spec{{Name: "br0", Ports: bridge.Ports("p0", "p1")}, {Name: "br1"}}
	const msg = "bridge: spec[0].ports[1]: p1 is already enslaved to bridge fbr"
	pp, errPlan := bridge.Plan(context.Background(), n.Namespace, want)
	if !errors.Is(errPlan, bridge.ErrPortInUse) || !errors.Is(errPlan, netprim.ErrConflict) || !strings.HasPrefix(errPlan.Error(), msg) || len(pp.Changes) != 0 {
		t.Fatalf("Plan: %v, want prefix %q\n%v", errPlan, msg, pp)
	}
	var writes int64
	p, err := bridge.Apply(context.Background(), n.Namespace, want, netprim.WithWriteCounter(&writes))
	if !errors.Is(err, bridge.ErrPortInUse) || !errors.Is(err, netprim.ErrConflict) || err.Error() != errPlan.Error() {
		t.Fatalf("Apply: %v, want %v", err, errPlan)
	}
	if len(p.Changes) != 0 || writes != 0 {
		t.Fatalf("refused Apply: %d writes, plan:\n%v", writes, p)
	}
	if l := ipShow(t, n, "p1"); l.Master != "fbr" {
		t.Fatalf("p1: master %q, want fbr", l.Master)
	}
	if after := string(n.Run(t, "ip", "-d", "link", "show")); after != before {
		t.Fatalf("refused Apply changed the kernel:\n%s\n->\n%s", before, after)
	}
	// WithPrune does not make a foreign bridge ours.
	if _, err := bridge.Apply(context.Background(), n.Namespace, want, netprim.WithPrune()); !errors.Is(err, bridge.ErrPortInUse) {
		t.Fatalf("Apply with prune: %v", err)
	}
	if l := ipShow(t, n, "p1"); l.Master != "fbr" {
		t.Fatalf("p1 after Apply with prune: master %q, want fbr", l.Master)
	}

	// Released from fbr, p1 joins br0; then it moves from br0 to br1 in
	// one Apply that lists both, as Plan says.
	n.Run(t, "ip", "link", "set", "p1", "nomaster")
	apply(t, n, want)
	if l := ipShow(t, n, "p1"); l.Master != "br0" {
		t.Fatalf("p1: master %q, want br0", l.Master)
	}
	move := []bridge.Spec{{Name: "br0", Ports: bridge.Ports("p0")}, {Name: "br1", Ports: bridge.Ports("p1")}}
	pp, err = bridge.Plan(context.Background(), n.Namespace, move)
	if err != nil {
		t.Fatal(err)
	}
	p, _ = apply(t, n, move)
	if p.String() != pp.String() || !strings.Contains(p.String(), "~ link p1 master br0 -> br1") {
		t.Fatalf("move: Plan\n%v\nApply\n%v", pp, p)
	}
	for name, master := range map[string]string{"p0": "br0", "p1": "br1"} {
		if l := ipShow(t, n, name); l.Master != master {
			t.Errorf("%s: master %q, want %q", name, l.Master, master)
		}
	}
	idempotent(t, n, move)
}

// TestPruneMovesPort: with WithPrune, a port of an owned bridge that the
// same Apply deletes joins a wanted bridge.
func TestPruneMovesPort(t *testing.T) {
	n := nstest.New(t)
	ports(t, n, 1)
	apply(t, n, []bridge.Spec{{Name: "old", Ports: bridge.Ports("p0")}})
	want := []bridge.Spec{{Name: "br0", Ports: bridge.Ports("p0")}}
	if _, err := bridge.Plan(context.Background(), n.Namespace, want); !errors.Is(err, bridge.ErrPortInUse) {
		t.Fatalf("Plan without prune: %v", err)
	}
	pp, err := bridge.Plan(context.Background(), n.Namespace, want, netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := apply(t, n, want, netprim.WithPrune())
	if !strings.Contains(pp.String(), "- link old") || !strings.Contains(p.String(), "- link old") {
		t.Fatalf("Plan\n%v\nApply\n%v", pp, p)
	}
	if n.HasLink(t, "old") {
		t.Fatal("old not deleted")
	}
	if l := ipShow(t, n, "p0"); l.Master != "br0" {
		t.Fatalf("p0: master %q, want br0", l.Master)
	}
	idempotent(t, n, want, netprim.WithPrune())
}

// TestForeignBond: a member of a bond that is not in want is refused as a
// port, and stays in its bond (kernel tier: needs bonding).
func TestForeignBond(t *testing.T) {
	nstest.RequireModules(t, "bonding")
	n := nstest.New(t)
	ports(t, n, 1)
	n.Run(t, "ip", "link", "add", "bondX", "type", "bond")
	n.Run(t, "ip", "link", "set", "p0", "down")
	n.Run(t, "ip", "link", "set", "p0", "master", "bondX")
	want := []bridge.Spec{{Name: "br0", Ports: bridge.Ports("p0")}}
	const msg = "bridge: spec[0].ports[0]: p0 is already enslaved to bond bondX"
	_, errPlan := bridge.Plan(context.Background(), n.Namespace, want)
	p, err := bridge.Apply(context.Background(), n.Namespace, want)
	for _, e := range []error{errPlan, err} {
		if !errors.Is(e, bridge.ErrPortInUse) || !strings.HasPrefix(e.Error(), msg) {
			t.Fatalf("Plan: %v\nApply: %v\nwant prefix %q", errPlan, err, msg)
		}
	}
	if len(p.Changes) != 0 || n.HasLink(t, "br0") {
		t.Fatalf("refused Apply made changes:\n%v", p)
	}
	if l := ipShow(t, n, "p0"); l.Master != "bondX" {
		t.Fatalf("p0: master %q, want bondX", l.Master)
	}
}
