package bond

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

// fakeKernel returns a snapshot with a bond as the kernel would report
// have (every managed option of have in Data), up or down, with members
// eth0 (index 2) and eth1 (index 3) enslaved.
func fakeKernel(have Spec, up bool) (*snapshot, *rawLink) {
	eth0 := &rawLink{Index: 2, Name: "eth0", Master: 10}
	eth1 := &rawLink{Index: 3, Name: "eth1", Master: 10}
	eth2 := &rawLink{Index: 4, Name: "eth2"}
	b := &rawLink{Index: 10, Name: have.Name, Kind: "bond", Data: map[uint16][]byte{}}
	if up {
		b.Flags = 1
	}
	snap := newSnapshot([]*rawLink{eth0, eth1, eth2, b})
	for _, o := range options {
		if p, ok := o.encode(&have, snap.index); ok {
			b.Data[o.attr] = p
		}
	}
	return snap, b
}

// render lists steps as "field from -> to [disruptive]".
func render(steps []step) []string {
	var out []string
	for _, s := range steps {
		line := s.field + " " + s.from + " -> " + s.to
		if s.disruptive {
			line += " [disruptive]"
		}
		out = append(out, line)
	}
	return out
}

func TestDiff(t *testing.T) {
	base := Spec{Name: "bond0", Mode: "802.3ad", Miimon: 100, LACPRate: "slow", XmitHashPolicy: "layer2"}
	for _, tc := range []struct {
		name string
		have Spec
		up   bool
		want func(*Spec)
		out  []string
	}{
		{"same", base, true, func(*Spec) {}, nil},
		{"unmanaged option is left alone", base, true, func(s *Spec) { s.Miimon = 0 }, nil},
		{"live options, one write each", base, true, func(s *Spec) { s.Miimon, s.XmitHashPolicy = 200, "layer3+4" },
			[]string{"miimon 100 -> 200", "xmitHashPolicy layer2 -> layer3+4"}},
		{"lacpRate on a running bond: down, set, up", base, true, func(s *Spec) { s.LACPRate = "fast" },
			[]string{"up true -> false [disruptive]", "lacpRate slow -> fast", "up false -> true [disruptive]"}},
		{"lacpRate on a down bond", base, false, func(s *Spec) { s.LACPRate = "fast" },
			[]string{"lacpRate slow -> fast"}},
		{"lacpRate with up managed", base, true, func(s *Spec) { s.LACPRate, s.Up = "fast", ptr(true) },
			[]string{"up true -> false [disruptive]", "lacpRate slow -> fast", "up false -> true [disruptive]"}},
		{"lacpRate with the bond wanted down", base, true, func(s *Spec) { s.LACPRate, s.Up = "fast", ptr(false) },
			[]string{"up true -> false [disruptive]", "lacpRate slow -> fast"}},
		{"mode change with up managed: members enslaved again, then up", Spec{Name: "bond0", Mode: "balance-rr"}, true,
			func(s *Spec) { s.Mode, s.Up, s.Members = "broadcast", ptr(true), []string{"eth1", "eth0"} },
			[]string{"member eth0 enslaved -> released [disruptive]", "member eth1 enslaved -> released [disruptive]",
				"up true -> false [disruptive]", "mode balance-rr -> broadcast",
				"member eth1 released -> enslaved [disruptive]", "member eth0 released -> enslaved [disruptive]",
				"up false -> true [disruptive]"}},
		{"mode change: a member no longer listed stays released, a new one is left to link", Spec{Name: "bond0", Mode: "balance-rr"}, true,
			func(s *Spec) { s.Mode, s.Members = "broadcast", []string{"eth0", "eth2"} },
			[]string{"member eth0 enslaved -> released [disruptive]", "member eth1 enslaved -> released [disruptive]",
				"up true -> false [disruptive]", "mode balance-rr -> broadcast",
				"member eth0 released -> enslaved [disruptive]", "up false -> true [disruptive]"}},
		{"mode change of a bond wanted down", Spec{Name: "bond0", Mode: "balance-rr"}, true,
			func(s *Spec) { s.Mode, s.Up, s.Members = "broadcast", ptr(false), []string{"eth0", "eth1"} },
			[]string{"member eth0 enslaved -> released [disruptive]", "member eth1 enslaved -> released [disruptive]",
				"up true -> false [disruptive]", "mode balance-rr -> broadcast",
				"member eth0 released -> enslaved [disruptive]", "member eth1 released -> enslaved [disruptive]"}},
		{"mode change releases members", Spec{Name: "bond0", Mode: "active-backup", Miimon: 100}, true,
			func(s *Spec) { *s = Spec{Name: "bond0", Mode: "balance-rr", Miimon: 100, PacketsPerSlave: 3} },
			[]string{"member eth0 enslaved -> released [disruptive]", "member eth1 enslaved -> released [disruptive]",
				"up true -> false [disruptive]", "mode active-backup -> balance-rr", "miimon 100 -> 100",
				"packetsPerSlave  -> 3", "up false -> true [disruptive]"}},
		{"failOverMac releases members, bond stays up", Spec{Name: "bond0", Mode: "active-backup", FailOverMac: "none"}, true,
			func(s *Spec) { s.FailOverMac = "follow" },
			[]string{"member eth0 enslaved -> released [disruptive]", "member eth1 enslaved -> released [disruptive]",
				"failOverMac none -> follow"}},
		{"primary by name", Spec{Name: "bond0", Mode: "active-backup", Primary: "eth0"}, true,
			func(s *Spec) { s.Primary = "eth1" }, []string{"primary eth0 -> eth1"}},
		{"targets", Spec{Name: "bond0", Mode: "active-backup", ARPInterval: 100, ARPIPTargets: mustAddrs("192.0.2.1")}, true,
			func(s *Spec) { s.ARPIPTargets = mustAddrs("192.0.2.1", "192.0.2.2") }, []string{"arpIPTargets 192.0.2.1 -> 192.0.2.1,192.0.2.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, b := fakeKernel(tc.have, tc.up)
			want := tc.have.clone()
			tc.want(&want)
			got := render(diff(&want, b, snap))
			if d := cmp.Diff(tc.out, got); d != "" {
				t.Errorf("diff (-want +got):\n%s", d)
			}
		})
	}
}

