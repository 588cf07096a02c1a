package link

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

func TestValidateKindParams(t *testing.T) {
	vx := func(v VXLAN) Spec { return Spec{Name: "vx0", VXLAN: &v} }
	for _, tc := range []struct {
		name string
		spec Spec
		want string // substring of the error; "" = valid
	}{
		{"vxlan minimal", vx(VXLAN{VNI: 1}), ""},
		{"vxlan all", vx(VXLAN{VNI: MaxVNI, Remote: "192.0.2.1", Local: "192.0.2.2", Port: 4789, Dev: "eth0", TTL: 255, Learning: new(false)}), ""},
		{"vxlan group", vx(VXLAN{VNI: 7, Group: "ff05::100", Local: "2001:db8::1", Dev: "eth0"}), ""},
		{"vxlan vni 0", vx(VXLAN{}), "spec[0].vxlan.vni: 0 out of range 1..16777215"},
		{"vxlan vni big", vx(VXLAN{VNI: MaxVNI + 1}), "spec[0].vxlan.vni: 16777216 out of range"},
		{"vxlan remote and group", vx(VXLAN{VNI: 1, Remote: "192.0.2.1", Group: "239.1.1.1"}), "spec[0].vxlan.group: set together with vxlan.remote"},
		{"vxlan remote bad", vx(VXLAN{VNI: 1, Remote: "nope"}), `spec[0].vxlan.remote: "nope" is not an IP address`},
		{"vxlan remote multicast", vx(VXLAN{VNI: 1, Remote: "239.1.1.1"}), "spec[0].vxlan.remote: 239.1.1.1 is a multicast address"},
		{"vxlan remote unspecified", vx(VXLAN{VNI: 1, Remote: "0.0.0.0"}), "spec[0].vxlan.remote: 0.0.0.0 is the unspecified address"},
		{"vxlan group unicast", vx(VXLAN{VNI: 1, Group: "192.0.2.1"}), "spec[0].vxlan.group: 192.0.2.1 is not a multicast address"},
		{"vxlan local family", vx(VXLAN{VNI: 1, Remote: "192.0.2.1", Local: "2001:db8::1"}), "spec[0].vxlan.local: 2001:db8::1 is not of the family of 192.0.2.1"},
		{"vxlan local multicast", vx(VXLAN{VNI: 1, Local: "239.1.1.1"}), "spec[0].vxlan.local: 239.1.1.1 is a multicast address"},
		{"vxlan port", vx(VXLAN{VNI: 1, Port: 65536}), "spec[0].vxlan.port: 65536 out of range 1..65535"},
		{"vxlan ttl", vx(VXLAN{VNI: 1, TTL: 256}), "spec[0].vxlan.ttl: 256 out of range 1..255"},
		{"vxlan dev", vx(VXLAN{VNI: 1, Dev: "a/b"}), `spec[0].vxlan.dev: "a/b" contains '/'`},
		{"vxlan kind mismatch", Spec{Name: "x", Kind: "dummy", VXLAN: &VXLAN{VNI: 1}}, `spec[0].vxlan: set but kind is "dummy"`},
		{"vxlan and macvlan", Spec{Name: "x", VXLAN: &VXLAN{VNI: 1}, MACVLAN: &MACVLAN{Parent: "eth0"}}, "spec[0].macvlan: set together with vxlan"},
		{"vxlan and settings", Spec{Name: "x", Settings: fakeSettings{kind: "bond"}, VXLAN: &VXLAN{VNI: 1}}, "spec[0].vxlan: set together with bond settings"},
		{"macvlan ok", Spec{Name: "mv0", MACVLAN: &MACVLAN{Parent: "eth0", Mode: "bridge"}}, ""},
		{"macvlan modes", Spec{Name: "mv0", Kind: "macvlan", MACVLAN: &MACVLAN{Parent: "eth0", Mode: "passthru"}}, ""},
		{"macvlan no params", Spec{Name: "mv0", Kind: "macvlan"}, "spec[0].macvlan: kind macvlan needs macvlan.parent"},
		{"macvlan no parent", Spec{Name: "mv0", MACVLAN: &MACVLAN{}}, "spec[0].macvlan.parent: empty"},
		{"macvlan own parent", Spec{Name: "mv0", MACVLAN: &MACVLAN{Parent: "mv0"}}, "spec[0].macvlan.parent: mv0 is the link's own name"},
		{"macvlan bad mode", Spec{Name: "mv0", MACVLAN: &MACVLAN{Parent: "eth0", Mode: "hub"}}, `spec[0].macvlan.mode: "hub" is not one of`},
		{"vrf ok", Spec{Name: "vrf0", VRF: &VRF{Table: 10}}, ""},
		{"vrf no params", Spec{Name: "vrf0", Kind: "vrf"}, "spec[0].vrf: kind vrf needs vrf.table"},
		{"vrf table 0", Spec{Name: "vrf0", VRF: &VRF{}}, "spec[0].vrf.table: required"},
		{"vrf table main", Spec{Name: "vrf0", VRF: &VRF{Table: 254}}, "spec[0].vrf.table: 254 is a table the kernel reserves"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := prepare([]Spec{tc.spec}, netprim.Resolve())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if want[0].Kind != want[0].paramKind() {
					t.Errorf("kind %q, want %q", want[0].Kind, want[0].paramKind())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("error %v, want one containing %q wrapping ErrInvalidSpec", err, tc.want)
			}
		})
	}
}

