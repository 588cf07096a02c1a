package bond

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

func TestValidate(t *testing.T) {
	ab := func(f func(*Spec)) Spec {
		s := Spec{Name: "bond0", Mode: "active-backup", Members: []string{"eth0", "eth1"}}
		f(&s)
		return s
	}
	ad := func(f func(*Spec)) Spec {
		s := Spec{Name: "bond0", Mode: "802.3ad", Members: []string{"eth0", "eth1"}}
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		want []Spec
		err  string // "" for valid
	}{
		{"valid active-backup", []Spec{ab(func(s *Spec) { s.Miimon, s.UpDelay, s.Primary = 100, 200, "eth1" })}, ""},
		{"valid 802.3ad", []Spec{ad(func(s *Spec) { s.LACPRate, s.XmitHashPolicy, s.ADActorSystem = "fast", "layer3+4", "02:00:00:00:00:01" })}, ""},
		{"valid arp", []Spec{ab(func(s *Spec) {
			s.ARPInterval, s.ARPIPTargets, s.NSIP6Targets = 100, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, []netip.Addr{netip.MustParseAddr("2001:db8::1")}
		})}, ""},
		{"no name", []Spec{{Mode: "balance-rr"}}, "spec[0].name: empty"},
		{"long name", []Spec{{Name: "bond0123456789012", Mode: "balance-rr"}}, "spec[0].name:"},
		{"no mode", []Spec{{Name: "bond0"}}, "spec[0].mode: required"},
		{"unknown mode", []Spec{{Name: "bond0", Mode: "lacp"}}, `spec[0].mode: unknown mode "lacp"`},
		{"own member", []Spec{ab(func(s *Spec) { s.Members = []string{"eth0", "bond0"} })}, "spec[0].members[1]: bond0 cannot be a member of itself"},
		{"member twice", []Spec{ab(func(s *Spec) { s.Members = []string{"eth0", "eth0"} })}, "spec[0].members[1]: eth0 is also members[0]"},
		{"bad member name", []Spec{ab(func(s *Spec) { s.Members = []string{"eth 0"} })}, "spec[0].members[0]:"},
		{"member of two bonds", []Spec{ab(func(*Spec) {}), {Name: "bond1", Mode: "balance-rr", Members: []string{"eth1"}}},
			"spec[1].members[0]: eth1 is also a member of spec[0] (bond0)"},
		{"bond in bond", []Spec{ab(func(s *Spec) { s.Members = []string{"bond1"} }), {Name: "bond1", Mode: "balance-rr"}},
			"spec[0].members[0]: bond1 is a bond (spec[1])"},
		{"duplicate", []Spec{ab(func(*Spec) {}), {Name: "bond0", Mode: "balance-rr"}}, "spec[1].name: bond0 is also spec[0]"},
		{"lacpRate in active-backup", []Spec{ab(func(s *Spec) { s.LACPRate = "fast" })}, "spec[0].lacpRate: only valid in mode 802.3ad, not active-backup"},
		{"primary in 802.3ad", []Spec{ad(func(s *Spec) { s.Primary = "eth0" })}, "spec[0].primary: only valid in mode active-backup, balance-tlb or balance-alb, not 802.3ad"},
		{"arpInterval in 802.3ad", []Spec{ad(func(s *Spec) { s.ARPInterval = 100 })}, "spec[0].arpInterval: only valid in mode balance-rr, active-backup, balance-xor or broadcast, not 802.3ad"},
		{"packetsPerSlave in xor", []Spec{{Name: "b", Mode: "balance-xor", PacketsPerSlave: 2}}, "spec[0].packetsPerSlave: only valid in mode balance-rr, not balance-xor"},
		{"tlbDynamicLB in alb", []Spec{{Name: "b", Mode: "balance-alb", TLBDynamicLB: ptr(false)}}, "spec[0].tlbDynamicLB: only valid in mode balance-tlb"},
		{"unknown lacpRate", []Spec{ad(func(s *Spec) { s.LACPRate = "medium" })}, `spec[0].lacpRate: unknown value "medium", want one of slow, fast`},
		{"unknown xmitHashPolicy", []Spec{ad(func(s *Spec) { s.XmitHashPolicy = "layer4" })}, `spec[0].xmitHashPolicy: unknown value "layer4"`},
		{"adUserPortKey range", []Spec{ad(func(s *Spec) { s.ADUserPortKey = 1024 })}, "spec[0].adUserPortKey: 1024 out of range 1..1023"},
		{"multicast actor", []Spec{ad(func(s *Spec) { s.ADActorSystem = "01:00:5e:00:00:01" })}, "spec[0].adActorSystem: 01:00:5e:00:00:01 is a multicast address"},
		{"bad actor", []Spec{ad(func(s *Spec) { s.ADActorSystem = "nope" })}, `spec[0].adActorSystem: "nope" is not an Ethernet address`},
		{"miimon and arp", []Spec{ab(func(s *Spec) { s.Miimon, s.ARPInterval = 100, 100 })}, "spec[0].arpInterval: ARP monitoring and MII monitoring"},
		{"upDelay without miimon", []Spec{ab(func(s *Spec) { s.UpDelay = 200 })}, "spec[0].upDelay: needs miimon"},
		{"downDelay not a multiple", []Spec{ab(func(s *Spec) { s.Miimon, s.DownDelay = 100, 150 })}, "spec[0].downDelay: 150 is not a multiple of miimon 100"},
		{"primary not a member", []Spec{ab(func(s *Spec) { s.Primary = "eth9" })}, "spec[0].primary: eth9 is not in members"},
		{"v6 arp target", []Spec{ab(func(s *Spec) { s.ARPIPTargets = []netip.Addr{netip.MustParseAddr("2001:db8::1")} })}, "spec[0].arpIPTargets: [0]: 2001:db8::1 is not an IPv4 address"},
		{"broadcast arp target", []Spec{ab(func(s *Spec) { s.ARPIPTargets = []netip.Addr{netip.MustParseAddr("255.255.255.255")} })}, "cannot be a target"},
		{"v4 ns target", []Spec{ab(func(s *Spec) { s.NSIP6Targets = []netip.Addr{netip.MustParseAddr("192.0.2.1")} })}, "spec[0].nsIP6Targets: [0]: 192.0.2.1 is not an IPv6 address"},
		{"too many targets", []Spec{ab(func(s *Spec) {
			for i := range 17 {
				s.ARPIPTargets = append(s.ARPIPTargets, netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}))
			}
		})}, "spec[0].arpIPTargets: 17 targets, more than 16"},
		{"mtu", []Spec{ab(func(s *Spec) { s.MTU = 40 })}, "spec[0].mtu: 40 out of range 68..65535"},
		{"hardwareAddr", []Spec{ab(func(s *Spec) { s.HardwareAddr = "zz" })}, "spec[0].hardwareAddr:"},
		{"hardwareAddr with failOverMac active", []Spec{ab(func(s *Spec) { s.HardwareAddr, s.FailOverMac = "02:00:00:00:00:01", "active" })},
			"spec[0].hardwareAddr: with failOverMac active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.want {
				tc.want[i].Normalize()
			}
			err := Validate(tc.want)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tc.err == "":
				return
			case err == nil:
				t.Fatalf("Validate: nil, want %q", tc.err)
			}
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("Validate: %v does not wrap ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "bond: spec[") {
				t.Errorf("Validate:\n %v\nwant it to contain\n %s", err, tc.err)
			}
		})
	}
}

