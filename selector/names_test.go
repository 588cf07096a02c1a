package selector

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPredictFixtures computes the names of every interface of every
// fixture tree in testdata and compares them with the names the fixture
// expects (those udev v252 gives the same tree).
func TestPredictFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sysfs")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".sysfs"), func(t *testing.T) {
			fx := loadFixture(t, file)
			if len(fx.want) == 0 {
				t.Fatal("fixture expects nothing")
			}
			all, err := PredictAll(fx.fsys)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for name := range all {
				got = append(got, name)
			}
			for name := range fx.want {
				want = append(want, name)
			}
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("interfaces (-fixture +sys/class/net):\n%s", diff)
			}
			for name, w := range fx.want {
				n, err := Predict(fx.fsys, name)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if diff := cmp.Diff(w.names, n); diff != "" {
					t.Errorf("%s: names (-want +got):\n%s", name, diff)
				}
				if p := n.Preferred(); p != w.preferred {
					t.Errorf("%s: Preferred() = %q, want %q", name, p, w.preferred)
				}
			}
		})
	}
}

func TestPredictErrors(t *testing.T) {
	fx := loadFixture(t, "testdata/single-nic.sysfs")
	for _, name := range []string{"", "..", "a/b", "nosuch0"} {
		if _, err := Predict(fx.fsys, name); err == nil {
			t.Errorf("Predict(%q): no error", name)
		}
	}
}

func TestNamesEnabled(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		want    bool
	}{
		{"", true},
		{"BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet", true},
		{"root=/dev/sda1 net.ifnames=0", false},
		{"net.ifnames=0 biosdevname=0", false},
		{"net.ifnames=1", true},
		{"net.ifnames=false", false},
		{"net.ifnames=0 net.ifnames=1", true},
		{"net.ifnames=1 net.ifnames=off", false},
		{"xnet.ifnames=0", true},
		{"net.ifnames=00", true}, // not a boolean udev understands
		{"quiet -- net.ifnames=0", true},
		{"talos.platform=metal net.ifnames=0\n", false},
	} {
		if got := NamesEnabled(tc.cmdline); got != tc.want {
			t.Errorf("NamesEnabled(%q) = %v, want %v", tc.cmdline, got, tc.want)
		}
	}
}

func TestNamesAllPreferred(t *testing.T) {
	for _, tc := range []struct {
		n    Names
		want []string
	}{
		{Names{}, nil},
		{Names{MAC: "enx1"}, []string{"enx1"}},
		{Names{Onboard: "eno1", Slot: "ens1", Path: "enp0s3", MAC: "enx1"}, []string{"eno1", "ens1", "enp0s3", "enx1"}},
		{Names{Slot: "ens1", Path: "enp0s3"}, []string{"ens1", "enp0s3"}},
		{Names{Path: "enp0s20u1", MAC: "enx1", USB: true}, []string{"enx1", "enp0s20u1"}},
		{Names{Path: "enp0s20u1", USB: true}, []string{"enp0s20u1"}},
	} {
		if diff := cmp.Diff(tc.want, tc.n.All()); diff != "" {
			t.Errorf("%+v.All() (-want +got):\n%s", tc.n, diff)
		}
		wantFirst := ""
		if len(tc.want) > 0 {
			wantFirst = tc.want[0]
		}
		if got := tc.n.Preferred(); got != wantFirst {
			t.Errorf("%+v.Preferred() = %q, want %q", tc.n, got, wantFirst)
		}
	}
}

func TestUSBSpec(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"2-1:1.0", "u1", true},
		{"1-1.4.3:1.0", "u1u4u3", true},
		{"3-2:2.0", "u2c2", true},
		{"3-2:1.3", "u2i3", true},
		{"usb2", "", false},
		{"2-1", "", false},
		{"2-1:1", "", false},
	} {
		got, ok := usbSpec(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("usbSpec(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPCIAddr(t *testing.T) {
	d, b, s, f, ok := pciAddr("0001:1b:1f.7")
	if !ok || d != 1 || b != 0x1b || s != 0x1f || f != 7 {
		t.Errorf("pciAddr = %d %d %d %d %v", d, b, s, f, ok)
	}
	for _, bad := range []string{"", "00:03.0", "0000:00:03", "0000:zz:03.0", "virtio2", "0000:00:03.x"} {
		if _, _, _, _, ok := pciAddr(bad); ok {
			t.Errorf("pciAddr(%q) ok", bad)
		}
	}
}
