package link

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

// fakeSettings is the kind-specific part of a link made by another package.
type fakeSettings struct {
	kind     string
	err      error
	recreate string
	changes  []linkkind.Change
}

func (f fakeSettings) Kind() string     { return f.kind }
func (f fakeSettings) Validate() error  { return f.err }
func (f fakeSettings) Describe() string { return f.kind + " fake" }
func (f fakeSettings) Link(a netlink.LinkAttrs) (netlink.Link, func(), error) {
	return &netlink.GenericLink{LinkAttrs: a, LinkType: f.kind}, nil, nil
}
func (f fakeSettings) Diff(linkkind.Observed) (string, []linkkind.Change) {
	return f.recreate, f.changes
}

func TestValidateFields(t *testing.T) {
	long := strings.Repeat("a", 16)
	for _, tc := range []struct {
		name string
		spec Spec
		want string // substring of the error; "" = valid
	}{
		{"minimal", Spec{Name: "eth0"}, ""},
		{"all fields", Spec{Name: "eth0", MTU: 1400, Up: new(true), HardwareAddr: "02:00:00:00:00:01",
			Alias: new("uplink"), TxQueueLen: 500, Master: new("br0")}, ""},
		{"name empty", Spec{}, "spec[0].name: empty"},
		{"name too long", Spec{Name: long}, "spec[0].name: \"" + long + "\" is 16 bytes, longer than 15"},
		{"name slash", Spec{Name: "a/b"}, "spec[0].name: \"a/b\" contains '/'"},
		{"name colon", Spec{Name: "a:b"}, "spec[0].name: \"a:b\" contains ':'"},
		{"name space", Spec{Name: "a b"}, "spec[0].name: \"a b\" contains ' '"},
		{"name dot", Spec{Name: "."}, "spec[0].name: \".\" is not a valid name"},
		{"name dotdot", Spec{Name: ".."}, "spec[0].name"},
		{"kind bad", Spec{Name: "x", Kind: "Dum my"}, "spec[0].kind: \"dum my\" is not a link kind name"},
		{"kind bond", Spec{Name: "x", Kind: "bond"}, "spec[0].kind: bond links are created by package bond"},
		{"kind bridge", Spec{Name: "x", Kind: "bridge"}, "spec[0].kind: bridge links are created by package bridge"},
		{"kind vlan", Spec{Name: "x", Kind: "vlan"}, "spec[0].kind: vlan links are created by package vlan"},
		{"kind vxlan", Spec{Name: "x", Kind: "vxlan"}, "spec[0].vxlan: kind vxlan needs vxlan.vni"},
		{"kind geneve", Spec{Name: "x", Kind: "geneve"}, "spec[0].kind: geneve links need parameters"},
		{"kind dummy", Spec{Name: "x", Kind: "dummy"}, ""},
		{"kind veth no peer", Spec{Name: "x", Kind: "veth"}, "spec[0].veth: kind veth needs veth.peer"},
		{"veth ok", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "y"}}, ""},
		{"veth peer netns ok", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "x", PeerNetns: "other"}}, ""},
		{"veth peer netns path", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "y", PeerNetns: "/proc/1/ns/net"}}, ""},
		{"veth peer empty", Spec{Name: "x", Kind: "veth", Veth: &Veth{}}, "spec[0].veth.peer: empty"},
		{"veth peer bad", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: long}}, "spec[0].veth.peer: "},
		{"veth peer self", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "x"}}, "spec[0].veth.peer: x is the link's own name"},
		{"veth peer netns bad", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "y", PeerNetns: "a/b"}}, "spec[0].veth.peerNetns: \"a/b\" is neither"},
		{"veth peer netns dotdot", Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "y", PeerNetns: ".."}}, "spec[0].veth.peerNetns"},
		{"veth on dummy", Spec{Name: "x", Kind: "dummy", Veth: &Veth{Peer: "y"}}, "spec[0].veth: set but kind is \"dummy\""},
		{"mtu low", Spec{Name: "x", MTU: 67}, "spec[0].mtu: 67 out of range 68..65535"},
		{"mtu high", Spec{Name: "x", MTU: 70000}, "spec[0].mtu: 70000 out of range 68..65535"},
		{"mtu negative", Spec{Name: "x", MTU: -1}, "spec[0].mtu: -1 out of range"},
		{"mtu min", Spec{Name: "x", MTU: 68}, ""},
		{"mtu max", Spec{Name: "x", MTU: 65535}, ""},
		{"hw bad", Spec{Name: "x", HardwareAddr: "zz:00"}, "spec[0].hardwareAddr: \"zz:00\" is not a hardware address"},
		{"hw multicast", Spec{Name: "x", HardwareAddr: "01:00:5e:00:00:01"}, "spec[0].hardwareAddr: 01:00:5e:00:00:01 is a multicast address"},
		{"hw zero", Spec{Name: "x", HardwareAddr: "00:00:00:00:00:00"}, "spec[0].hardwareAddr: 00:00:00:00:00:00 is the zero address"},
		{"hw infiniband", Spec{Name: "x", HardwareAddr: "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"}, ""},
		{"alias empty ok", Spec{Name: "x", Alias: new("")}, ""},
		{"alias long", Spec{Name: "x", Alias: new(strings.Repeat("a", 256))}, "spec[0].alias: 256 bytes, longer than 255"},
		{"alias max", Spec{Name: "x", Alias: new(strings.Repeat("a", 255))}, ""},
		{"alias nul", Spec{Name: "x", Alias: new("a\x00b")}, "spec[0].alias: contains a NUL byte"},
		{"txqlen negative", Spec{Name: "x", TxQueueLen: -1}, "spec[0].txQueueLen: -1 out of range 0..4294967295"},
		{"txqlen huge", Spec{Name: "x", TxQueueLen: 1 << 32}, "spec[0].txQueueLen: 4294967296 out of range"},
		{"master none", Spec{Name: "x", Master: new("")}, ""},
		{"master bad", Spec{Name: "x", Master: new("a b")}, "spec[0].master: \"a b\" contains ' '"},
		{"master self", Spec{Name: "x", Master: new("x")}, "spec[0].master: x cannot be its own master"},
		{"settings ok", Spec{Name: "b0", Kind: "bond", Settings: fakeSettings{kind: "bond"}}, ""},
		{"settings kind mismatch", Spec{Name: "b0", Kind: "vlan", Settings: fakeSettings{kind: "bond"}},
			"spec[0].kind: \"vlan\" but the settings are for \"bond\""},
		{"settings invalid", Spec{Name: "b0", Kind: "bond", Settings: fakeSettings{kind: "bond", err: errors.New("miimon: -1 is negative")}},
			"spec[0].miimon: -1 is negative"},
		{"settings with veth", Spec{Name: "b0", Kind: "bond", Veth: &Veth{Peer: "y"}, Settings: fakeSettings{kind: "bond"}},
			"spec[0].veth: set together with bond settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]Spec{tc.spec})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil error, want %q", tc.want)
			}
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			if !strings.HasPrefix(err.Error(), "link: spec[0].") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSpecValidateNamesLink(t *testing.T) {
	err := Spec{Name: "veth0", MTU: 70000}.Validate()
	if err == nil || err.Error() != "link veth0: mtu: 70000 out of range 68..65535: invalid spec" {
		t.Fatalf("Validate = %v", err)
	}
	if !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("%v does not wrap ErrInvalidSpec", err)
	}
}

