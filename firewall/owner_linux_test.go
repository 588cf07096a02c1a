package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// distroFilter is a distribution's stock firewall, as Debian ships it in
// /etc/nftables.conf, plus the rule that keeps its administrator in.
const distroFilter = `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
`

// TestForeignSameNameTableRefused: a table of the Spec's name that netprim
// did not write is left exactly as it was, Plan and Apply fail with
// ErrConflict naming it, and WithTakeOver replaces it.
func TestForeignSameNameTableRefused(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	loadNft(t, n, distroFilter)
	before := string(n.Run(t, "nft", "-a", "list", "ruleset"))
	if !strings.Contains(before, "tcp dport 22 accept") {
		t.Fatalf("setup: %s", before)
	}

	spec := Spec{Table: "filter", DefaultAction: DefaultBlock}
	var w int64
	_, err := Apply(ctx, n.Namespace, spec, netprim.WithWriteCounter(&w))
	if !errors.Is(err, netprim.ErrConflict) || !strings.Contains(err.Error(), "inet filter") || !strings.Contains(err.Error(), "WithTakeOver") {
		t.Errorf("Apply: %v, want ErrConflict naming the table and the way out", err)
	}
	if w != 0 {
		t.Errorf("Apply refused but sent %d writes", w)
	}
	if _, err := Plan(ctx, n.Namespace, spec); !errors.Is(err, netprim.ErrConflict) {
		t.Errorf("Plan: %v, want ErrConflict", err)
	}
	if after := string(n.Run(t, "nft", "-a", "list", "ruleset")); after != before {
		t.Errorf("foreign table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Opting in replaces it with ours; afterwards it is ours.
	pl, err := Plan(ctx, n.Namespace, spec, WithTakeOver())
	if err != nil || pl.Empty() {
		t.Fatalf("Plan with WithTakeOver: %v %v", pl, err)
	}
	if _, err := Apply(ctx, n.Namespace, spec, WithTakeOver()); err != nil {
		t.Fatal(err)
	}
	taken := string(n.Run(t, "nft", "list", "table", "inet", "filter"))
	if strings.Contains(taken, "chain forward") || strings.Contains(taken, "tcp dport 22 accept") || !strings.Contains(taken, `comment "safety:loopback #`) {
		t.Errorf("table after take-over:\n%s", taken)
	}
	w = 0
	if _, err := Apply(ctx, n.Namespace, spec, netprim.WithWriteCounter(&w)); err != nil || w != 0 {
		t.Errorf("Apply into the taken-over table without the option: %v, %d writes", err, w)
	}
}

// TestEmptyTableAdopted: an existing empty table of the Spec's name is
// used without WithTakeOver.
func TestEmptyTableAdopted(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	n.Run(t, "nft", "add", "table", "inet", "fw")
	if _, err := Apply(context.Background(), n.Namespace, specBlock()); err != nil {
		t.Fatal(err)
	}
	if got := nftList(t, n, "fw"); len(got.Rules) == 0 {
		t.Error("no rules after Apply into an empty table")
	}
}

// TestLeftoverChainsJumpingRemoved: two chains Apply did not write, one
// jumping to the other, are both removed in one transaction.
func TestLeftoverChainsJumpingRemoved(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	spec := specBlock()
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	want := nftList(t, n, "fw")
	n.Run(t, "nft", "add", "chain", "inet", "fw", "a")
	n.Run(t, "nft", "add", "rule", "inet", "fw", "a", "counter")
	n.Run(t, "nft", "add", "chain", "inet", "fw", "b")
	n.Run(t, "nft", "add", "rule", "inet", "fw", "b", "jump", "a")
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	if got := nftList(t, n, "fw"); !equalTables(got, want) {
		t.Errorf("after Apply:\n%+v\nwant:\n%+v", got, want)
	}
}
