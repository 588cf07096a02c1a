package firewall

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

const foreignRuleset = `table inet foreign {
	set allowed {
		type ipv4_addr
		elements = { 192.0.2.1 }
	}
	chain in {
		type filter hook input priority 10; policy accept;
		ip saddr @allowed tcp dport 1 counter accept
	}
}
table ip other {
	chain c {
		tcp dport 2 drop
	}
}
`

func loadNft(t *testing.T, n *nstest.NS, script string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.nft")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(script)
	f.Close()
	n.Run(t, "nft", "-f", f.Name())
}

// TestForeignTablesUntouched: Apply, a changed Apply and Delete leave other
// tables exactly as they were.
func TestForeignTablesUntouched(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	loadNft(t, n, foreignRuleset)
	before := string(n.Run(t, "nft", "-a", "list", "table", "inet", "foreign")) + string(n.Run(t, "nft", "-a", "list", "table", "ip", "other"))

	spec := specBlock()
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	spec.Rules = spec.Rules[3:]
	spec.DefaultAction = DefaultAccept
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	after := string(n.Run(t, "nft", "-a", "list", "table", "inet", "foreign")) + string(n.Run(t, "nft", "-a", "list", "table", "ip", "other"))
	if before != after {
		t.Errorf("foreign tables changed by Apply:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if err := Delete(ctx, n.Namespace, "fw"); err != nil {
		t.Fatal(err)
	}
	after = string(n.Run(t, "nft", "-a", "list", "table", "inet", "foreign")) + string(n.Run(t, "nft", "-a", "list", "table", "ip", "other"))
	if before != after {
		t.Errorf("foreign tables changed by Delete:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := n.Exec("nft", "list", "table", "inet", "fw"); err == nil {
		t.Error("table fw still exists after Delete")
	}
	if _, err := Get(ctx, n.Namespace, "fw"); !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := Delete(ctx, n.Namespace, "fw"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

// TestCountersSurviveChanges: adding, removing and reordering other rules
// keeps the handle and counters of rules that did not change, and the
// writes are only those of the change.
func TestCountersSurviveChanges(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	spec := specBlock()
	if _, err := Apply(ctx, l.S.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	l.check(t, []probeCase{{"tcp", "10.1.0.2", "10.1.0.1", 80, accepted}, {"tcp", "fd01::2", "fd01::1", 443, accepted}})
	before, err := Get(ctx, l.S.Namespace, "fw")
	if err != nil {
		t.Fatal(err)
	}
	// Get's counters are the kernel's. (Safety rules and the default
	// counter are left out: background IPv6 traffic, such as MLD reports,
	// may count between the two reads.)
	counters := nftCounters(t, l.S, "fw")
	if len(counters) != len(before.Rules) {
		t.Errorf("nft shows %d rules with counters, Get %d", len(counters), len(before.Rules))
	}
	for _, r := range before.Rules {
		if strings.HasPrefix(r.Name, "safety:") || r.Name == "default" {
			continue
		}
		if c, ok := counters[r.Comment]; !ok || c != r.Packets {
			t.Errorf("rule %q: Get says %d packets, nft -j %d (present %v)", r.Comment, r.Packets, c, ok)
		}
	}
	web := rulesNamed(before, "web")
	if len(web) != 2 || web[0].Packets == 0 || web[1].Packets == 0 {
		t.Fatalf("web rules before: %+v", web)
	}

	// Insert a rule before web, drop one after it, change the default.
	spec.Rules = append([]Rule{{Name: "new-first", Protocol: TCP, Ports: []string{"9999"}, Subnets: pfxs("10.9.0.0/16"), Action: Accept}}, spec.Rules...)
	spec.Rules = append(spec.Rules[:6], spec.Rules[7:]...) // without "dns"
	spec.DefaultAction = DefaultAccept
	var w int64
	pl, err := Apply(ctx, l.S.Namespace, spec, netprim.WithWriteCounter(&w))
	if err != nil {
		t.Fatal(err)
	}
	// policy, 1 rule added, 2 dns rules deleted
	if w != 4 || len(pl.Changes) != 4 {
		t.Errorf("%d writes, plan:\n%s\nwant 4 writes: policy, one rule added, two deleted", w, pl)
	}
	after, err := Get(ctx, l.S.Namespace, "fw")
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesNamed(after, "web"); len(got) != 2 || got[0] != web[0] || got[1] != web[1] {
		t.Errorf("web rules changed:\nbefore %+v\nafter  %+v", web, got)
	}
	if len(rulesNamed(after, "dns")) != 0 {
		t.Error("dns rules still present")
	}
	// new-first sits before web, after the safety rules.
	var order []string
	for _, r := range after.Rules {
		order = append(order, r.Name)
	}
	if got := strings.Join(order[5:8], ","); got != "new-first,ssh,web-deny-99" {
		t.Errorf("rule order %v", order)
	}
}

func rulesNamed(st Status, name string) []RuleStatus {
	var out []RuleStatus
	for _, r := range st.Rules {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// TestDriftRepaired: rules, sets and chains changed behind netprim's back
// are put right by the next Apply, touching only what drifted.
func TestDriftRepaired(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	spec := specBlock()
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	want := nftList(t, n, "fw")
	st, err := Get(ctx, n.Namespace, "fw")
	if err != nil {
		t.Fatal(err)
	}
	web := rulesNamed(st, "web")[0]
	// Drift: a rule deleted, a foreign rule and chain added, set elements
	// changed, the policy changed.
	n.Run(t, "nft", "delete", "rule", "inet", "fw", "input", "handle", itoa(rulesNamed(st, "ssh")[0].Handle))
	n.Run(t, "nft", "insert", "rule", "inet", "fw", "input", "tcp", "dport", "1", "accept")
	n.Run(t, "nft", "add", "chain", "inet", "fw", "extra")
	var setName string
	for name := range want.Sets {
		if strings.HasPrefix(name, "p_") {
			setName = name
		}
	}
	n.Run(t, "nft", "add", "element", "inet", "fw", setName, "{ 9 }")
	n.Run(t, "nft", "chain", "inet", "fw", "input", "{ policy accept; }")

	pl, err := Plan(ctx, n.Namespace, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Changes) != 5 {
		t.Errorf("plan after drift has %d changes, want 5 (policy, foreign rule, set, ssh rule, chain):\n%s", len(pl.Changes), pl)
	}
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	if got := nftList(t, n, "fw"); !equalTables(got, want) {
		t.Errorf("after repair:\n%+v\nwant:\n%+v", got, want)
	}
	st, err = Get(ctx, n.Namespace, "fw")
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesNamed(st, "web")[0]; got.Handle != web.Handle {
		t.Errorf("web rule replaced during repair: handle %d -> %d", web.Handle, got.Handle)
	}
	if pl, err := Plan(ctx, n.Namespace, spec); err != nil || !pl.Empty() {
		t.Errorf("plan after repair: %v %v", pl, err)
	}
}

func equalTables(a, b nftTable) bool {
	if strings.Join(a.Rules, "\n") != strings.Join(b.Rules, "\n") || strings.Join(a.Chains, "\n") != strings.Join(b.Chains, "\n") || len(a.Sets) != len(b.Sets) {
		return false
	}
	for k, v := range a.Sets {
		if b.Sets[k] != v {
			return false
		}
	}
	return true
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

// TestBadInputKernelUnchanged: an invalid Spec fails Plan and Apply with
// an error naming the rule and field, and the kernel is not touched.
func TestBadInputKernelUnchanged(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx := context.Background()
	loadNft(t, n, foreignRuleset)
	if _, err := Apply(ctx, n.Namespace, specBlock()); err != nil {
		t.Fatal(err)
	}
	before := string(n.Run(t, "nft", "-a", "list", "ruleset"))
	for _, c := range badSpecs() {
		c.spec.Table = "fw"
		if c.name == "table" {
			c.spec.Table = "my table"
		}
		var w int64
		_, err := Apply(ctx, n.Namespace, c.spec, netprim.WithWriteCounter(&w))
		if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Apply error %v, want one containing %q", c.name, err, c.want)
		}
		if w != 0 {
			t.Errorf("%s: %d writes", c.name, w)
		}
		if _, err := Plan(ctx, n.Namespace, c.spec); err == nil {
			t.Errorf("%s: Plan accepted it", c.name)
		}
	}
	if after := string(n.Run(t, "nft", "-a", "list", "ruleset")); after != before {
		t.Errorf("ruleset changed by invalid specs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestBatchAllOrNothing: a transaction with a failing message reports the
// kernel's errno and applies none of its messages.
func TestBatchAllOrNothing(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	c, w, err := newWriter(n.Namespace, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	good := &nftables.Table{Name: "good", Family: nftables.TableFamilyINet}
	c.AddTable(good)
	c.AddChain(&nftables.Chain{Name: "c", Table: good})
	if err := c.DelRule(&nftables.Rule{Table: &nftables.Table{Name: "missing", Family: nftables.TableFamilyINet}, Chain: &nftables.Chain{Name: "x"}, Handle: 42}); err != nil {
		t.Fatal(err)
	}
	err = c.Flush()
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Flush: %v, want ENOENT", err)
	}
	if out := n.Run(t, "nft", "list", "ruleset"); len(out) != 0 {
		t.Errorf("failed transaction left state behind:\n%s", out)
	}
	// The same writer then applies a good transaction.
	c.AddTable(good)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if out := n.Run(t, "nft", "list", "tables"); !strings.Contains(string(out), "table inet good") {
		t.Errorf("tables: %s", out)
	}
}

// TestConcurrentApply: Apply calls for different namespaces may run at the
// same time (run with -race).
func TestConcurrentApply(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	requireNftables(t, a)
	errs := make(chan error, 2)
	for _, n := range []*nstest.NS{a, b} {
		go func() {
			_, err := Apply(context.Background(), n.Namespace, specBlock())
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if !equalTables(nftList(t, a, "fw"), nftList(t, b, "fw")) {
		t.Error("the two namespaces differ")
	}
}
