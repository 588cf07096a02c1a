package route

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

func intp(v int) *int { return &v }

func TestRuleValidate(t *testing.T) {
	ok := Rule{Priority: 100, Family: FamilyIPv4, FwMark: 0xca6c, Table: 51820}
	tests := []struct {
		name  string
		r     Rule
		field string
	}{
		{"fwmark", ok, ""},
		{"from", Rule{Priority: 1, From: pfx("10.0.0.0/8"), Table: 100}, ""},
		{"to v6", Rule{Priority: 1, To: pfx("2001:db8::/32"), Action: ActionProhibit}, ""},
		{"all fields", Rule{Priority: 1, Family: FamilyIPv4, From: pfx("10.0.0.0/8"), To: pfx("10.1.0.0/16"), FwMark: 1, FwMask: 0xff,
			IIF: "eth0", OIF: "eth1", Table: 7, Action: ActionLookup, Invert: true, SuppressPrefixLength: intp(0)}, ""},
		{"no priority", Rule{Family: FamilyIPv4, Table: 100}, "priority"},
		{"bad family", Rule{Priority: 1, Family: "inet4", Table: 100}, "family"},
		{"no family", Rule{Priority: 1, Table: 100}, "family"},
		{"from family", Rule{Priority: 1, Family: FamilyIPv6, From: pfx("10.0.0.0/8"), Table: 100}, "from"},
		{"to family", Rule{Priority: 1, From: pfx("10.0.0.0/8"), To: pfx("2001:db8::/32"), Table: 100}, "to"},
		{"mark outside mask", Rule{Priority: 1, Family: FamilyIPv4, FwMark: 0x100, FwMask: 0xff, Table: 100}, "fwMark"},
		{"iif", Rule{Priority: 1, Family: FamilyIPv4, IIF: "a/b", Table: 100}, "iif"},
		{"oif", Rule{Priority: 1, Family: FamilyIPv4, OIF: strings.Repeat("x", 16), Table: 100}, "oif"},
		{"table compat", Rule{Priority: 1, Family: FamilyIPv4, Table: 252}, "table"},
		{"table with blackhole", Rule{Priority: 1, Family: FamilyIPv4, Table: 5, Action: ActionBlackhole}, "table"},
		{"bad action", Rule{Priority: 1, Family: FamilyIPv4, Action: "goto"}, "action"},
		{"suppress on prohibit", Rule{Priority: 1, Family: FamilyIPv4, Action: ActionProhibit, SuppressPrefixLength: intp(0)}, "suppressPrefixLength"},
		{"suppress too long", Rule{Priority: 1, Family: FamilyIPv4, SuppressPrefixLength: intp(33)}, "suppressPrefixLength"},
		{"suppress negative", Rule{Priority: 1, Family: FamilyIPv6, SuppressPrefixLength: intp(-1)}, "suppressPrefixLength"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				n := tt.r
				n.Normalize()
				if err := n.Validate(); err != nil {
					t.Fatalf("normalized rule invalid: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.HasPrefix(err.Error(), "route: "+tt.field+": ") {
				t.Fatalf("Validate() = %v, want an ErrInvalidSpec naming %s", err, tt.field)
			}
			err = ValidateRules([]Rule{ok, tt.r})
			if err == nil || !strings.HasPrefix(err.Error(), "route: rule[1]."+tt.field+": ") {
				t.Fatalf("ValidateRules() = %v, want rule[1].%s", err, tt.field)
			}
		})
	}
	if err := ValidateRules([]Rule{ok, ok}); err == nil || !strings.Contains(err.Error(), "rule[1].priority: the same rule as rule[0]") {
		t.Errorf("duplicate rule: %v", err)
	}
}

func TestRuleNormalize(t *testing.T) {
	r := Rule{Priority: 5, From: pfx("0.0.0.0/0"), To: pfx("10.1.2.3/16"), FwMark: 7}
	r.Normalize()
	want := Rule{Priority: 5, Family: FamilyIPv4, To: pfx("10.1.0.0/16"), FwMark: 7, FwMask: 0xffffffff, Table: TableMain, Action: ActionLookup}
	if d := cmp.Diff(want, r, cmpIP); d != "" {
		t.Errorf("Normalize (-want +got):\n%s", d)
	}
}

func TestRuleJSON(t *testing.T) {
	var r Rule
	doc := `{"priority":100,"family":"inet","fwMark":51820,"invert":true,"table":51820,"suppressPrefixLength":0}`
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatal(err)
	}
	want := Rule{Priority: 100, Family: FamilyIPv4, FwMark: 51820, Invert: true, Table: 51820, SuppressPrefixLength: intp(0)}
	if d := cmp.Diff(want, r, cmpIP); d != "" {
		t.Errorf("decode (-want +got):\n%s", d)
	}
}