func TestNormalizeKindParams(t *testing.T) {
	s := Spec{Name: "vx0", VXLAN: &VXLAN{VNI: 1, Remote: " 2001:DB8::1 ", Local: "::ffff:192.0.2.1", Dev: " eth0 "}}
	s.Normalize()
	want := Spec{Name: "vx0", Kind: "vxlan", VXLAN: &VXLAN{VNI: 1, Remote: "2001:db8::1", Local: "192.0.2.1", Dev: "eth0"}}
	if d := cmp.Diff(want, s); d != "" {
		t.Errorf("Normalize (-want +got):\n%s", d)
	}
	m := Spec{Name: "mv0", MACVLAN: &MACVLAN{Parent: " eth0", Mode: "Bridge "}}
	m.Normalize()
	if m.Kind != "macvlan" || m.MACVLAN.Mode != "bridge" || m.MACVLAN.Parent != "eth0" {
		t.Errorf("Normalize: %+v %+v", m, *m.MACVLAN)
	}
}

// TestKindParamsYAML checks the document keys of the kind sub-structures.
func TestKindParamsYAML(t *testing.T) {
	const doc = `
- name: vx0
  kind: vxlan
  vxlan: {vni: 42, remote: 192.0.2.1, local: 192.0.2.2, port: 4789, dev: eth0, ttl: 64, learning: false}
- name: mv0
  macvlan: {parent: eth0, mode: bridge}
- name: vrf0
  vrf: {table: 10}
- {name: eth1, master: vrf0}
- {name: d0, kind: dummy}
`
	var got []Spec
	if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := []Spec{
		{Name: "vx0", Kind: "vxlan", VXLAN: &VXLAN{VNI: 42, Remote: "192.0.2.1", Local: "192.0.2.2", Port: 4789, Dev: "eth0", TTL: 64, Learning: new(false)}},
		{Name: "mv0", MACVLAN: &MACVLAN{Parent: "eth0", Mode: "bridge"}},
		{Name: "vrf0", VRF: &VRF{Table: 10}},
		{Name: "eth1", Master: new("vrf0")},
		{Name: "d0", Kind: "dummy"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("yaml (-want +got):\n%s", d)
	}
	if _, err := prepare(got, netprim.Resolve()); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(want[:1])
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"vxlan:", "vni: 42", "remote: 192.0.2.1", "local: 192.0.2.2", "port: 4789", "dev: eth0", "ttl: 64", "learning: false"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("marshalled yaml lacks %q:\n%s", key, out)
		}
	}
}

func TestDescribeKindParams(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "vx0", VXLAN: &VXLAN{VNI: 42, Remote: "192.0.2.1", Port: 4789, Dev: "eth0", TTL: 64, Learning: new(false)}},
			"vxlan vni 42 remote 192.0.2.1 port 4789 dev eth0 ttl 64 learning false"},
		{Spec{Name: "mv0", MACVLAN: &MACVLAN{Parent: "eth0", Mode: "bridge"}}, "macvlan parent eth0 mode bridge"},
		{Spec{Name: "vrf0", VRF: &VRF{Table: 10}}, "vrf table 10"},
	} {
		tc.spec.Normalize()
		if got := settingsOf(&tc.spec).Describe(); got != tc.want {
			t.Errorf("Describe: %q, want %q", got, tc.want)
		}
	}
}

