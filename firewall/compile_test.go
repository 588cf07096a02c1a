package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

func TestSubtract(t *testing.T) {
	cases := []struct {
		in, ex []string
		want   string
	}{
		{[]string{"10.0.0.0/24"}, nil, "10.0.0.0/24"},
		{[]string{"10.0.0.0/24", "10.0.1.0/24"}, nil, "10.0.0.0/23"},
		{[]string{"10.0.0.0/8", "10.1.0.0/16"}, nil, "10.0.0.0/8"},
		{[]string{"192.0.2.0/24"}, []string{"192.0.2.99/32"}, "192.0.2.0-192.0.2.98 192.0.2.100-192.0.2.255"},
		{[]string{"192.0.2.0/24"}, []string{"192.0.2.0/25"}, "192.0.2.128/25"},
		{[]string{"0.0.0.0/0"}, []string{"255.255.255.255/32"}, "0.0.0.0-255.255.255.254"},
		{[]string{"0.0.0.0/0", "::/0"}, []string{"0.0.0.0/32"}, "0.0.0.1-255.255.255.255 ::/0"},
		{[]string{"2001:db8::/64", "10.0.0.0/8"}, []string{"2001:db8::/65"}, "10.0.0.0/8 2001:db8:0:0:8000::/65"},
		{[]string{"10.0.0.0/24"}, []string{"10.0.0.0/25", "10.0.0.128/25"}, ""},
	}
	for _, c := range cases {
		var got []string
		for _, r := range subtract(pfxs(c.in...), pfxs(c.ex...)) {
			got = append(got, r.String())
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%v - %v = %q, want %q", c.in, c.ex, g, c.want)
		}
	}
}

func TestMergePorts(t *testing.T) {
	got := mergePorts([]PortRange{{80, 80}, {443, 443}, {81, 100}, {30000, 32767}, {90, 95}, {32768, 32768}})
	want := []PortRange{{80, 100}, {443, 443}, {30000, 32768}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestLongestIncreasing(t *testing.T) {
	id := func(i int) int { return i }
	for _, c := range []struct{ in, want []int }{
		{nil, []int{}},
		{[]int{0, 1, 2}, []int{0, 1, 2}},
		{[]int{2, 0, 1}, []int{0, 1}},
		{[]int{3, 1, 2, 0, 4}, []int{1, 2, 4}},
	} {
		if got := longestIncreasing(c.in, id); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%v: got %v, want %v", c.in, got, c.want)
		}
	}
}

func TestParseComment(t *testing.T) {
	for _, c := range []struct {
		in, name, fam string
		ok            bool
	}{
		{"web/ip6 #0123456789ab", "web", "ip6", true},
		{"safety:loopback #0123456789ab", "safety:loopback", "", true},
		{"web", "", "", false},
		{"x/y #0123456789ab", "x/y", "", true},
	} {
		n, f, ok := parseComment(c.in)
		if n != c.name || f != c.fam || ok != c.ok {
			t.Errorf("%q: %q %q %v", c.in, n, f, ok)
		}
	}
}

// TestDiff checks the transaction computed against a kernel state without
// a kernel: identical state means no operation at all; an inserted rule
// goes before the next kept rule; unknown rules, chains and sets go.
func TestDiff(t *testing.T) {
	s := specBlock()
	s.Normalize()
	p := compile(s)
	var o observed
	o.Table = true
	o.Chain = &obsChain{Base: true, Hook: chainHookInput, Type: "filter", Policy: DefaultBlock}
	for i, r := range p.Rules {
		o.Rules = append(o.Rules, obsRule{Handle: uint64(100 + i), Comment: r.Comment})
	}
	for _, st := range p.Sets {
		o.Sets = append(o.Sets, obsSet{Name: st.Name, KeyType: st.Kind.nftType(), Interval: st.Kind.interval(), Elems: st.Elems})
	}
	if ops := diff(p, o); len(ops) != 0 {
		t.Fatalf("identical state: %v", plan(ops))
	}

	s2 := specBlock()
	s2.Rules = append(s2.Rules[:2], append([]Rule{{Name: "new", Protocol: UDP, Ports: []string{"1"}, Action: Accept}}, s2.Rules[2:]...)...)
	s2.Normalize()
	o2 := o
	o2.Rules = append([]obsRule{{Handle: 1, Comment: ""}}, o.Rules...)
	o2.OtherChains = []string{"extra"}
	o2.Sets = append(o2.Sets, obsSet{Name: "stale", KeyType: "ipv4_addr"})
	o2.setIndex = nil
	ops := diff(compile(s2), o2)
	var got []string
	for _, op := range ops {
		switch op.Kind {
		case opAddRule:
			got = append(got, fmt.Sprintf("add %s before %d", op.Rule.Name, op.Handle))
		case opDelRule:
			got = append(got, fmt.Sprintf("del rule %d", op.Handle))
		case opDelChain:
			got = append(got, "del chain "+op.Chain)
		case opDelSet:
			got = append(got, "del set "+op.Name)
		default:
			got = append(got, fmt.Sprint("op ", op.Kind))
		}
	}
	// web-deny-99 is rules[1] -> kernel rule index 6 (after 5 safety rules and ssh)
	want := []string{"del rule 1", "add new before 107", "del chain extra", "del set stale"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRenderExample(t *testing.T) {
	out, err := Render(Spec{DefaultAction: DefaultBlock, Rules: []Rule{{Name: "ssh", Protocol: TCP, Ports: []string{"22"}, Subnets: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Action: Accept}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"table inet netprim {", "policy drop;", `ip saddr 192.0.2.0/24 tcp dport 22 counter accept comment "ssh/ip #`, `counter comment "default #`} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckOwnerFlushedTable: a table of ours whose rules were flushed
// (chains and sets kept) is still ours; with a rule someone else added to
// the emptied chain it is not.
func TestCheckOwnerFlushedTable(t *testing.T) {
	p := compile(func() Spec { s := specBlock(); s.Normalize(); return s }())
	o := observed{Table: true, Chain: &obsChain{Base: true, Hook: chainHookInput, Type: "filter", Policy: DefaultBlock}}
	for _, st := range p.Sets {
		o.Sets = append(o.Sets, obsSet{Name: st.Name, KeyType: st.Kind.nftType(), Interval: st.Kind.interval(), Elems: st.Elems})
	}
	if err := checkOwner("fw", o, false); err != nil {
		t.Errorf("flushed table refused: %v", err)
	}
	foreign := o
	foreign.Rules = []obsRule{{Handle: 9}}
	foreign.setIndex = nil
	if err := checkOwner("fw", foreign, false); !errors.Is(err, netprim.ErrConflict) {
		t.Errorf("flushed table with a foreign rule: %v, want ErrConflict", err)
	}
	noSets := observed{Table: true, Chain: o.Chain}
	noSets.Sets = []obsSet{{Name: "safety_icmp", KeyType: "ipv4_addr"}, {Name: "safety_icmpv6", KeyType: setICMPv6Type.nftType()}}
	if err := checkOwner("fw", noSets, false); !errors.Is(err, netprim.ErrConflict) {
		t.Errorf("empty chain with a look-alike set: %v, want ErrConflict", err)
	}
}
