package vlan

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
	"github.com/netprim/netprim/selector"
)

func TestNormalize(t *testing.T) {
	s := Spec{Parent: " eth0 ", ID: 100, Protocol: "802.1AD", IngressQoS: map[uint32]uint32{1: 0, 2: 3}, EgressQoS: map[uint32]uint32{}}
	s.Normalize()
	want := Spec{Name: "eth0.100", Parent: "eth0", ID: 100, Protocol: Protocol8021AD,
		IngressQoS: map[uint32]uint32{2: 3}, EgressQoS: map[uint32]uint32{}}
	if d := cmp.Diff(want, s); d != "" {
		t.Fatalf("Normalize (-want +got):\n%s", d)
	}
	s = Spec{Name: "v", Parent: "eth0", ID: 5}
	s.Normalize()
	if s.Name != "v" || s.Protocol != Protocol8021Q || s.IngressQoS != nil {
		t.Fatalf("Normalize kept name/defaults wrong: %+v", s)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		err  string // "" valid
	}{
		{"ok", Spec{Parent: "eth0", ID: 1}, ""},
		{"max id", Spec{Parent: "eth0", ID: 4094, Protocol: "802.1ad"}, ""},
		{"id 0", Spec{Parent: "eth0", ID: 0, Name: "v0"}, "vlan: spec[0].id: 0 out of range 1..4094"},
		{"id 4095", Spec{Parent: "eth0", ID: 4095}, "vlan: spec[0].id: 4095 out of range 1..4094"},
		{"no parent", Spec{ID: 4, Name: "v4"}, "vlan: spec[0].parent: empty: set parent or parentSelector"},
		{"parent selector", Spec{ParentSelector: &selector.Selector{Driver: "dummy"}, ID: 4}, ""},
		{"parent selector and name", Spec{ParentSelector: &selector.Selector{HardwareAddr: "*:01"}, ID: 4, Name: "v4"}, ""},
		{"parent and selector", Spec{Parent: "eth0", ParentSelector: &selector.Selector{Driver: "dummy"}, ID: 4},
			"vlan: spec[0].parentSelector: set together with parent eth0: give one of them"},
		{"empty selector", Spec{ParentSelector: &selector.Selector{}, ID: 4},
			"vlan: spec[0].parentSelector: selector: no field set"},
		{"bad selector", Spec{ParentSelector: &selector.Selector{BusPath: "00:["}, ID: 4},
			`vlan: spec[0].parentSelector: selector: busPath: bad pattern "00:["`},
		{"selector bad id", Spec{ParentSelector: &selector.Selector{Driver: "dummy"}, ID: 0},
			"vlan: spec[0].id: 0 out of range 1..4094"},
		{"selector bad name", Spec{ParentSelector: &selector.Selector{Driver: "dummy"}, ID: 3, Name: "a:b"},
			`vlan: spec[0].name: "a:b" contains ':'`},
		{"bad parent", Spec{Parent: "a/b", ID: 4, Name: "v4"}, `vlan: spec[0].parent: "a/b" contains '/'`},
		{"default name too long", Spec{Parent: "enp0s31f6abcd", ID: 100},
			`vlan: spec[0].name: the default name "enp0s31f6abcd.100" is 17 bytes, longer than 15: set name`},
		{"explicit name too long", Spec{Parent: "eth0", ID: 100, Name: "averyveryverylongname"},
			`vlan: spec[0].name: "averyveryverylongname" is 21 bytes, longer than 15`},
		{"name is parent", Spec{Parent: "eth0", ID: 100, Name: "eth0"}, "vlan: spec[0].name: eth0 is also the parent"},
		{"protocol", Spec{Parent: "eth0", ID: 100, Protocol: "802.1x"}, `vlan: spec[0].protocol: "802.1x" is neither 802.1Q nor 802.1ad`},
		{"mtu", Spec{Parent: "eth0", ID: 100, MTU: 20}, "vlan: spec[0].mtu: 20 out of range 68..65535"},
		{"ingress", Spec{Parent: "eth0", ID: 100, IngressQoS: map[uint32]uint32{8: 1}}, "vlan: spec[0].ingressQoS: priority 8 out of range 0..7"},
		{"egress", Spec{Parent: "eth0", ID: 100, EgressQoS: map[uint32]uint32{3: 9}}, "vlan: spec[0].egressQoS: 3 maps to priority 9, out of range 0..7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Normalize()
			err := Validate([]Spec{s})
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.HasPrefix(err.Error(), tc.err) {
				t.Fatalf("Validate = %v, want prefix %q wrapping ErrInvalidSpec", err, tc.err)
			}
		})
	}
}

