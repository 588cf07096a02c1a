package route

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// ipRule is one rule as "ip -j -d rule" prints it.
type ipRule struct {
	Priority uint32 `json:"priority"`
	Src      string `json:"src"`
	SrcLen   int    `json:"srclen"`
	Dst      string `json:"dst"`
	DstLen   int    `json:"dstlen"`
	Fwmark   string `json:"fwmark"`
	Fwmask   string `json:"fwmask"`
	Iif      string `json:"iif"`
	Oif      string `json:"oif"`
	Table    string `json:"table"`
	Action   string `json:"action"`
	Suppress *int   `json:"suppress_prefixlen"`
	Protocol string `json:"protocol"`
}

// ipRules returns the rules ip(8) reports with protocol proto, as
// normalized Rules in ip's order.
func ipRules(t *testing.T, n *nstest.NS, proto string) []Rule {
	t.Helper()
	var out []Rule
	for _, fam := range []string{"-4", "-6"} {
		// ip prints "not": null for inverted rules: presence is the flag.
		var rs []map[string]any
		n.IPJSON(t, &rs, fam, "-d", "rule", "show")
		var typed []ipRule
		n.IPJSON(t, &typed, fam, "-d", "rule", "show")
		for i, r := range typed {
			if r.Protocol != proto {
				continue
			}
			_, invert := rs[i]["not"]
			out = append(out, r.rule(t, fam == "-6", invert))
		}
	}
	return out
}

func (r ipRule) rule(t *testing.T, v6, invert bool) Rule {
	t.Helper()
	out := Rule{Priority: r.Priority, Family: FamilyIPv4, Invert: invert, IIF: r.Iif, OIF: r.Oif, SuppressPrefixLength: r.Suppress}
	if v6 {
		out.Family = FamilyIPv6
	}
	prefix := func(a string, l int) netip.Prefix {
		if a == "" || a == "all" {
			return netip.Prefix{}
		}
		return netip.PrefixFrom(netip.MustParseAddr(a), l)
	}
	out.From = prefix(r.Src, r.SrcLen)
	out.To = prefix(r.Dst, r.DstLen)
	num := func(s string) uint32 {
		if s == "" {
			return 0
		}
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return uint32(v)
	}
	out.FwMark, out.FwMask = num(r.Fwmark), num(r.Fwmask)
	if out.FwMark != 0 && r.Fwmask == "" {
		out.FwMask = 0xffffffff
	}
	switch r.Action {
	case "", "to_tbl":
		out.Action = ActionLookup
		switch r.Table {
		case "main":
			out.Table = TableMain
		case "local":
			out.Table = TableLocal
		case "default":
			out.Table = TableDefault
		default:
			out.Table = num(r.Table)
		}
	default:
		out.Action = RuleAction(r.Action)
	}
	return out
}

func ruleSet() []Rule {
	return []Rule{
		{Priority: 100, Family: FamilyIPv4, FwMark: 0xca6c, Invert: true, Table: 51820},
		{Priority: 101, Family: FamilyIPv4, SuppressPrefixLength: intp(0)},
		{Priority: 200, From: pfx("10.0.0.0/8"), To: pfx("192.168.0.0/16"), Table: 100},
		{Priority: 201, From: pfx("10.1.0.0/16"), IIF: "va", FwMark: 0x10, FwMask: 0xf0, Table: 1000},
		{Priority: 300, To: pfx("2001:db8::/32"), IIF: "va", OIF: "vb", Action: ActionProhibit},
		{Priority: 301, From: pfx("2001:db8:1::/48"), Action: ActionBlackhole},
		{Priority: 302, Family: FamilyIPv4, OIF: "vb", Action: ActionUnreachable},
		{Priority: 400, Family: FamilyIPv6, FwMark: 1, FwMask: 0xff, Table: 5, SuppressPrefixLength: intp(64)},
	}
}