// TestDiffReasons: disruptive steps say which option forces them.
func TestDiffReasons(t *testing.T) {
	snap, b := fakeKernel(Spec{Name: "bond0", Mode: "802.3ad", ADSelect: "stable"}, true)
	steps := diff(&Spec{Name: "bond0", Mode: "802.3ad", ADSelect: "count"}, b, snap)
	if len(steps) != 3 || !strings.Contains(steps[0].reason, "adSelect only while the bond is down") {
		t.Errorf("steps %+v: want the down step to name adSelect", steps)
	}
}

func TestEncodeDecode(t *testing.T) {
	s := Spec{Name: "b", Mode: "active-backup", ARPIPTargets: mustAddrs("192.0.2.1", "198.51.100.7"),
		NSIP6Targets: mustAddrs("2001:db8::1", "fe80::1"), Miimon: 70000, ADActorSystem: "02:00:00:00:00:01", ADUserPortKey: 9}
	for _, o := range options {
		p, ok := o.encode(&s, func(string) int { return 0 })
		if !ok {
			continue
		}
		var got Spec
		readOption(&got, o, p, nil)
		p2, _ := o.encode(&got, func(string) int { return 0 })
		if !o.equal(p, p2) {
			t.Errorf("%s: %x decoded and encoded again is %x", o.field, p, p2)
		}
	}
	if got := decodeAddrs([]byte{8, 0, 0, 0, 192, 0, 2, 1, 99}); len(got) != 1 {
		t.Errorf("decodeAddrs with trailing garbage: %v", got)
	}
	if got := decodeAddrs([]byte{200, 0, 0, 0}); len(got) != 0 {
		t.Errorf("decodeAddrs with a bad length: %v", got)
	}
}

func TestDescribe(t *testing.T) {
	s := Spec{Name: "bond0", Mode: "802.3ad", Miimon: 100, LACPRate: "fast", UseCarrier: ptr(false)}
	want := "bond 802.3ad, miimon 100, useCarrier false, lacpRate fast"
	if got := describe(&s, func(string) int { return 0 }); got != want {
		t.Errorf("describe: %q, want %q", got, want)
	}
}