func TestSpecValidateNamesBond(t *testing.T) {
	err := Spec{Name: "bond0", Mode: "broadcast", LACPRate: "fast"}.Validate()
	if want := "bond bond0: lacpRate: only valid in mode 802.3ad, not broadcast"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Validate: %v, want %q", err, want)
	}
}

func TestNormalize(t *testing.T) {
	s := Spec{Name: " bond0 ", Mode: "Active-Backup", Members: []string{" eth0"}, HardwareAddr: "02-00-00-00-00-AA",
		ADActorSystem: "02:00:00:00:00:BB", LACPRate: "FAST", XmitHashPolicy: " Layer3+4",
		ARPIPTargets: []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.1")}}
	s.Normalize()
	want := Spec{Name: "bond0", Mode: "active-backup", Members: []string{"eth0"}, HardwareAddr: "02:00:00:00:00:aa",
		ADActorSystem: "02:00:00:00:00:bb", LACPRate: "fast", XmitHashPolicy: "layer3+4",
		ARPIPTargets: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	if d := cmp.Diff(want, s, cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("Normalize (-want +got):\n%s", d)
	}
}

// TestCloneIsDeep: Plan and Apply normalize a copy, never the caller's
// slices.
func TestCloneIsDeep(t *testing.T) {
	in := Spec{Name: "b", Members: []string{" eth0"}, UseCarrier: ptr(true)}
	c := in.clone()
	c.Normalize()
	*c.UseCarrier = false
	if in.Members[0] != " eth0" || !*in.UseCarrier {
		t.Errorf("clone shares memory with the original: %+v", in)
	}
}

// TestEveryOptionHasAField checks that the option table and Spec agree:
// every option is set by exactly the Spec field whose YAML name it has.
func TestEveryOptionHasAField(t *testing.T) {
	full := roundTrips
	for _, o := range options {
		found := false
		for _, rt := range full {
			s := rt.spec.clone()
			s.Normalize()
			if o.set(&s) {
				found = true
			}
		}
		if !found {
			t.Errorf("option %s is not set by any round trip", o.field)
		}
	}
}

// TestYAML decodes the bond of the document format's example.
func TestYAML(t *testing.T) {
	doc := `
name: bond0
mode: 802.3ad
members: [dummy0, dummy1]
miimon: 100
lacpRate: fast
xmitHashPolicy: layer3+4
adLACPActive: false
arpIPTargets: []
`
	var s Spec
	if err := yaml.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	f := false
	want := Spec{Name: "bond0", Mode: "802.3ad", Members: []string{"dummy0", "dummy1"}, Miimon: 100,
		LACPRate: "fast", XmitHashPolicy: "layer3+4", ADLACPActive: &f, ARPIPTargets: []netip.Addr{}}
	if d := cmp.Diff(want, s, cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("yaml (-want +got):\n%s", d)
	}
	s.Normalize()
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "arpIPTargets: only valid in mode") {
		t.Errorf("Validate: %v, want arpIPTargets refused in 802.3ad", err)
	}
}
