package selector

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// udevNames parses the ID_NET_NAME_* lines `udevadm test-builtin net_id`
// prints on standard output.
func udevNames(out []byte) Names {
	var n Names
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "ID_NET_NAME_ONBOARD":
			n.Onboard = v
		case "ID_NET_NAME_SLOT":
			n.Slot = v
		case "ID_NET_NAME_PATH":
			n.Path = v
		case "ID_NET_NAME_MAC":
			n.MAC = v
		}
	}
	return n
}

// udevComparable drops what udev does not print (USB is inferred from
// the device path by other rules).
func udevComparable(n Names) Names {
	n.USB = false
	return n
}

func needUdevadm(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("udevadm")
	if err != nil {
		t.Skip("udevadm not installed (Debian: apt-get install udev); names not compared with udev")
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		t.Skipf("udevadm --version: %v", err)
	}
	v := strings.TrimSpace(string(out))
	t.Logf("udevadm version %s", v)
	return v
}

// TestUdevadmHost compares, for every interface in /sys/class/net of the
// machine the test runs on, the names Predict computes with those udevadm
// test-builtin net_id prints. It only reads: test-builtin changes nothing.
func TestUdevadmHost(t *testing.T) {
	needUdevadm(t)
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Skipf("no /sys/class/net: %v", err)
	}
	root := os.DirFS("/")
	compared := 0
	for _, e := range ents {
		name := e.Name()
		cmd := exec.Command("udevadm", "test-builtin", "net_id", "/sys/class/net/"+name)
		out, err := cmd.Output()
		if err != nil {
			t.Logf("%s: udevadm test-builtin net_id failed (%v): not compared", name, err)
			continue
		}
		want := udevNames(out)
		got, err := Predict(root, name)
		if err != nil {
			t.Errorf("%s: Predict: %v", name, err)
			continue
		}
		compared++
		if diff := cmp.Diff(want, udevComparable(got)); diff != "" {
			t.Errorf("%s: names differ from udevadm (-udevadm +Predict):\n%s", name, diff)
			continue
		}
		t.Logf("%s: same as udevadm: %+v", name, want)
	}
	if compared == 0 {
		t.Skip("no interface udevadm could name")
	}
}

// TestUdevadmFixtures checks the fixtures themselves: each tree is written
// to disk and bind-mounted over /sys (and /proc, when it has one) in
// private mount and network namespaces (unshare -m -n), where udevadm test-builtin net_id names its
// interfaces; those must be the names the fixture expects, and so the
// names Predict computes. Needs root and unshare(1).
func TestUdevadmFixtures(t *testing.T) {
	needUdevadm(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount a fixture over /sys in a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare(1) not installed")
	}
	if out, err := exec.Command(unshare, "-m", "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -m -n: %v: %s", err, out)
	}
	files, err := filepath.Glob("testdata/*.sysfs")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".sysfs"), func(t *testing.T) {
			fx := loadFixture(t, file)
			dir := t.TempDir()
			writeTree(t, fx, dir)
			var names []string
			for name := range fx.want {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				// SYSTEMD_DEVICE_VERIFY_SYSFS=0 lets sd-device accept a
				// /sys that is not a sysfs mount.
				// A fixture with a proc directory (devicetree) gets it
				// over /proc too.
				cmd := exec.Command(unshare, "-m", "-n", "sh", "-c",
					`mount --bind "$1/sys" /sys || exit 1
					if [ -d "$1/proc" ]; then mount --bind "$1/proc" /proc || exit 1; fi
					exec udevadm test-builtin net_id "/sys/class/net/$2"`,
					"sh", dir, name)
				cmd.Env = append(os.Environ(), "SYSTEMD_DEVICE_VERIFY_SYSFS=0")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: udevadm: %v\n%s", name, err, stderr.Bytes())
				}
				udev := udevNames(out)
				if diff := cmp.Diff(udevComparable(fx.want[name].names), udev); diff != "" {
					t.Errorf("%s: fixture expects other names than udevadm gives (-fixture +udevadm):\n%s\nudevadm log:\n%s", name, diff, stderr.Bytes())
				}
				got, err := Predict(fx.fsys, name)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if diff := cmp.Diff(udev, udevComparable(got)); diff != "" {
					t.Errorf("%s: (-udevadm +Predict):\n%s", name, diff)
				}
			}
		})
	}
}

// writeTree writes the fixture as a directory tree under dir.
func writeTree(t *testing.T, fx fixture, dir string) {
	t.Helper()
	for name, f := range fx.fsys {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if err := os.Symlink(string(f.Data), p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
