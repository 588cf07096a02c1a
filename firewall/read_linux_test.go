package firewall

import (
	"context"
	"testing"

	"github.com/netprim/netprim/nstest"
)

// TestReadOnlyWhatDiffNeeds: Plan reads the elements of the sets the Spec
// uses and no others, and lists no chains of other tables; with a chain
// of someone else's in the table it finds it.
func TestReadOnlyWhatDiffNeeds(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	loadNft(t, n, foreignRuleset)
	if _, err := Apply(ctx, n.Namespace, specBlock()); err != nil {
		t.Fatal(err)
	}
	small := specBlock()
	small.Rules = small.Rules[:1] // ssh: one address set, plus the two safety sets
	stats := &readStats{}
	pl, err := Plan(ctx, n.Namespace, small, withReadStats(stats))
	if err != nil {
		t.Fatal(err)
	}
	reqs := stats.snapshot()
	if reqs["getsetelem"] != 3 || reqs["getchain-dump"] != 0 || reqs["getrule"] != 1 {
		t.Errorf("reads %v, want the elements of 3 sets, the rules, no chain dump", reqs)
	}
	if pl.Empty() {
		t.Error("empty plan")
	}

	n.Run(t, "nft", "add", "chain", "inet", "fw", "extra")
	stats = &readStats{}
	pl, err = Plan(ctx, n.Namespace, specBlock(), withReadStats(stats))
	if err != nil {
		t.Fatal(err)
	}
	if stats.snapshot()["getchain-dump"] != 1 || len(pl.Changes) != 1 || pl.Changes[0].Kind != "nftables chain" {
		t.Errorf("with a chain of someone else's: reads %v, plan %v; want a chain dump and the chain deleted", stats.snapshot(), pl)
	}
}

// TestDecodeMalformed: user data and attributes anyone may write never
// make the decoders panic.
func TestDecodeMalformed(t *testing.T) {
	for _, ud := range [][]byte{nil, {0}, {0, 5, 'a'}, {1, 200}, {0, 3, 'a', 'b', 0}, {7, 1, 'x', 0, 2, 'o', 'k'}} {
		_ = ruleComment(ud)
	}
	if got := ruleComment([]byte{7, 1, 'x', 0, 3, 'o', 'k', 0}); got != "ok" {
		t.Errorf("comment after another record: %q", got)
	}
	for _, b := range [][]byte{{1}, {3, 0, 1, 0}, {200, 0, 1, 0, 0, 0}, {8, 0, 1, 0, 'a', 'b'}} {
		_ = walkAttrs(b, func(uint16, []byte) error { return nil })
		_, _ = decodeRule(b, true)
		_, _, _ = decodeSet(b)
		_, _ = decodeChain(b)
		var e []setElem
		_ = decodeElems(b, &e)
	}
}
