package link

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

// lnk builds an observed link for planner tests.
func lnk(index int, name, kind string, mod ...func(*observed)) *observed {
	o := &observed{Status: Status{
		Index: index, Name: name, Kind: kind, MTU: 1500, TxQueueLen: 1000,
		HardwareAddr: "02:00:00:00:00:01", ParentNetnsID: -1,
	}}
	for _, m := range mod {
		m(o)
	}
	return o
}

func owned(o *observed) { o.AltNames = append(o.AltNames, Marker(netprim.DefaultOwner(), o.Name)) }
func isUp(o *observed)  { o.Up = true }
func peer(p string) func(*observed) {
	return func(o *observed) { o.Peer, o.peer = p, p }
}
func master(m string) func(*observed) { return func(o *observed) { o.Master = m } }

func planLines(t *testing.T, want []Spec, links []*observed, opts ...netprim.Option) ([]string, []string, error) {
	t.Helper()
	o := netprim.Resolve(opts...)
	want, err := prepare(want, o)
	if err != nil {
		return nil, nil, err
	}
	p := &planner{owner: o.Owner, prune: o.Prune, scope: defaultScope}
	plan, err := p.planAll(want, newState(links))
	var lines []string
	for _, c := range plan.Changes {
		lines = append(lines, c.String())
	}
	return lines, plan.Warnings, err
}

