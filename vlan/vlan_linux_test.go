package vlan_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/applytest"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
)

// ipLink is what "ip -j -d link show" reports about a VLAN link.
type ipLink struct {
	Index    int      `json:"ifindex"`
	Name     string   `json:"ifname"`
	Link     string   `json:"link"`
	MTU      int      `json:"mtu"`
	Flags    []string `json:"flags"`
	AltNames []string `json:"altnames"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
		Data struct {
			Protocol string   `json:"protocol"`
			ID       int      `json:"id"`
			Ingress  []qosMap `json:"ingress_qos"`
			Egress   []qosMap `json:"egress_qos"`
		} `json:"info_data"`
	} `json:"linkinfo"`
}

type qosMap struct {
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
}

func (l ipLink) up() bool {
	for _, f := range l.Flags {
		if f == "UP" {
			return true
		}
	}
	return false
}

func qos(m []qosMap) map[uint32]uint32 {
	out := map[uint32]uint32{}
	for _, e := range m {
		if e.To != 0 {
			out[e.From] = e.To
		}
	}
	return out
}

// ipShow reads one link with "ip -j -d link show".
func ipShow(t *testing.T, n *nstest.NS, name string) ipLink {
	t.Helper()
	var ls []ipLink
	n.IPJSON(t, &ls, "-d", "link", "show", "dev", name)
	if len(ls) != 1 {
		t.Fatalf("ip link show %s: %d links", name, len(ls))
	}
	return ls[0]
}

// setup makes a namespace with dummy parents eth0 and eth1 (kernel tier).
func setup(t *testing.T) *nstest.NS {
	t.Helper()
	nstest.RequireModules(t, "8021q", "dummy")
	n := nstest.New(t)
	for _, p := range []string{"eth0", "eth1"} {
		n.Run(t, "ip", "link", "add", p, "mtu", "9000", "type", "dummy")
		n.Run(t, "ip", "link", "set", p, "up")
	}
	return n
}

func ptr[T any](v T) *T { return &v }

func apply(t *testing.T, n *nstest.NS, want []vlan.Spec, opts ...netprim.Option) (netprim.Plan, int64) {
	t.Helper()
	return applytest.Apply(t, n.Namespace, vlan.Apply, want, opts...)
}

// idempotent checks that Plan is empty and a second Apply writes nothing.
func idempotent(t *testing.T, n *nstest.NS, want []vlan.Spec, opts ...netprim.Option) {
	t.Helper()
	applytest.Idempotent(t, n.Namespace, vlan.Plan, vlan.Apply, want, opts...)
}

// TestRoundTrip applies every Spec field and checks it with ip and List.
func TestRoundTrip(t *testing.T) {
	n := setup(t)
	want := []vlan.Spec{
		{Parent: "eth0", ID: 100, MTU: 1400, Up: ptr(true),
			IngressQoS: map[uint32]uint32{1: 2, 7: 9}, EgressQoS: map[uint32]uint32{3: 4, 100: 7}},
		{Name: "qinq", Parent: "eth1", ID: 4094, Protocol: "802.1ad", Up: ptr(false)},
		{Parent: "eth1", ID: 1, IngressQoS: map[uint32]uint32{}},
	}
	p, writes := apply(t, n, want)
	if len(p.Changes) != 3 || writes != 6 { // add + marker per link
		t.Fatalf("Apply: %d writes, plan:\n%v", writes, p)
	}
	type fields struct {
		Parent, Protocol string
		ID, MTU          int
		Up               bool
		In, Eg           map[uint32]uint32
		Marker           string
	}
	wantF := map[string]fields{
		"eth0.100": {"eth0", "802.1Q", 100, 1400, true, map[uint32]uint32{1: 2, 7: 9}, map[uint32]uint32{3: 4, 100: 7}, "netprim.eth0.100"},
		"qinq":     {"eth1", "802.1ad", 4094, 9000, false, map[uint32]uint32{}, map[uint32]uint32{}, "netprim.qinq"},
		"eth1.1":   {"eth1", "802.1Q", 1, 9000, false, map[uint32]uint32{}, map[uint32]uint32{}, "netprim.eth1.1"},
	}
	for name, w := range wantF {
		l := ipShow(t, n, name)
		d := l.LinkInfo.Data
		marker := ""
		if len(l.AltNames) > 0 {
			marker = l.AltNames[0]
		}
		got := fields{l.Link, d.Protocol, d.ID, l.MTU, l.up(), qos(d.Ingress), qos(d.Egress), marker}
		if l.LinkInfo.Kind != "vlan" {
			t.Errorf("%s: kind %q", name, l.LinkInfo.Kind)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("ip -d link show %s (-want +got):\n%s", name, diff)
		}
	}
	st, err := vlan.List(context.Background(), n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 {
		t.Fatalf("List: %d links: %+v", len(st), st)
	}
	for _, s := range st {
		w := wantF[s.Name]
		got := fields{s.Parent, s.Protocol, s.ID, s.MTU, s.Up, s.IngressQoS, s.EgressQoS, s.AltNames[0]}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("List %s (-want +got):\n%s", s.Name, diff)
		}
		if ipShow(t, n, s.Name).Index != s.Index {
			t.Errorf("List %s: index %d", s.Name, s.Index)
		}
	}
	idempotent(t, n, want)
	// The statuses as specs apply with no change.
	var again []vlan.Spec
	for _, s := range st {
		again = append(again, s.Spec())
	}
	idempotent(t, n, again)
}

// TestInPlace changes QoS maps, MTU and up state without recreating.
func TestInPlace(t *testing.T) {
	n := setup(t)
	want := []vlan.Spec{{Parent: "eth0", ID: 10, IngressQoS: map[uint32]uint32{1: 2}, EgressQoS: map[uint32]uint32{5: 6}}}
	apply(t, n, want)
	before := ipShow(t, n, "eth0.10").Index
	want[0].IngressQoS = map[uint32]uint32{3: 4}
	want[0].EgressQoS = map[uint32]uint32{}
	want[0].MTU = 1300
	want[0].Up = ptr(true)
	plan, err := vlan.Plan(context.Background(), n.Namespace, want)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := "~ link eth0.10 ingressQoS 1:2 -> 3:4\n~ link eth0.10 egressQoS 5:6 -> none\n~ link eth0.10 mtu 9000 -> 1300\n~ link eth0.10 up false -> true"
	if got := plan.String(); got != wantPlan {
		t.Fatalf("Plan:\n%s\nwant:\n%s", got, wantPlan)
	}
	p, writes := apply(t, n, want)
	if writes != 4 || p.String() != wantPlan {
		t.Fatalf("Apply: %d writes, plan:\n%v", writes, p)
	}
	l := ipShow(t, n, "eth0.10")
	if l.Index != before || l.MTU != 1300 || !l.up() ||
		!cmp.Equal(qos(l.LinkInfo.Data.Ingress), map[uint32]uint32{3: 4}) || len(qos(l.LinkInfo.Data.Egress)) != 0 {
		t.Fatalf("after in-place change: %+v (index before %d)", l, before)
	}
	idempotent(t, n, want)
}

// TestRecreate changes id, parent and protocol: recreated, shown so.
func TestRecreate(t *testing.T) {
	n := setup(t)
	want := []vlan.Spec{{Name: "v", Parent: "eth0", ID: 10, Up: ptr(true)}}
	apply(t, n, want)
	for _, tc := range []struct {
		change func(*vlan.Spec)
		reason string
		id     int
		parent string
		proto  string
	}{
		{func(s *vlan.Spec) { s.ID = 11 }, "vlan id 10 -> 11", 11, "eth0", "802.1Q"},
		{func(s *vlan.Spec) { s.Parent = "eth1" }, "parent eth0 -> eth1", 11, "eth1", "802.1Q"},
		{func(s *vlan.Spec) { s.Protocol = "802.1ad" }, "protocol 802.1Q -> 802.1ad", 11, "eth1", "802.1ad"},
	} {
		tc.change(&want[0])
		plan, err := vlan.Plan(context.Background(), n.Namespace, want)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Changes) != 1 || plan.Changes[0].Action != netprim.Recreate || !plan.Changes[0].Disruptive ||
			!containsStr(plan.Changes[0].Reason, tc.reason) {
			t.Fatalf("Plan: %+v, want a disruptive recreate for %q", plan.Changes, tc.reason)
		}
		p, _ := apply(t, n, want)
		if p.String() != plan.String() {
			t.Fatalf("Apply did\n%v\nPlan said\n%v", p, plan)
		}
		l := ipShow(t, n, "v")
		if l.LinkInfo.Data.ID != tc.id || l.Link != tc.parent || l.LinkInfo.Data.Protocol != tc.proto || !l.up() {
			t.Fatalf("after %s: %+v", tc.reason, l)
		}
		idempotent(t, n, want)
	}
}

// TestDefaultNameRecreate changes the id of a VLAN with the default name:
// the new link is added before the old one is pruned.
func TestDefaultNameRecreate(t *testing.T) {
	n := setup(t)
	apply(t, n, []vlan.Spec{{Parent: "eth0", ID: 10}}, netprim.WithPrune())
	want := []vlan.Spec{{Parent: "eth0", ID: 20}}
	p, _ := apply(t, n, want, netprim.WithPrune())
	if got := p.String(); got != "+ link eth0.20 (vlan 802.1Q id 20 on eth0)\n- link eth0.10" {
		t.Fatalf("Apply:\n%s", got)
	}
	if n.HasLink(t, "eth0.10") || !n.HasLink(t, "eth0.20") {
		t.Fatal("eth0.10 not replaced by eth0.20")
	}
	idempotent(t, n, want, netprim.WithPrune())
}

// TestPrune deletes only owned VLANs: not foreign ones, not other kinds.
func TestPrune(t *testing.T) {
	n := setup(t)
	n.Run(t, "ip", "link", "add", "link", "eth0", "name", "foreign", "type", "vlan", "id", "5")
	if _, err := link.Apply(context.Background(), n.Namespace, []link.Spec{{Name: "d0", Kind: "dummy"}}); err != nil {
		t.Fatal(err)
	}
	apply(t, n, []vlan.Spec{{Parent: "eth0", ID: 6}, {Parent: "eth0", ID: 7}})
	p, _ := apply(t, n, []vlan.Spec{{Parent: "eth0", ID: 7}}, netprim.WithPrune())
	if p.String() != "- link eth0.6" {
		t.Fatalf("prune:\n%v", p)
	}
	for name, want := range map[string]bool{"foreign": true, "d0": true, "eth0.6": false, "eth0.7": true} {
		if n.HasLink(t, name) != want {
			t.Errorf("%s exists = %v, want %v", name, !want, want)
		}
	}
	// A foreign VLAN in want is managed, never recreated.
	_, err := vlan.Apply(context.Background(), n.Namespace, []vlan.Spec{{Name: "foreign", Parent: "eth0", ID: 8}})
	if err == nil || !containsStr(err.Error(), "not owned") {
		t.Fatalf("recreating a foreign VLAN: %v", err)
	}
	if ipShow(t, n, "foreign").LinkInfo.Data.ID != 5 {
		t.Fatal("foreign VLAN changed")
	}
}

// TestBadInput: invalid specs and a missing parent give clear errors and
// leave the kernel as it was.
func TestBadInput(t *testing.T) {
	n := setup(t)
	before := n.Run(t, "ip", "-d", "link", "show")
	for _, s := range []vlan.Spec{
		{Parent: "eth0", ID: 0, Name: "v0"},
		{Parent: "eth0", ID: 4095},
		{Parent: "eth0", ID: 5, Protocol: "802.1x"},
	} {
		_, err := vlan.Apply(context.Background(), n.Namespace, []vlan.Spec{{Parent: "eth1", ID: 3}, s})
		if !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Fatalf("Apply %+v: %v, want ErrInvalidSpec", s, err)
		}
	}
	if after := n.Run(t, "ip", "-d", "link", "show"); string(after) != string(before) {
		t.Fatalf("invalid input changed the kernel:\n%s\n->\n%s", before, after)
	}
	// A missing parent fails that VLAN only.
	p, err := vlan.Apply(context.Background(), n.Namespace, []vlan.Spec{{Parent: "nope", ID: 3}, {Parent: "eth1", ID: 3}})
	if !errors.Is(err, netprim.ErrNotFound) || !containsStr(err.Error(), "spec[0].parent") {
		t.Fatalf("missing parent: %v", err)
	}
	if p.String() != "+ link eth1.3 (vlan 802.1Q id 3 on eth1)" || !n.HasLink(t, "eth1.3") {
		t.Fatalf("the good VLAN was not applied:\n%v", p)
	}
	// An MTU larger than the parent's is the kernel's error, for that link.
	n.Run(t, "ip", "link", "set", "eth0", "mtu", "1500")
	_, err = vlan.Apply(context.Background(), n.Namespace, []vlan.Spec{{Parent: "eth0", ID: 4, MTU: 1600}})
	if err == nil || !containsStr(err.Error(), "eth0.4") || n.HasLink(t, "eth0.4") {
		t.Fatalf("MTU above the parent's: %v", err)
	}
}

// TestOnBridge puts a VLAN on a bridge (the host kernel has bridges).
func TestOnBridge(t *testing.T) {
	nstest.RequireModules(t, "8021q")
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	want := []vlan.Spec{{Parent: "br0", ID: 30, Up: ptr(true)}}
	// A VLAN cannot come up while its parent is down.
	_, err := vlan.Apply(context.Background(), n.Namespace, want)
	if err == nil || !strings.Contains(err.Error(), "spec[0].up: parent br0 is down") || n.HasLink(t, "br0.30") {
		t.Fatalf("up VLAN on a down parent: %v", err)
	}
	n.Run(t, "ip", "link", "set", "br0", "up")
	apply(t, n, want)
	if l := ipShow(t, n, "br0.30"); l.Link != "br0" || l.LinkInfo.Data.ID != 30 {
		t.Fatalf("%+v", l)
	}
	idempotent(t, n, want)
}

func TestCancelled(t *testing.T) {
	n := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := vlan.Apply(ctx, n.Namespace, []vlan.Spec{{Parent: "eth0", ID: 3}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: %v", err)
	}
	if n.HasLink(t, "eth0.3") {
		t.Fatal("cancelled Apply created a link")
	}
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

// TestOnBond puts a VLAN on a bond (made with ip here; package bond
// manages bonds).
func TestOnBond(t *testing.T) {
	nstest.RequireModules(t, "8021q", "bonding", "dummy")
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "bond0", "type", "bond", "mode", "active-backup")
	n.Run(t, "ip", "link", "add", "d0", "type", "dummy")
	n.Run(t, "ip", "link", "set", "d0", "master", "bond0")
	n.Run(t, "ip", "link", "set", "bond0", "up")
	want := []vlan.Spec{{Parent: "bond0", ID: 100, Up: ptr(true)}}
	apply(t, n, want)
	if l := ipShow(t, n, "bond0.100"); l.Link != "bond0" || l.LinkInfo.Data.ID != 100 || !l.up() {
		t.Fatalf("%+v", l)
	}
	idempotent(t, n, want)
}

// setupMACs is setup with fixed addresses: eth0 02:00:00:00:aa:01 and
// eth1 02:00:00:00:aa:02.
func setupMACs(t *testing.T) *nstest.NS {
	t.Helper()
	n := setup(t)
	n.Run(t, "ip", "link", "set", "eth0", "address", "02:00:00:00:aa:01")
	n.Run(t, "ip", "link", "set", "eth1", "address", "02:00:00:00:aa:02")
	return n
}

// TestParentSelector creates VLANs whose parents are given by selector:
// by address alone (which the VLAN then shares with its parent) and by
// driver and an address pattern.
func TestParentSelector(t *testing.T) {
	n := setupMACs(t)
	want := []vlan.Spec{
		{ParentSelector: &selector.Selector{HardwareAddr: "02:00:00:00:AA:02"}, ID: 100, Up: ptr(true)},
		{Name: "svc", ParentSelector: &selector.Selector{Driver: "dummy", HardwareAddr: "*:aa:01"}, ID: 200},
	}
	plan, err := vlan.Plan(context.Background(), n.Namespace, want)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := "+ link eth1.100 (vlan 802.1Q id 100 on eth1, up)\n+ link svc (vlan 802.1Q id 200 on eth0)"
	if plan.String() != wantPlan {
		t.Fatalf("Plan:\n%v\nwant:\n%s", plan, wantPlan)
	}
	p, _ := apply(t, n, want)
	if p.String() != wantPlan {
		t.Fatalf("Apply:\n%v\nwant:\n%s", p, wantPlan)
	}
	for name, parent := range map[string]string{"eth1.100": "eth1", "svc": "eth0"} {
		l := ipShow(t, n, name)
		if l.Link != parent || l.LinkInfo.Kind != "vlan" {
			t.Errorf("ip -d link show %s: parent %q kind %q, want parent %s", name, l.Link, l.LinkInfo.Kind, parent)
		}
	}
	if l := ipShow(t, n, "eth1.100"); l.LinkInfo.Data.ID != 100 || !l.up() {
		t.Errorf("eth1.100: %+v", l)
	}
	// eth1.100 now has eth1's address too: still one match.
	idempotent(t, n, want)
}

// TestParentSelectorErrors: a selector that matches several links or none
// fails the call, naming the field, and changes nothing, not even the
// other specs or, with prune, owned VLANs.
func TestParentSelectorErrors(t *testing.T) {
	n := setupMACs(t)
	apply(t, n, []vlan.Spec{{Parent: "eth0", ID: 9}})
	before := n.Run(t, "ip", "-d", "link", "show")
	for _, tc := range []struct {
		sel     selector.Selector
		wantErr error
		text    string
	}{
		{selector.Selector{Driver: "dummy"}, selector.ErrAmbiguous, "eth0, eth1"},
		{selector.Selector{HardwareAddr: "02:00:00:00:aa:*"}, netprim.ErrInvalidSpec, "eth0, eth1"},
		{selector.Selector{HardwareAddr: "02:00:00:00:cc:*"}, netprim.ErrNotFound, "no device matches"},
		{selector.Selector{BusPath: "0000:[", Driver: "dummy"}, netprim.ErrInvalidSpec, "busPath"},
	} {
		want := []vlan.Spec{{Parent: "eth1", ID: 3}, {ParentSelector: &tc.sel, ID: 5}}
		_, errPlan := vlan.Plan(context.Background(), n.Namespace, want, netprim.WithPrune())
		p, err := vlan.Apply(context.Background(), n.Namespace, want, netprim.WithPrune())
		for _, e := range []error{errPlan, err} {
			if !errors.Is(e, tc.wantErr) || !strings.Contains(e.Error(), "vlan: spec[1].parentSelector: ") ||
				!strings.Contains(e.Error(), tc.text) {
				t.Errorf("%v: %v; want %v naming spec[1].parentSelector and %q", tc.sel, e, tc.wantErr, tc.text)
			}
		}
		if len(p.Changes) != 0 {
			t.Errorf("%v: Apply changed\n%v", tc.sel, p)
		}
	}
	if after := n.Run(t, "ip", "-d", "link", "show"); string(after) != string(before) {
		t.Fatalf("failed selectors changed the kernel:\n%s\n->\n%s", before, after)
	}
}
