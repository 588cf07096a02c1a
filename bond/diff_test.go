package bond

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		{"mode change with up managed: link brings it up after the members", Spec{Name: "bond0", Mode: "balance-rr"}, true,
			func(s *Spec) { s.Mode, s.Up = "broadcast", ptr(true) },
			[]string{"member eth0 enslaved -> released [disruptive]", "member eth1 enslaved -> released [disruptive]",
				"up true -> false [disruptive]", "mode balance-rr -> broadcast"}},
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