func TestRulesRoundTrip(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	want := ruleSet()
	var writes int64
	plan, err := ApplyRules(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != len(want) || writes != int64(len(want)) {
		t.Errorf("%d writes for %d rules:\n%v", writes, len(want), plan)
	}
	exp := normRules(t, want...)
	byFamilyAndPriority := func(r []Rule) []Rule {
		r = slices.Clone(r)
		slices.SortStableFunc(r, func(a, b Rule) int {
			if a.Family != b.Family {
				return strings.Compare(string(a.Family), string(b.Family))
			}
			return int(a.Priority) - int(b.Priority)
		})
		return r
	}
	exp = byFamilyAndPriority(exp)
	if d := cmp.Diff(exp, ipRules(t, n, "78"), cmpIP); d != "" {
		t.Errorf("ip -j rule (-want +got):\n%s", d)
	}
	st, err := ListRules(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	var got []Rule
	for _, s := range st {
		if s.Protocol == us {
			got = append(got, s.Rule)
		}
	}
	if d := cmp.Diff(exp, byFamilyAndPriority(got), cmpIP); d != "" {
		t.Errorf("ListRules (-want +got):\n%s", d)
	}

	// Idempotent: no writes, no events.
	mon := newMonitor(t, n)
	writes = 0
	plan, err = ApplyRules(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes), netprim.WithPrune())
	if err != nil || !plan.Empty() || writes != 0 {
		t.Errorf("second ApplyRules: %v, %d writes\n%v", err, writes, plan)
	}
	if ev := mon.events(t); len(ev) != 0 {
		t.Errorf("second ApplyRules caused events:\n%s", strings.Join(ev, "\n"))
	}
}

func TestRulesOwnership(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	n.Run(t, "ip", "rule", "add", "from", "10.9.0.0/16", "lookup", "9", "pref", "90")
	n.Run(t, "ip", "rule", "add", "from", "10.8.0.0/16", "lookup", "8", "pref", "80", "proto", "79")
	n.Run(t, "ip", "-6", "rule", "add", "from", "2001:db8:9::/48", "lookup", "9", "pref", "90", "proto", "static")
	before := ipRulesExcept(t, n, "78")
	if _, err := ApplyRules(ctx, n.Namespace, ruleSet()); err != nil {
		t.Fatal(err)
	}
	// Prune with nothing wanted: all of ours go, the kernel's default rules
	// and everyone else's stay.
	plan, err := ApplyRules(ctx, n.Namespace, nil, netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != len(ruleSet()) {
		t.Errorf("prune plan:\n%v", plan)
	}
	for _, c := range plan.Changes {
		if c.Action != netprim.Delete {
			t.Errorf("unexpected change %v", c)
		}
	}
	if got := ipRules(t, n, "78"); len(got) != 0 {
		t.Errorf("our rules left: %v", got)
	}
	if d := cmp.Diff(before, ipRulesExcept(t, n, "78")); d != "" {
		t.Errorf("foreign and default rules changed (-before +after):\n%s", d)
	}
	for _, def := range []string{"0:", "32766:", "32767:"} {
		if !slices.ContainsFunc(before, func(s string) bool { return strings.HasPrefix(s, "-4 "+def) }) {
			t.Errorf("default rule %s missing from %v", def, before)
		}
	}
	// A wanted rule that exists with another protocol is left as it is.
	plan, err = ApplyRules(ctx, n.Namespace, []Rule{{Priority: 90, From: pfx("10.9.0.0/16"), Table: 9}}, netprim.WithPrune())
	if err != nil || !plan.Empty() {
		t.Errorf("foreign equal rule: %v\n%v", err, plan)
	}
}

// ipRulesExcept renders the rules whose protocol is not proto.
func ipRulesExcept(t *testing.T, n *nstest.NS, proto string) []string {
	t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		for _, line := range strings.Split(strings.TrimSpace(string(n.Run(t, "ip", fam, "-d", "rule", "show"))), "\n") {
			if !strings.HasSuffix(line, " proto "+proto) {
				out = append(out, fam+" "+strings.Join(strings.Fields(line), " "))
			}
		}
	}
	return out
}

// TestRulesAmbiguousDelete proves one ApplyRules converges when the
// kernel's wildcard matching would make the delete of a stale rule hit a
// wanted one.
func TestRulesAmbiguousDelete(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	specific := Rule{Priority: 200, From: pfx("10.0.0.0/8"), Table: 100}
	general := Rule{Priority: 200, Family: FamilyIPv4, Table: 100}
	if _, err := ApplyRules(ctx, n.Namespace, []Rule{specific, general}); err != nil {
		t.Fatal(err)
	}
	plan, err := ApplyRules(ctx, n.Namespace, []Rule{specific}, netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%v", plan)
	if d := cmp.Diff(normRules(t, specific), ipRules(t, n, "78"), cmpIP); d != "" {
		t.Errorf("not converged (-want +got):\n%s", d)
	}
	plan, err = ApplyRules(ctx, n.Namespace, []Rule{specific}, netprim.WithPrune())
	if err != nil || !plan.Empty() {
		t.Errorf("third ApplyRules: %v\n%v", err, plan)
	}
}

// TestDeleteOfVanishedRule: a rule ApplyRules prunes that disappears
// between the dump and the delete is gone as wanted, not an error.
func TestDeleteOfVanishedRule(t *testing.T) {
	n := newNS(t)
	stale := []Rule{
		{Priority: 100, Family: FamilyIPv4, FwMark: 7, Table: 100},
		{Priority: 101, Family: FamilyIPv6, Table: 101},
		{Priority: 102, Family: FamilyIPv4, Table: 102},
	}
	if _, err := ApplyRules(context.Background(), n.Namespace, stale); err != nil {
		t.Fatal(err)
	}
	// Reading is one rule dump (one check); the second check comes before
	// the writes.
	ctx := &onCheck{Context: context.Background(), at: 2, hook: func() {
		n.Run(t, "ip", "rule", "del", "priority", "100")
		n.Run(t, "ip", "-6", "rule", "del", "priority", "101")
	}}
	var writes int64
	plan, err := ApplyRules(ctx, n.Namespace, nil, netprim.WithPrune(), netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Errorf("ApplyRules: %v", err)
	}
	want := []string{
		"- rule 100: from all fwmark 0x7 lookup 100",
		"- rule 102: from all lookup 102",
		"- rule 101: from all lookup 101 family inet6",
	}
	if d := cmp.Diff(want, lines(plan.Changes)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if ctx.calls < ctx.at || writes != 3 {
		t.Errorf("the rules did not vanish between reading and writing (%d checks, %d writes)", ctx.calls, writes)
	}
	if got := ipRules(t, n, "78"); len(got) != 0 {
		t.Errorf("rules left: %v", got)
	}
}
