package bridge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

func changes(ops []op) []string {
	var out []string
	for _, o := range ops {
		out = append(out, o.change.String())
	}
	return out
}

func TestPlanPortVLANs(t *testing.T) {
	const pu = flagPVID | flagUntagged
	for _, tc := range []struct {
		name       string
		want, have map[uint16]uint16
		plan       []string
	}{
		{"same", map[uint16]uint16{1: pu}, map[uint16]uint16{1: pu}, nil},
		{"range add, default removed", wantVLANs([]VLAN{{VID: 10, VIDEnd: 12}, {VID: 13, Untagged: true}, {VID: 20, PVID: true}}),
			map[uint16]uint16{1: pu},
			[]string{
				"+ bridge vlan vid 10-12 dev p master br",
				"+ bridge vlan vid 13 dev p master br untagged",
				"+ bridge vlan vid 20 dev p master br pvid",
				"- bridge vlan vid 1 dev p master br",
			}},
		{"flags changed; pvid never in a range", map[uint16]uint16{5: pu, 6: flagUntagged, 7: flagUntagged},
			map[uint16]uint16{5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 11: 0},
			[]string{
				"~ bridge vlan vid 5 dev p master br flags tagged -> pvid untagged",
				"~ bridge vlan vid 6-7 dev p master br flags tagged -> untagged",
				"- bridge vlan vid 8-9 dev p master br",
				"- bridge vlan vid 11 dev p master br",
			}},
		{"a range splits where additions meet changes", map[uint16]uint16{1: 0, 2: 0, 3: 0},
			map[uint16]uint16{2: flagUntagged},
			[]string{
				"+ bridge vlan vid 1 dev p master br",
				"~ bridge vlan vid 2 dev p master br flags untagged -> tagged",
				"+ bridge vlan vid 3 dev p master br",
			}},
		{"empty want removes all", map[uint16]uint16{}, map[uint16]uint16{1: pu, 2: 0},
			[]string{"- bridge vlan vid 1-2 dev p master br"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := changes(planPortVLANs("br", "p", tc.want, tc.have))
			if d := cmp.Diff(tc.plan, got); d != "" {
				t.Fatalf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func TestToVLANs(t *testing.T) {
	got := toVLANs(map[uint16]uint16{1: flagPVID | flagUntagged, 2: flagUntagged, 3: flagUntagged, 5: 0, 6: 0, 7: flagUntagged})
	want := []VLAN{{VID: 1, PVID: true, Untagged: true}, {VID: 2, VIDEnd: 3, Untagged: true}, {VID: 5, VIDEnd: 6}, {VID: 7, Untagged: true}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("toVLANs (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, toVLANs(wantVLANs(want))); d != "" {
		t.Fatalf("toVLANs(wantVLANs) (-want +got):\n%s", d)
	}
}

func TestPlanBridge(t *testing.T) {
	on := true
	base := defaults
	base.exists = true
	filtering := base
	filtering.vlanFiltering = true
	noVLAN := base
	noVLAN.vlanSupport = false
	pvid := func(v uint16) *uint16 { return &v }
	for _, tc := range []struct {
		name string
		spec Spec
		have bridgeState
		plan []string
		err  error
	}{
		{"defaults are no change", Spec{Name: "b", ForwardDelay: 15 * time.Second, HelloTime: 2 * time.Second,
			MaxAge: 20 * time.Second, AgeingTime: 300 * time.Second, Priority: pvid(0x8000), DefaultPVID: pvid(1)}, base, nil, nil},
		{"jiffies rounding is no change", Spec{Name: "b", ForwardDelay: 15010 * time.Millisecond}, base, nil, nil},
		{"stp on", Spec{Name: "b", STP: &on}, base, []string{"~ bridge b stp false -> true"}, nil},
		{"pvid with filtering off", Spec{Name: "b", DefaultPVID: pvid(9), VLANFiltering: &on}, base, []string{
			"~ bridge b defaultPVID 1 -> 9",
			"~ bridge b vlanFiltering false -> true",
		}, nil},
		{"pvid with filtering on", Spec{Name: "b", DefaultPVID: pvid(9)}, filtering, []string{
			"~ bridge b vlanFiltering true -> false (the kernel changes defaultPVID only with vlanFiltering off: VLAN filtering is off briefly)",
			"~ bridge b defaultPVID 1 -> 9 (the kernel changes defaultPVID only with vlanFiltering off: VLAN filtering is off briefly)",
			"~ bridge b vlanFiltering false -> true",
		}, nil},
		{"no VLAN filtering in the kernel", Spec{Name: "b", VLANFiltering: &on}, noVLAN, nil, netprim.ErrUnsupported},
		{"filtering off without kernel support is fine", Spec{Name: "b", VLANFiltering: new(false), DefaultPVID: pvid(1)}, noVLAN, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := tc.have
			ops, err := planBridge(&tc.spec, &have)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if d := cmp.Diff(tc.plan, changes(ops)); d != "" {
				t.Fatalf("plan (-want +got):\n%s", d)
			}
		})
	}
}

// TestPlanPredictsNewBridge: a bridge to be created is planned from the
// kernel's defaults, and its new ports from the default PVID.
func TestPlanPredictsNewBridge(t *testing.T) {
	snap := &snapshot{bridges: map[string]*bridgeState{}, links: map[string]*portState{
		"p0": {index: 2, mtu: 9000, vlans: map[uint16]uint16{}},
	}}
	want := []Spec{{Name: "br0", MTU: 1400, VLANFiltering: new(true), DefaultPVID: new(uint16(5)),
		Ports: []Port{{Name: "p0", VLANs: []VLAN{{VID: 5, PVID: true, Untagged: true}, {VID: 6}}}}}}
	failed := map[string]error{}
	got := changes(planOptions(want, snap, failed, true))
	plan := []string{
		"~ bridge br0 mtu 1500 -> 1400",
		"~ bridge br0 defaultPVID 1 -> 5",
		"~ bridge br0 vlanFiltering false -> true",
		"+ bridge vlan vid 6 dev p0 master br0",
	}
	if p0 := snap.links["p0"]; p0.master != "br0" || !cmp.Equal(p0.vlans, map[uint16]uint16{5: flagPVID | flagUntagged}) {
		t.Fatalf("p0 predicted as %+v", p0)
	}
	if d := cmp.Diff(plan, got); d != "" || len(failed) != 0 {
		t.Fatalf("plan (-want +got):\n%s\nfailed: %v", d, failed)
	}
	// Without prediction (Apply), a bridge that is missing is skipped.
	snap = &snapshot{bridges: map[string]*bridgeState{}, links: map[string]*portState{}}
	if ops := planOptions(want, snap, failed, false); len(ops) != 0 {
		t.Fatalf("planned a missing bridge: %v", ops)
	}
}

func TestValidVLANs(t *testing.T) {
	for _, tc := range []struct {
		vs  []VLAN
		err string
	}{
		{[]VLAN{{VID: 1, PVID: true}, {VID: 2, VIDEnd: 4094}}, ""},
		{[]VLAN{{VID: 0}}, "[0].vid: 0 out of range 1..4094"},
		{[]VLAN{{VID: 4095}}, "[0].vid: 4095 out of range 1..4094"},
		{[]VLAN{{VID: 10, VIDEnd: 5}}, "[0].vidEnd: 5 out of range 10..4094"},
		{[]VLAN{{VID: 10, VIDEnd: 20, PVID: true}}, "[0].pvid: a range 10-20 pvid cannot be the PVID"},
		{[]VLAN{{VID: 1, PVID: true}, {VID: 2, PVID: true}}, "[1].pvid: the PVID is already [0] (1)"},
		{[]VLAN{{VID: 10, VIDEnd: 20}, {VID: 15}}, "[1]: vid 15 is also in [0]"},
	} {
		err := validVLANs(tc.vs)
		if (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("validVLANs(%v) = %v, want %q", tc.vs, err, tc.err)
		}
	}
}

func TestNormalize(t *testing.T) {
	s := Spec{Name: " br0 ", Ports: []Port{{Name: " p0 ", VLANs: []VLAN{{VID: 3, VIDEnd: 3}}}}}
	s.Normalize()
	want := Spec{Name: "br0", Ports: []Port{{Name: "p0", VLANs: []VLAN{{VID: 3}}}}}
	if d := cmp.Diff(want, s); d != "" {
		t.Fatalf("Normalize (-want +got):\n%s", d)
	}
}

func TestPortEncoding(t *testing.T) {
	want := []Port{{Name: "eth0"}, {Name: "eth1", VLANs: []VLAN{{VID: 10, PVID: true, Untagged: true}}}}
	var fromYAML []Port
	if err := yaml.Unmarshal([]byte("- eth0\n- {name: eth1, vlans: [{vid: 10, pvid: true, untagged: true}]}\n"), &fromYAML); err != nil {
		t.Fatal(err)
	}
	var fromJSON []Port
	if err := json.Unmarshal([]byte(`["eth0", {"name": "eth1", "vlans": [{"vid": 10, "pvid": true, "untagged": true}]}]`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	for _, got := range [][]Port{fromYAML, fromJSON} {
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("decoded (-want +got):\n%s", d)
		}
	}
	j, _ := json.Marshal(want)
	if string(j) != `["eth0",{"name":"eth1","vlans":[{"vid":10,"pvid":true,"untagged":true}]}]` {
		t.Fatalf("json: %s", j)
	}
	y, _ := yaml.Marshal(want)
	var back []Port
	if err := yaml.Unmarshal(y, &back); err != nil || !cmp.Equal(want, back) || !strings.HasPrefix(string(y), "- eth0\n") {
		t.Fatalf("yaml round trip: %s -> %+v, %v", y, back, err)
	}
	var bad Port
	if err := yaml.Unmarshal([]byte("{name: eth0, vlan: []}"), &bad); err == nil || !strings.Contains(err.Error(), "field vlan not found") {
		t.Fatalf("unknown key in YAML: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"name": "eth0", "vlan": []}`), &bad); err == nil {
		t.Fatal("unknown key in JSON accepted")
	}
}
