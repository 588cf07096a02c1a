package nstest_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

// TestSkipWithoutUserNamespaces checks the last resort of the rootless
// path: an unprivileged user on a system without user namespaces gets a
// skip that says why. It runs this test binary as uid 65534 inside a user
// namespace whose max_user_namespaces is 0 (a per-namespace limit: the
// host's is untouched), where Main cannot re-run the tests.
func TestSkipWithoutUserNamespaces(t *testing.T) {
	switch os.Getenv("NSTEST_SELFTEST") {
	case "probe": // uid 65534, no user namespaces: New must skip
		nstest.New(t)
		t.Fatal("New did not skip although namespaces cannot be created")
	case "setup": // root of a fresh user namespace: forbid nested ones
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipWithoutUserNamespaces$", "-test.v")
		cmd.Env = append(os.Environ(), "NSTEST_SELFTEST=probe")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := cmd.Run(); err != nil {
			t.Fatalf("probe: %v", err)
		}
		return
	}
	if os.Geteuid() != 0 || inUserNamespace(t) {
		t.Skip("needs real root to build a user namespace with two users")
	}
	// The test binary's directory is private to root: copy it where
	// uid 65534 can run it.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "nstest.test")
	copyFile(t, os.Args[0], bin)

	cmd := exec.Command(bin, "-test.run=^TestSkipWithoutUserNamespaces$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NSTEST_SELFTEST=setup")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 unix.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 65534, HostID: 65534, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 65534, HostID: 65534, Size: 1}},
		GidMappingsEnableSetgroups: true,
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	const want = "nstest: not root and user namespaces unavailable"
	if !strings.Contains(string(out), "--- SKIP: TestSkipWithoutUserNamespaces") || !strings.Contains(string(out), want) {
		t.Fatalf("want a skip saying %q, got:\n%s", want, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, want) {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func inUserNamespace(t *testing.T) bool {
	t.Helper()
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(m)), " ") != "0 0 4294967295"
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
