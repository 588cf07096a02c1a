package firewall

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// cachedApply applies spec with cache and returns the plan, the number of
// messages written and the read requests sent.
func cachedApply(t *testing.T, n *nstest.NS, spec Spec, cache *Cache) (netprim.Plan, int64, map[string]int) {
	t.Helper()
	var writes int64
	stats := &readStats{}
	pl, err := Apply(context.Background(), n.Namespace, spec, WithCache(cache), netprim.WithWriteCounter(&writes), withReadStats(stats))
	if err != nil {
		t.Fatal(err)
	}
	return pl, writes, stats.snapshot()
}

// onlyGeneration reports whether reqs is exactly one generation request.
func onlyGeneration(reqs map[string]int) bool {
	return maps.Equal(reqs, map[string]int{"getgen": 1})
}

// nsGen returns the nftables generation of the namespace.
func nsGen(t *testing.T, n *nstest.NS) uint32 {
	t.Helper()
	c, err := dialNF(n.Namespace, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g, err := c.gen()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestCacheHit: after an Apply with a Cache, the same Spec is answered by
// Apply and Plan from the generation alone, with no write; the kernel
// (nft -j) still holds the Spec.
func TestCacheHit(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	spec := specBlock()
	var cache Cache
	pl, w, reqs := cachedApply(t, n, spec, &cache)
	if pl.Empty() || w == 0 || reqs["gettable"] != 1 {
		t.Fatalf("first Apply: %d changes, %d writes, reads %v", len(pl.Changes), w, reqs)
	}
	want := nftList(t, n, "fw")
	g := nsGen(t, n)
	for i := range 3 {
		pl, w, reqs := cachedApply(t, n, spec, &cache)
		if !pl.Empty() || w != 0 || !onlyGeneration(reqs) {
			t.Errorf("Apply %d with the cache: %d changes, %d writes, reads %v; want none, none, only the generation", i, len(pl.Changes), w, reqs)
		}
	}
	stats := &readStats{}
	if pl, err := Plan(context.Background(), n.Namespace, spec, WithCache(&cache), withReadStats(stats)); err != nil || !pl.Empty() || !onlyGeneration(stats.snapshot()) {
		t.Errorf("Plan with the cache: %v %v, reads %v", pl, err, stats.snapshot())
	}
	if got := nsGen(t, n); got != g {
		t.Errorf("generation moved from %d to %d: something was written", g, got)
	}
	if got := nftList(t, n, "fw"); !equalTables(got, want) {
		t.Errorf("table changed:\n%+v\nwant:\n%+v", got, want)
	}

	// A Spec applied without the cache is recorded by the first cached
	// call that finds it in place, without writing.
	var fresh Cache
	if pl, w, reqs := cachedApply(t, n, spec, &fresh); !pl.Empty() || w != 0 || reqs["getrule"] != 1 {
		t.Errorf("first Apply with a new cache: %d changes, %d writes, reads %v; want a read and no write", len(pl.Changes), w, reqs)
	}
	if _, w, reqs := cachedApply(t, n, spec, &fresh); w != 0 || !onlyGeneration(reqs) {
		t.Errorf("second Apply with the new cache: %d writes, reads %v", w, reqs)
	}
}

// TestCacheRepairsNftChanges: changes made with nft behind the cache's
// back (a rule deleted, a set element added, the table flushed, the table
// deleted) are found and repaired by the next cached Apply.
func TestCacheRepairsNftChanges(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	spec := specBlock()
	var cache Cache
	cachedApply(t, n, spec, &cache)
	want := nftList(t, n, "fw")
	var portSet string
	for name := range want.Sets {
		if strings.HasPrefix(name, "p_") {
			portSet = name
		}
	}
	for _, tc := range []struct {
		name  string
		drift func()
	}{
		{"delete rule", func() {
			st, err := Get(ctx, n.Namespace, "fw")
			if err != nil {
				t.Fatal(err)
			}
			n.Run(t, "nft", "delete", "rule", "inet", "fw", "input", "handle", itoa(rulesNamed(st, "ssh")[0].Handle))
		}},
		{"add element", func() { n.Run(t, "nft", "add", "element", "inet", "fw", portSet, "{ 9 }") }},
		{"flush table", func() { n.Run(t, "nft", "flush", "table", "inet", "fw") }},
		{"delete table", func() { n.Run(t, "nft", "delete", "table", "inet", "fw") }},
	} {
		tc.drift()
		if tc.name != "delete table" && equalTables(nftList(t, n, "fw"), want) {
			t.Fatalf("%s: nft changed nothing", tc.name)
		}
		pl, w, _ := cachedApply(t, n, spec, &cache)
		if pl.Empty() || w == 0 {
			t.Errorf("%s: cached Apply did not repair: %d changes, %d writes", tc.name, len(pl.Changes), w)
		}
		if got := nftList(t, n, "fw"); !equalTables(got, want) {
			t.Errorf("%s: after repair:\n%+v\nwant:\n%+v", tc.name, got, want)
		}
		if _, w, reqs := cachedApply(t, n, spec, &cache); w != 0 || !onlyGeneration(reqs) {
			t.Errorf("%s: Apply after the repair: %d writes, reads %v; want a cache hit", tc.name, w, reqs)
		}
	}
}

// TestCacheUnrelatedChange: a change to another table moves the
// generation, so the next cached Apply reads the table again, finds
// nothing to do and writes nothing; the one after that is a hit again.
func TestCacheUnrelatedChange(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	spec := specBlock()
	var cache Cache
	cachedApply(t, n, spec, &cache)
	loadNft(t, n, foreignRuleset)
	before := string(n.Run(t, "nft", "-a", "list", "ruleset"))
	pl, w, reqs := cachedApply(t, n, spec, &cache)
	if !pl.Empty() || w != 0 {
		t.Errorf("Apply after a change to another table: %d changes, %d writes; want none", len(pl.Changes), w)
	}
	if reqs["getrule"] != 1 {
		t.Errorf("Apply after a change to another table did not read the table: %v", reqs)
	}
	if reqs["getchain-dump"] != 0 {
		t.Errorf("Apply read the chains of other tables: %v", reqs)
	}
	if _, w, reqs := cachedApply(t, n, spec, &cache); w != 0 || !onlyGeneration(reqs) {
		t.Errorf("next Apply: %d writes, reads %v; want a cache hit", w, reqs)
	}
	if after := string(n.Run(t, "nft", "-a", "list", "ruleset")); after != before {
		t.Errorf("ruleset changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestCacheDifferentSpec: a different Spec with the same cache is applied,
// and so is the first one again.
func TestCacheDifferentSpec(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	a := specBlock()
	b := specBlock()
	b.Rules = b.Rules[2:]
	b.DefaultAction = DefaultAccept
	b.Rules[0].Ports = []string{"80", "8443"}

	// The expected tables, applied without a cache into namespaces of
	// their own.
	wantOf := func(s Spec) nftTable {
		ref := nstest.New(t)
		if _, err := Apply(context.Background(), ref.Namespace, s); err != nil {
			t.Fatal(err)
		}
		return nftList(t, ref, "fw")
	}
	wantA, wantB := wantOf(a), wantOf(b)

	var cache Cache
	for i, s := range []Spec{a, b, a} {
		want := wantA
		if i == 1 {
			want = wantB
		}
		if pl, w, _ := cachedApply(t, n, s, &cache); pl.Empty() || w == 0 {
			t.Errorf("Apply %d: %d changes, %d writes; want the Spec applied", i, len(pl.Changes), w)
		}
		if got := nftList(t, n, "fw"); !equalTables(got, want) {
			t.Errorf("Apply %d:\n%+v\nwant:\n%+v", i, got, want)
		}
		if _, w, reqs := cachedApply(t, n, s, &cache); w != 0 || !onlyGeneration(reqs) {
			t.Errorf("Apply %d again: %d writes, reads %v; want a cache hit", i, w, reqs)
		}
	}
}

// TestCacheTellsNamespacesApart: one cache serves two namespaces; a
// namespace whose generation equals the one recorded for another is not
// taken for it.
func TestCacheTellsNamespacesApart(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	requireNftables(t, a)
	spec := specBlock()
	var cache Cache
	cachedApply(t, a, spec, &cache)
	ga := nsGen(t, a)
	for i := 0; nsGen(t, b) < ga; i++ {
		n := fmt.Sprintf("t%d", i)
		b.Run(t, "nft", "add", "table", "inet", n)
	}
	if gb := nsGen(t, b); gb != ga {
		t.Fatalf("could not bring the second namespace to generation %d (at %d)", ga, gb)
	}
	if pl, w, _ := cachedApply(t, b, spec, &cache); pl.Empty() || w == 0 {
		t.Errorf("Apply in the second namespace at the same generation: %d changes, %d writes; want the Spec applied", len(pl.Changes), w)
	}
	if !equalTables(nftList(t, a, "fw"), nftList(t, b, "fw")) {
		t.Error("the two namespaces differ")
	}
	for _, n := range []*nstest.NS{a, b} {
		if _, w, reqs := cachedApply(t, n, spec, &cache); w != 0 || !onlyGeneration(reqs) {
			t.Errorf("%s: %d writes, reads %v; want a cache hit", n.Name, w, reqs)
		}
	}
}

// TestCacheConcurrentChanges: nft changes to the table racing with cached
// Applies never leave a stale record: after the race the next cached
// Apply leaves the kernel holding the Spec.
func TestCacheConcurrentChanges(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	spec := specBlock()
	var cache Cache
	cachedApply(t, n, spec, &cache)
	want := nftList(t, n, "fw")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				n.Exec("nft", "insert", "rule", "inet", "fw", "input", "tcp", "dport", "1", "accept")
			} else {
				n.Exec("nft", "add", "element", "inet", "fw", "safety_icmp", "{ echo-request }")
			}
		}
	})
	for range 30 {
		if _, err := Apply(context.Background(), n.Namespace, spec, WithCache(&cache)); err != nil {
			// A rule deleted by the Spec may be gone already when the
			// race is lost; the next Apply repairs.
			t.Logf("Apply during changes: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	cachedApply(t, n, spec, &cache)
	if got := nftList(t, n, "fw"); !equalTables(got, want) {
		t.Errorf("after the race:\n%+v\nwant:\n%+v", got, want)
	}
}