func TestValidateList(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []Spec
		errs []string
	}{
		{"duplicate", []Spec{{Name: "a"}, {Name: "b"}, {Name: "a", MTU: 1400}},
			[]string{"link: spec[2].name: a is also spec[0]"}},
		{"veth pair twice", []Spec{
			{Name: "a", Kind: "veth", Veth: &Veth{Peer: "b"}},
			{Name: "b", Kind: "veth", Veth: &Veth{Peer: "a"}},
		}, []string{"spec[1].kind: b is the veth peer of spec[0] (a)", "spec[0].kind: a is the veth peer of spec[1] (b)"}},
		{"veth peer managed without kind", []Spec{
			{Name: "a", Kind: "veth", Veth: &Veth{Peer: "b"}},
			{Name: "b", MTU: 1400},
		}, nil},
		{"peer elsewhere, same name ok", []Spec{
			{Name: "a", Kind: "veth", Veth: &Veth{Peer: "b", PeerNetns: "other"}},
			{Name: "b", Kind: "veth", Veth: &Veth{Peer: "a", PeerNetns: "other"}},
		}, nil},
		{"several errors joined", []Spec{{Name: "a", MTU: 1}, {Name: ""}},
			[]string{"spec[0].mtu", "spec[1].name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.want)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("Validate = %v, want ErrInvalidSpec", err)
			}
			for _, s := range tc.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want Spec
	}{
		{"mac forms",
			Spec{Name: " eth0 ", HardwareAddr: "02:AB:CD:EF:00:01"},
			Spec{Name: "eth0", HardwareAddr: "02:ab:cd:ef:00:01"}},
		{"mac dashes", Spec{Name: "x", HardwareAddr: "02-AB-CD-EF-00-01"}, Spec{Name: "x", HardwareAddr: "02:ab:cd:ef:00:01"}},
		{"mac dots", Spec{Name: "x", HardwareAddr: "02ab.cdef.0001"}, Spec{Name: "x", HardwareAddr: "02:ab:cd:ef:00:01"}},
		{"bad mac kept", Spec{Name: "x", HardwareAddr: "nope"}, Spec{Name: "x", HardwareAddr: "nope"}},
		{"kind lowercase", Spec{Name: "x", Kind: "Dummy"}, Spec{Name: "x", Kind: "dummy"}},
		{"veth implies kind", Spec{Name: "x", Veth: &Veth{Peer: " y "}}, Spec{Name: "x", Kind: "veth", Veth: &Veth{Peer: "y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.Normalize()
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Normalize (-want +got):\n%s", d)
			}
			again := got
			again.Normalize()
			if d := cmp.Diff(got, again); d != "" {
				t.Errorf("Normalize is not idempotent:\n%s", d)
			}
		})
	}
	s := Spec{Name: "b0", Settings: fakeSettings{kind: "bond"}}
	s.Normalize()
	if s.Kind != "bond" {
		t.Errorf("Normalize with settings: kind %q, want bond", s.Kind)
	}
}