func TestValidateDuplicate(t *testing.T) {
	a := Spec{Parent: "eth0", ID: 7}
	b := Spec{Parent: "eth1", ID: 7, Name: "eth0.7"}
	a.Normalize()
	b.Normalize()
	err := Validate([]Spec{a, b})
	if err == nil || err.Error() != "vlan: spec[1].name: eth0.7 is also spec[0]: invalid spec" {
		t.Fatalf("Validate = %v", err)
	}
}

// Specs whose names come from parent selectors are not duplicates before
// the selectors are resolved.
func TestValidateSelectorsUnnamed(t *testing.T) {
	want := []Spec{
		{ParentSelector: &selector.Selector{Driver: "dummy"}, ID: 7},
		{ParentSelector: &selector.Selector{Driver: "e1000e"}, ID: 7},
	}
	for i := range want {
		want[i].Normalize()
		if want[i].Name != "" {
			t.Fatalf("Normalize named a VLAN whose parent is not known: %+v", want[i])
		}
	}
	if err := Validate(want); err != nil {
		t.Fatal(err)
	}
}

func TestDiff(t *testing.T) {
	names := map[int]string{2: "eth0", 3: "eth1"}
	have := func(id, parent int, proto netlink.VlanProtocol, in, eg map[uint32]uint32) linkkind.Observed {
		a := netlink.NewLinkAttrs()
		a.Name, a.Index, a.ParentIndex, a.NetNsID = "v", 9, parent, -1
		return linkkind.Observed{Link: &netlink.Vlan{LinkAttrs: a, VlanId: id, VlanProtocol: proto,
			IngressQosMap: in, EgressQosMap: eg}, Names: names}
	}
	spec := func(s Spec) settings { s.Normalize(); return settings{s: s, parentIndex: 2} }
	base := Spec{Name: "v", Parent: "eth0", ID: 10}
	for _, tc := range []struct {
		name     string
		want     Spec
		have     linkkind.Observed
		recreate string
		changes  []string
	}{
		{"same", base, have(10, 2, netlink.VLAN_PROTOCOL_8021Q, nil, nil), "", nil},
		{"id", base, have(11, 2, netlink.VLAN_PROTOCOL_8021Q, nil, nil), "vlan id 11 -> 10", nil},
		{"parent", base, have(10, 3, netlink.VLAN_PROTOCOL_8021Q, nil, nil), "parent eth1 -> eth0", nil},
		{"parent gone", base, have(10, 7, netlink.VLAN_PROTOCOL_8021Q, nil, nil), "parent index 7 -> eth0", nil},
		{"protocol", base, have(10, 2, netlink.VLAN_PROTOCOL_8021AD, nil, nil), "protocol 802.1ad -> 802.1Q", nil},
		{"qos unmanaged", base, have(10, 2, netlink.VLAN_PROTOCOL_8021Q, map[uint32]uint32{1: 2}, map[uint32]uint32{3: 4}), "", nil},
		{"qos", Spec{Name: "v", Parent: "eth0", ID: 10, IngressQoS: map[uint32]uint32{1: 5}, EgressQoS: map[uint32]uint32{}},
			have(10, 2, netlink.VLAN_PROTOCOL_8021Q, map[uint32]uint32{1: 2, 2: 0}, map[uint32]uint32{3: 4}), "",
			[]string{"ingressQoS 1:2 -> 1:5", "egressQoS 3:4 -> none"}},
		{"qos equal", Spec{Name: "v", Parent: "eth0", ID: 10, IngressQoS: map[uint32]uint32{1: 2}},
			have(10, 2, netlink.VLAN_PROTOCOL_8021Q, map[uint32]uint32{0: 0, 1: 2}, nil), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recreate, changes := spec(tc.want).Diff(tc.have)
			var got []string
			for _, c := range changes {
				got = append(got, c.Field+" "+c.From+" -> "+c.To)
			}
			if recreate != tc.recreate {
				t.Errorf("recreate = %q, want %q", recreate, tc.recreate)
			}
			if d := cmp.Diff(tc.changes, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestQoSUpdate(t *testing.T) {
	got := qosUpdate(map[uint32]uint32{1: 2, 3: 4, 5: 0}, map[uint32]uint32{1: 6})
	if d := cmp.Diff(map[uint32]uint32{1: 6, 3: 0}, got); d != "" {
		t.Fatalf("qosUpdate (-want +got):\n%s", d)
	}
}