func normRules(t *testing.T, rs ...Rule) []Rule {
	t.Helper()
	out, err := prepareRules(rs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func haveRule(t *testing.T, r Rule, p Protocol) RuleStatus {
	t.Helper()
	return RuleStatus{Rule: normRules(t, r)[0], Protocol: p}
}

// defaults are the kernel's own IPv4 rules.
func defaults(t *testing.T) []RuleStatus {
	return []RuleStatus{
		{Rule: Rule{Priority: 0, Family: FamilyIPv4, Table: TableLocal, Action: ActionLookup}, Protocol: ProtocolKernel},
		{Rule: Rule{Priority: 32766, Family: FamilyIPv4, Table: TableMain, Action: ActionLookup}, Protocol: ProtocolKernel},
		{Rule: Rule{Priority: 32767, Family: FamilyIPv4, Table: TableDefault, Action: ActionLookup}, Protocol: ProtocolKernel},
	}
}

func TestRuleDiff(t *testing.T) {
	mesh := Rule{Priority: 100, Family: FamilyIPv4, FwMark: 0xca6c, Invert: true, Table: 51820}
	src := Rule{Priority: 200, From: pfx("10.0.0.0/8"), Table: 100}
	tests := []struct {
		name  string
		want  []Rule
		have  []RuleStatus
		prune bool
		out   []string
		ops   int
	}{
		{
			name: "add",
			want: []Rule{mesh, src},
			have: defaults(t),
			out:  []string{"+ rule 100: not from all fwmark 0xca6c lookup 51820", "+ rule 200: from 10.0.0.0/8 lookup 100"},
			ops:  2,
		},
		{
			name:  "nothing to do; defaults untouched",
			want:  []Rule{mesh},
			have:  append(defaults(t), haveRule(t, mesh, us)),
			prune: true,
		},
		{
			name: "an equal rule of another protocol counts",
			want: []Rule{src},
			have: append(defaults(t), haveRule(t, src, ProtocolUnspec)),
		},
		{
			name:  "prune only ours",
			prune: true,
			have: append(defaults(t), haveRule(t, mesh, us), haveRule(t, src, ProtocolUnspec),
				haveRule(t, Rule{Priority: 300, Family: FamilyIPv6, Table: 5}, 79)),
			out: []string{"- rule 100: not from all fwmark 0xca6c lookup 51820"},
			ops: 1,
		},
		{
			name:  "changed rule: add new, delete old",
			want:  []Rule{{Priority: 200, From: pfx("10.0.0.0/16"), Table: 100}},
			have:  append(defaults(t), haveRule(t, src, us)),
			prune: true,
			out:   []string{"+ rule 200: from 10.0.0.0/16 lookup 100", "- rule 200: from 10.0.0.0/8 lookup 100"},
			ops:   2,
		},
		{
			// Deleting "200: from all lookup 100" makes the kernel remove the
			// first rule of priority 200 with table 100, the wanted one.
			name:  "ambiguous delete recreates the wanted rule it hits",
			want:  []Rule{src},
			have:  append(defaults(t), haveRule(t, src, us), haveRule(t, Rule{Priority: 200, Family: FamilyIPv4, Table: 100}, us)),
			prune: true,
			out: []string{
				"± rule 200: from 10.0.0.0/8 lookup 100 (the kernel cannot delete rule 200: from all lookup 100 without it)",
				"- rule 200: from all lookup 100",
			},
			ops: 3,
		},
		{
			name: "invert is not compared by the kernel either",
			want: []Rule{{Priority: 100, Family: FamilyIPv4, FwMark: 0xca6c, Table: 51820}},
			have: append(defaults(t), haveRule(t, mesh, us)),
			// Adding is fine (no exclusive flag); deleting the old one would
			// hit whichever comes first: the old one, added earlier.
			prune: true,
			out: []string{
				"+ rule 100: from all fwmark 0xca6c lookup 51820",
				"- rule 100: not from all fwmark 0xca6c lookup 51820",
			},
			ops: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ruleDiff{want: normRules(t, tt.want...), have: tt.have, owner: us, prune: tt.prune}
			ops, changes := d.run()
			if d := cmp.Diff(tt.out, lines(changes)); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			if len(ops) != tt.ops {
				t.Errorf("%d writes, want %d: %+v", len(ops), tt.ops, ops)
			}
			for _, op := range ops {
				if !op.add && op.proto != us {
					t.Errorf("delete request without our protocol: %+v", op)
				}
				if op.change < 0 || op.change >= len(changes) {
					t.Errorf("op %+v has no change", op)
				}
			}
		})
	}
}

func TestRuleMatchesMirrorsKernel(t *testing.T) {
	stale := normRules(t, Rule{Priority: 200, Family: FamilyIPv4, Table: 100})[0]
	specific := normRules(t, Rule{Priority: 200, From: pfx("10.0.0.0/8"), IIF: "eth0", FwMark: 3, Table: 100})[0]
	if !ruleMatches(&specific, us, &stale, us) {
		t.Error("unset request fields must be wildcards")
	}
	if ruleMatches(&stale, us, &specific, us) {
		t.Error("set request fields must be compared")
	}
	if ruleMatches(&specific, ProtocolUnspec, &stale, us) {
		t.Error("the protocol of the request must be compared")
	}
}

// FuzzRule decodes arbitrary JSON into a Rule: Validate never panics, a
// valid Rule stays valid after Normalize, and Normalize is idempotent.
func FuzzRule(f *testing.F) {
	f.Add(`{"priority":100,"family":"inet","fwMark":51820,"invert":true,"table":51820}`)
	f.Add(`{"priority":5,"from":"10.0.0.0/8","to":"10.1.0.0/16","iif":"eth0","oif":"eth1","suppressPrefixLength":0}`)
	f.Add(`{"priority":7,"to":"2001:db8::/32","action":"prohibit","fwMark":1,"fwMask":255}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var r Rule
		if json.Unmarshal([]byte(doc), &r) != nil {
			return
		}
		_ = r.String()
		if r.Validate() != nil {
			return
		}
		n := r
		n.Normalize()
		if err := n.Validate(); err != nil {
			t.Fatalf("valid %+v invalid after Normalize: %v", r, err)
		}
		m := n
		m.Normalize()
		if d := cmp.Diff(n, m, cmpIP); d != "" {
			t.Fatalf("Normalize not idempotent:\n%s", d)
		}
		if n.key() != m.key() {
			t.Fatal("key changed")
		}
	})
}