func TestPlanChanges(t *testing.T) {
	br0 := lnk(10, "br0", "bridge", isUp)
	bond0 := lnk(11, "bond0", "bond")
	for _, tc := range []struct {
		name  string
		want  []Spec
		links []*observed
		opts  []netprim.Option
		lines []string
		warns []string
	}{
		{"nothing to do", []Spec{{Name: "eth0", MTU: 1500, Up: new(true), HardwareAddr: "02:00:00:00:00:01",
			Alias: new(""), TxQueueLen: 1000, Master: new("")}},
			[]*observed{lnk(2, "eth0", "", isUp)}, nil, nil, nil},
		{"mtu", []Spec{{Name: "veth0", MTU: 1400}}, []*observed{lnk(2, "veth0", "veth")}, nil,
			[]string{"~ link veth0 mtu 1500 -> 1400"}, nil},
		{"every attribute in order", []Spec{{Name: "eth0", MTU: 9000, Up: new(true), HardwareAddr: "02:00:00:00:00:02",
			Alias: new("uplink"), TxQueueLen: 500, Master: new("br0")}},
			[]*observed{lnk(2, "eth0", ""), br0}, nil,
			[]string{
				"~ link eth0 mtu 1500 -> 9000",
				"~ link eth0 hardwareAddr 02:00:00:00:00:01 -> 02:00:00:00:00:02",
				"~ link eth0 txQueueLen 1000 -> 500",
				"~ link eth0 alias none -> uplink",
				"~ link eth0 master none -> br0",
				"~ link eth0 up false -> true",
			}, nil},
		{"down first", []Spec{{Name: "eth0", Up: new(false), MTU: 1400, Alias: new("")}},
			[]*observed{lnk(2, "eth0", "", isUp, func(o *observed) { o.Alias = "old" })}, nil,
			[]string{"~ link eth0 up true -> false", "~ link eth0 mtu 1500 -> 1400", "~ link eth0 alias old -> none"}, nil},
		{"release from master", []Spec{{Name: "eth0", Master: new("")}}, []*observed{lnk(2, "eth0", "", master("br0")), br0}, nil,
			[]string{"~ link eth0 master br0 -> none"}, nil},
		{"master unmanaged", []Spec{{Name: "eth0"}}, []*observed{lnk(2, "eth0", "", master("br0")), br0}, nil, nil, nil},
		{"bond port enslaved down", []Spec{{Name: "eth0", Master: new("bond0")}}, []*observed{lnk(2, "eth0", "", isUp), bond0}, nil,
			[]string{"~ link eth0 up true -> false (enslaved to bond bond0 while down)", "~ link eth0 master none -> bond0", "~ link eth0 up false -> true"}, nil},
		{"bond port kept down", []Spec{{Name: "eth0", Master: new("bond0"), Up: new(false)}}, []*observed{lnk(2, "eth0", "", isUp), bond0}, nil,
			[]string{"~ link eth0 up true -> false", "~ link eth0 master none -> bond0"}, nil},
		{"create veth", []Spec{{Name: "veth1", Kind: "veth", Veth: &Veth{Peer: "veth2"}}}, nil, nil,
			[]string{"+ link veth1 (veth peer veth2)"}, nil},
		{"create with attributes", []Spec{{Name: "veth1", Veth: &Veth{Peer: "veth2"}, MTU: 1400, Up: new(true),
			HardwareAddr: "02:00:00:00:00:09", TxQueueLen: 10, Alias: new("a")}}, nil, nil,
			[]string{"+ link veth1 (veth peer veth2, mtu 1400, hardwareAddr 02:00:00:00:00:09, txQueueLen 10, up)",
				"~ link veth1 alias none -> a"}, nil},
		{"create port: master before up", []Spec{{Name: "v1", Veth: &Veth{Peer: "v2"}, Up: new(true), Master: new("br0")}},
			[]*observed{br0}, nil,
			[]string{"+ link v1 (veth peer v2)", "~ link v1 master none -> br0", "~ link v1 up false -> true"}, nil},
		{"create in other netns", []Spec{{Name: "v1", Veth: &Veth{Peer: "v1", PeerNetns: "blue"}}}, nil, nil,
			[]string{"+ link v1 (veth peer v1 netns blue)"}, nil},
		{"create dummy", []Spec{{Name: "d0", Kind: "dummy"}}, nil, nil, []string{"+ link d0 (dummy)"}, nil},
		{"peer of created veth managed", []Spec{{Name: "v1", Veth: &Veth{Peer: "v2"}}, {Name: "v2", MTU: 1400, Up: new(true)}}, nil, nil,
			[]string{"+ link v1 (veth peer v2)", "~ link v2 mtu none -> 1400", "~ link v2 up false -> true"}, nil},
		{"master created by the same plan", []Spec{
			{Name: "b0", Kind: "bridge", Settings: fakeSettings{kind: "bridge"}, Up: new(true)},
			{Name: "eth0", Master: new("b0")},
		}, []*observed{lnk(2, "eth0", "")}, nil,
			[]string{"+ link b0 (bridge fake, up)", "~ link eth0 master none -> b0"}, nil},
		{"existing veth, same peer", []Spec{{Name: "v1", Veth: &Veth{Peer: "v2"}}}, []*observed{lnk(2, "v1", "veth", peer("v2"))}, nil, nil, nil},
		{"foreign veth managed", []Spec{{Name: "v1", Veth: &Veth{Peer: "v2"}, MTU: 1400}}, []*observed{lnk(2, "v1", "veth", peer("v2"))}, nil,
			[]string{"~ link v1 mtu 1500 -> 1400"}, nil},
		{"owned veth, peer changed", []Spec{{Name: "v1", Veth: &Veth{Peer: "v3"}}}, []*observed{lnk(2, "v1", "veth", peer("v2"), owned)}, nil,
			[]string{"± link v1 (veth peer v2 -> v3; veth peer v3)"}, nil},
		{"owned link, kind changed", []Spec{{Name: "x", Kind: "dummy", Up: new(true)}}, []*observed{lnk(2, "x", "ifb", owned)}, nil,
			[]string{"± link x (kind ifb -> dummy; dummy, up)"}, nil},
		{"in-place kind changes", []Spec{{Name: "b0", Kind: "bond", Settings: fakeSettings{kind: "bond", changes: []linkkind.Change{
			{Field: "miimon", From: "0", To: "100"},
			{Field: "mode", From: "balance-rr", To: "802.3ad", Disruptive: true, Reason: "ports released"},
		}}}}, []*observed{lnk(2, "b0", "bond")}, nil,
			[]string{"~ link b0 miimon 0 -> 100", "~ link b0 mode balance-rr -> 802.3ad (ports released)"}, nil},
		{"prune owned only", []Spec{{Name: "eth0"}}, []*observed{
			lnk(2, "eth0", ""), lnk(3, "veth9", "veth", owned), lnk(4, "veth8", "veth"), lnk(5, "d0", "dummy", owned),
			lnk(6, "acme0", "dummy", func(o *observed) { o.AltNames = []string{"acme.acme0"} }),
		}, []netprim.Option{netprim.WithPrune()},
			[]string{"- link veth9", "- link d0"}, nil},
		{"no prune without the option", []Spec{{Name: "eth0"}}, []*observed{lnk(2, "eth0", ""), lnk(3, "veth9", "veth", owned)}, nil, nil, nil},
		{"prune with another owner", []Spec{}, []*observed{
			lnk(3, "veth9", "veth", owned),
			lnk(6, "acme0", "dummy", func(o *observed) { o.AltNames = []string{"acme.acme0"} }),
		}, []netprim.Option{netprim.WithPrune(), netprim.WithOwner(netprim.Owner{ID: 90, Name: "acme"})},
			[]string{"- link acme0"}, nil},
		{"prune leaves package kinds", nil, []*observed{lnk(3, "bond0", "bond", owned), lnk(4, "br1", "bridge", owned)},
			[]netprim.Option{netprim.WithPrune()}, nil, nil},
		{"prune alias fallback marker", nil, []*observed{lnk(3, "d1", "dummy", func(o *observed) { o.Alias = "netprim.d1" })},
			[]netprim.Option{netprim.WithPrune()}, []string{"- link d1"}, nil},
		{"prune keeps peer of wanted", []Spec{{Name: "v2", MTU: 1500}}, []*observed{
			lnk(3, "v1", "veth", owned, peer("v2")), lnk(4, "v2", "veth", peer("v1")),
		}, []netprim.Option{netprim.WithPrune()}, nil,
			[]string{"owned link v1 is not wanted but is kept: it is the veth peer of wanted link v2"}},
		{"prune pair once", nil, []*observed{lnk(3, "v1", "veth", owned, peer("v2")), lnk(4, "v2", "veth", owned, peer("v1"))},
			[]netprim.Option{netprim.WithPrune()}, []string{"- link v1"}, nil},
		{"add before delete", []Spec{{Name: "new0", Kind: "dummy"}}, []*observed{lnk(3, "old0", "dummy", owned)},
			[]netprim.Option{netprim.WithPrune()}, []string{"+ link new0 (dummy)", "- link old0"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, warns, err := planLines(t, tc.want, tc.links, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.lines, lines); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.warns, warns); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		want  []Spec
		links []*observed
		is    error
		msg   string
	}{
		{"missing link without kind", []Spec{{Name: "eth9", MTU: 1400}}, nil, netprim.ErrNotFound,
			"set link eth9: not found: it does not exist and has no kind, so it is not created"},
		{"missing master", []Spec{{Name: "eth0", Master: new("br9")}}, []*observed{lnk(2, "eth0", "")}, netprim.ErrNotFound,
			"set link eth0: master: not found: link br9 does not exist"},
		{"foreign link of another kind", []Spec{{Name: "x", Kind: "dummy"}}, []*observed{lnk(2, "x", "veth")}, nil,
			"create link x: exists as kind veth and is not owned by netprim (no marker netprim.x): not replacing it"},
		{"foreign veth with another peer", []Spec{{Name: "v1", Veth: &Veth{Peer: "v3"}}}, []*observed{lnk(2, "v1", "veth", peer("v2"))}, nil,
			"recreate link v1: needs recreating (veth peer v2 -> v3) but is not owned by netprim"},
		{"alias holds fallback marker", []Spec{{Name: "d1", Kind: "dummy", Alias: new("mine")}},
			[]*observed{lnk(2, "d1", "dummy", func(o *observed) { o.Alias = "netprim.d1" })}, nil,
			"set link d1: alias: the alias holds the ownership marker netprim.d1"},
		{"invalid spec", []Spec{{Name: "x", MTU: 1}}, nil, netprim.ErrInvalidSpec, "link: spec[0].mtu: 1 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, _, err := planLines(t, tc.want, tc.links)
			if err == nil {
				t.Fatalf("no error; plan %q", lines)
			}
			if lines != nil {
				t.Errorf("plan %q returned for a link that cannot be planned", lines)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestPlanIndependentErrorsJoined(t *testing.T) {
	lines, _, err := planLines(t, []Spec{{Name: "a", MTU: 1400}, {Name: "eth0", MTU: 1400}, {Name: "b"}}, []*observed{lnk(2, "eth0", "")})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "link a") || !strings.Contains(msg, "link b") || strings.Contains(msg, "eth0") {
		t.Errorf("error %q: want errors for a and b only", msg)
	}
	if d := cmp.Diff([]string{"~ link eth0 mtu 1500 -> 1400"}, lines); d != "" {
		t.Errorf("plan of the links that can be planned (-want +got):\n%s", d)
	}
}

// TestPlanPartialFailure: a link that cannot be planned does not hide the
// changes of the others, the way Apply makes them anyway.
func TestPlanPartialFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		want  []Spec
		links []*observed
		opts  []netprim.Option
		lines []string
		errs  []string // one per failed link, in the order of want
		is    error
	}{
		{"missing link before an existing one",
			[]Spec{{Name: "nope0", MTU: 1400}, {Name: "veth1", MTU: 1300}},
			[]*observed{lnk(2, "veth1", "veth", peer("veth2")), lnk(3, "veth2", "veth", peer("veth1"))}, nil,
			[]string{"~ link veth1 mtu 1500 -> 1300"},
			[]string{"set link nope0: not found: it does not exist and has no kind, so it is not created"},
			netprim.ErrNotFound},
		{"missing master, creation and prune go on",
			[]Spec{{Name: "eth0", Master: new("br9"), MTU: 9000}, {Name: "d0", Kind: "dummy", Up: new(true)}},
			[]*observed{lnk(2, "eth0", ""), lnk(3, "old0", "dummy", owned)}, []netprim.Option{netprim.WithPrune()},
			[]string{"+ link d0 (dummy, up)", "- link old0"},
			[]string{"set link eth0: master: not found: link br9 does not exist"},
			netprim.ErrNotFound},
		{"foreign link of another kind",
			[]Spec{{Name: "x", Kind: "dummy", MTU: 1400}, {Name: "eth0", Up: new(true)}},
			[]*observed{lnk(2, "x", "veth"), lnk(3, "eth0", "")}, nil,
			[]string{"~ link eth0 up false -> true"},
			[]string{"create link x: exists as kind veth and is not owned by netprim"},
			nil},
		{"two failures joined in the order of want",
			[]Spec{{Name: "b9", Alias: new("b")}, {Name: "eth0", TxQueueLen: 10}, {Name: "a9", Alias: new("a")}},
			[]*observed{lnk(2, "eth0", "")}, nil,
			[]string{"~ link eth0 txQueueLen 1000 -> 10"},
			[]string{"set link b9: not found", "set link a9: not found"},
			netprim.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, _, err := planLines(t, tc.want, tc.links, tc.opts...)
			if d := cmp.Diff(tc.lines, lines); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != len(tc.errs) {
				t.Fatalf("errors %q, want %d", msgs, len(tc.errs))
			}
			for i, m := range tc.errs {
				if !strings.HasPrefix(msgs[i], m) {
					t.Errorf("error %d %q, want prefix %q", i, msgs[i], m)
				}
			}
		})
	}
}

func TestPlanBadOwner(t *testing.T) {
	_, _, err := planLines(t, nil, nil, netprim.WithOwner(netprim.Owner{ID: 90, Name: "my owner"}))
	if !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), "owner name") {
		t.Fatalf("error %v, want invalid owner name", err)
	}
}

func TestPrepareDoesNotModifyInput(t *testing.T) {
	in := []Spec{{Name: " x ", HardwareAddr: "02:AA:00:00:00:01", Veth: &Veth{Peer: " y "}}}
	orig := Spec{Name: " x ", HardwareAddr: "02:AA:00:00:00:01", Veth: &Veth{Peer: " y "}}
	if _, err := prepare(in, netprim.Resolve()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(orig, in[0]); d != "" {
		t.Errorf("input changed:\n%s", d)
	}
}