// TestInPlace: the effects of the in-place steps that linkSpecs and Plan
// account for.
func TestInPlace(t *testing.T) {
	snap, _ := fakeKernel(Spec{Name: "bond0", Mode: "active-backup", LACPRate: ""}, true)
	for _, tc := range []struct {
		name     string
		want     Spec
		released map[string]string
		down     map[string]bool
	}{
		{"no change", Spec{Name: "bond0", Mode: "active-backup"}, map[string]string{}, map[string]bool{}},
		{"live option", Spec{Name: "bond0", Mode: "active-backup", Miimon: 100}, map[string]string{}, map[string]bool{}},
		{"mode", Spec{Name: "bond0", Mode: "balance-rr", Members: []string{"eth0"}},
			map[string]string{"eth0": "bond0", "eth1": "bond0"}, map[string]bool{"bond0": true}},
		{"new bond", Spec{Name: "bond1", Mode: "balance-rr"}, map[string]string{}, map[string]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := inPlace([]Spec{tc.want}, snap)
			if d := cmp.Diff(effects{released: tc.released, down: tc.down}, e, cmp.AllowUnexported(effects{})); d != "" {
				t.Errorf("inPlace (-want +got):\n%s", d)
			}
		})
	}
}

// TestSecondPass: for each bond the first pass creates, the options its
// creation request could not carry that differ from the kernel's defaults,
// then bringing the created bonds up.
func TestSecondPass(t *testing.T) {
	snap := newSnapshot([]*rawLink{{Index: 2, Name: "eth0"}, {Index: 3, Name: "eth1"}})
	specs := []Spec{
		{Name: "bond0", Mode: "802.3ad", Members: []string{"eth0"}, Up: ptr(true), Miimon: 100, LACPRate: "fast",
			ADLACPActive: ptr(false)},
		{Name: "bond1", Mode: "active-backup", Members: []string{"eth1"}, Up: ptr(true), Primary: "eth1",
			ARPInterval: 100, ARPIPTargets: mustAddrs("192.0.2.1"), MissedMax: 2, PeerNotifDelay: 0,
			NSIP6Targets: mustAddrs("2001:db8::1")},
		{Name: "bond2", Mode: "802.3ad", ADLACPActive: ptr(true)}, // the default: nothing to write
		{Name: "bond3", Mode: "balance-rr", Up: ptr(true)},        // exists already
	}
	for i := range specs {
		specs[i].Normalize()
	}
	var first netprim.Plan
	for _, name := range []string{"bond0", "bond1", "bond2"} {
		first.Append(netprim.Change{Action: netprim.Add, Kind: "link", Object: name})
	}
	first.Append(netprim.Change{Action: netprim.Modify, Kind: "link", Object: "bond3", Field: "mode"})
	var got []string
	for _, c := range secondPass(specs, snap, first) {
		got = append(got, c.String())
	}
	want := []string{
		"~ link bond0 adLACPActive on -> off",
		"~ link bond1 nsIP6Targets none -> 2001:db8::1",
		"~ link bond0 up false -> true",
		"~ link bond1 up false -> true",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("secondPass (-want +got):\n%s", d)
	}
	if n := len(needsSecondPass(specs[3:], first)); n != 0 {
		t.Errorf("needsSecondPass: %d bonds, want none (bond3 is not created)", n)
	}
}

// TestAfterRelease: a member that a mode change releases and another bond
// lists is, when link enslaves it, already released and down.
func TestAfterRelease(t *testing.T) {
	mod := func(obj, field, from, to string) netprim.Change {
		return netprim.Change{Action: netprim.Modify, Kind: "link", Object: obj, Field: field, From: from, To: to}
	}
	p := netprim.Plan{Changes: []netprim.Change{
		mod("bond0", "member eth0", "enslaved", "released"),
		mod("bond0", "member eth1", "enslaved", "released"),
		mod("bond0", "member eth0", "released", "enslaved"),
		mod("eth0", "up", "true", "false"), // not moved: left alone
		mod("eth1", "up", "true", "false"),
		mod("eth1", "master", "bond0", "bond1"),
		mod("eth1", "up", "false", "true"),
	}}
	specs := []Spec{{Name: "bond0", Members: []string{"eth0"}}, {Name: "bond1", Members: []string{"eth1"}}}
	afterRelease(&p, specs, effects{released: map[string]string{"eth0": "bond0", "eth1": "bond0"}})
	want := []netprim.Change{
		mod("bond0", "member eth0", "enslaved", "released"),
		mod("bond0", "member eth1", "enslaved", "released"),
		mod("bond0", "member eth0", "released", "enslaved"),
		mod("eth0", "up", "true", "false"),
		mod("eth1", "master", "", "bond1"),
	}
	if d := cmp.Diff(want, p.Changes); d != "" {
		t.Errorf("afterRelease (-want +got):\n%s", d)
	}
}