// TestKindParamsDiff: which differences are made in place and which
// recreate the link, without a kernel.
func TestKindParamsDiff(t *testing.T) {
	names := map[int]string{1: "eth0", 2: "eth1"}
	vx := func(mod func(*netlink.Vxlan)) *netlink.Vxlan {
		l := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Index: 5, Name: "vx0"}, VxlanId: 42, VtepDevIndex: 1,
			Group: net.ParseIP("192.0.2.1"), SrcAddr: net.ParseIP("192.0.2.2"), Port: 4789, TTL: 64, Learning: true}
		if mod != nil {
			mod(l)
		}
		return l
	}
	spec := VXLAN{VNI: 42, Remote: "192.0.2.1", Local: "192.0.2.2", Port: 4789, Dev: "eth0", TTL: 64, Learning: new(true)}
	for _, tc := range []struct {
		name string
		set  interface {
			Diff(linkkind.Observed) (string, []linkkind.Change)
		}
		have     netlink.Link
		recreate string
		changes  []string
	}{
		{"vxlan same", vxlanSettings{v: spec}, vx(nil), "", nil},
		{"vxlan unmanaged port, ttl, learning", vxlanSettings{v: VXLAN{VNI: 42, Remote: "192.0.2.1", Local: "192.0.2.2", Dev: "eth0"}},
			vx(func(l *netlink.Vxlan) { l.Port, l.TTL, l.Learning = 8472, 0, false }), "", nil},
		{"vxlan vni", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) { l.VxlanId = 7 }), "vxlan vni 7 -> 42", nil},
		{"vxlan dev", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) { l.VtepDevIndex = 2 }), "vxlan dev eth1 -> eth0", nil},
		{"vxlan port", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) { l.Port = 8472 }), "vxlan port 8472 -> 4789", nil},
		{"vxlan group to remote", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) { l.Group = net.ParseIP("239.1.1.1") }),
			"vxlan group 239.1.1.1 -> none, remote none -> 192.0.2.1", nil},
		{"vxlan remote family", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) { l.Group = net.ParseIP("2001:db8::1") }),
			"vxlan remote 2001:db8::1 -> 192.0.2.1", nil},
		{"vxlan local removed", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) { l.SrcAddr = nil }), "vxlan local none -> 192.0.2.2", nil},
		{"vxlan in place", vxlanSettings{v: spec}, vx(func(l *netlink.Vxlan) {
			l.Group, l.SrcAddr, l.TTL, l.Learning = net.ParseIP("192.0.2.9"), net.ParseIP("192.0.2.8"), 3, false
		}), "", []string{"vxlan.remote 192.0.2.9 -> 192.0.2.1", "vxlan.local 192.0.2.8 -> 192.0.2.2", "vxlan.ttl 3 -> 64", "vxlan.learning false -> true"}},
		{"macvlan same", macvlanSettings{m: MACVLAN{Parent: "eth0", Mode: "bridge"}},
			&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{ParentIndex: 1, NetNsID: -1}, Mode: netlink.MACVLAN_MODE_BRIDGE}, "", nil},
		{"macvlan mode unmanaged", macvlanSettings{m: MACVLAN{Parent: "eth0"}},
			&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{ParentIndex: 1, NetNsID: -1}, Mode: netlink.MACVLAN_MODE_PRIVATE}, "", nil},
		{"macvlan mode", macvlanSettings{m: MACVLAN{Parent: "eth0", Mode: "vepa"}},
			&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{ParentIndex: 1, NetNsID: -1}, Mode: netlink.MACVLAN_MODE_SOURCE}, "", []string{"macvlan.mode source -> vepa"}},
		{"macvlan passthru", macvlanSettings{m: MACVLAN{Parent: "eth0", Mode: "passthru"}},
			&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{ParentIndex: 1, NetNsID: -1}}, "macvlan mode vepa -> passthru (the kernel cannot change passthru in place)", nil},
		{"macvlan parent", macvlanSettings{m: MACVLAN{Parent: "eth0"}},
			&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{ParentIndex: 2, NetNsID: -1}}, "macvlan parent eth1 -> eth0", nil},
		{"vrf same", vrfSettings{v: VRF{Table: 10}}, &netlink.Vrf{Table: 10}, "", nil},
		{"vrf table", vrfSettings{v: VRF{Table: 10}}, &netlink.Vrf{Table: 20}, "vrf table 20 -> 10", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recreate, changes := tc.set.Diff(linkkind.Observed{Link: tc.have, Names: names})
			var got []string
			for _, c := range changes {
				got = append(got, c.Field+" "+c.From+" -> "+c.To)
				if data := tc.set.(infoDataChanger).infoData(c); len(data) != 1 {
					t.Errorf("%s: %d attributes", c.Field, len(data))
				}
			}
			if recreate != tc.recreate || !cmp.Equal(got, tc.changes) {
				t.Errorf("Diff: recreate %q, changes %q; want %q, %q", recreate, got, tc.recreate, tc.changes)
			}
		})
	}
}