func TestMarker(t *testing.T) {
	if got := Marker(netprim.Owner{}, "veth0"); got != "netprim.veth0" {
		t.Errorf("Marker default owner = %q", got)
	}
	if got := Marker(netprim.Owner{Name: "acme"}, "eth1"); got != "acme.eth1" {
		t.Errorf("Marker = %q", got)
	}
	for _, tc := range []struct {
		owner string
		ok    bool
	}{
		{"netprim", true},
		{"a.b-c_d", true},
		{strings.Repeat("o", 111), true},
		{strings.Repeat("o", 112), false},
		{"a/b", false},
		{"a:b", false},
		{"a b", false},
		{"..", false},
	} {
		err := validOwner(netprim.Owner{Name: tc.owner})
		if (err == nil) != tc.ok {
			t.Errorf("validOwner(%q) = %v, want ok=%v", tc.owner, err, tc.ok)
		}
		if err != nil && !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("validOwner(%q) = %v, not ErrInvalidSpec", tc.owner, err)
		}
	}
	for _, tc := range []struct {
		name, alias string
		alt         []string
		want        string
	}{
		{"veth0", "", []string{"netprim.veth0"}, "netprim"},
		{"veth0", "", []string{"enp0s3", "acme.veth0"}, "acme"},
		{"veth0", "", []string{"netprim.veth1"}, ""},
		{"veth0", "", []string{".veth0"}, ""},
		{"veth0", "netprim.veth0", nil, "netprim"},
		{"veth0", "uplink to rack 1", nil, ""},
		{"eth0", "", nil, ""},
	} {
		if got := markedBy(tc.name, tc.alt, tc.alias); got != tc.want {
			t.Errorf("markedBy(%q, %q, %q) = %q, want %q", tc.name, tc.alt, tc.alias, got, tc.want)
		}
	}
}

func TestRenderFlags(t *testing.T) {
	for _, tc := range []struct {
		raw  uint32
		want []string
	}{
		{iffUp | iffBroadcast | iffMulticast | iffRunning | iffLowerUp, []string{"BROADCAST", "MULTICAST", "UP", "LOWER_UP"}},
		{iffUp | iffBroadcast | iffMulticast, []string{"NO-CARRIER", "BROADCAST", "MULTICAST", "UP"}},
		{iffLoopback | iffUp | iffRunning | iffLowerUp, []string{"LOOPBACK", "UP", "LOWER_UP"}},
		{iffBroadcast | iffMulticast | iffSlave, []string{"BROADCAST", "MULTICAST", "SLAVE"}},
		{0, []string{}},
	} {
		if d := cmp.Diff(tc.want, renderFlags(tc.raw)); d != "" {
			t.Errorf("renderFlags(%#x) (-want +got):\n%s", tc.raw, d)
		}
	}
	for v, want := range map[uint8]string{0: "unknown", 2: "down", 3: "lowerlayerdown", 6: "up", 99: "unknown"} {
		if got := renderOperState(v); got != want {
			t.Errorf("renderOperState(%d) = %q, want %q", v, got, want)
		}
	}
}
