package netprim_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestNamespaceOpeners(t *testing.T) {
	n := nstest.New(t)
	want := inode(t, n.Path)
	check := func(name string, ns *netprim.Namespace, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer ns.Close()
		if got := inode(t, "/proc/self/fd/"+strconv.Itoa(ns.FD())); got != want {
			t.Fatalf("%s: namespace inode %d, want %d", name, got, want)
		}
		// Do runs inside the namespace and leaves the caller's thread alone.
		var inside uint64
		if err := ns.Do(func() error {
			inside = inode(t, "/proc/thread-self/ns/net")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if inside != want {
			t.Fatalf("%s: Do ran in namespace %d, want %d", name, inside, want)
		}
	}
	ns, err := netprim.OpenNamespacePath(n.Path)
	check("path", ns, err)
	ns, err = netprim.NamespaceFromFD(n.FD())
	check("fd", ns, err)
	if _, err := os.Stat(netprim.NetnsDir + "/" + n.Name); err == nil {
		ns, err = netprim.OpenNamespace(n.Name)
		check("name", ns, err)
	}
	// A process inside the namespace: its pid opens the same namespace.
	// (nsenter execs sleep, so the pid is the one inside.)
	sleeper := exec.Command("nsenter", "--net="+n.Path, "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	nstest.Eventually(t, 10*time.Second, func() error {
		var st unix.Stat_t
		if err := unix.Stat("/proc/"+strconv.Itoa(sleeper.Process.Pid)+"/ns/net", &st); err != nil {
			return err
		}
		if st.Ino != want {
			return errors.New("nsenter has not entered the namespace yet")
		}
		return nil
	})
	ns, err = netprim.OpenNamespacePID(sleeper.Process.Pid)
	check("pid", ns, err)
	host, err := netprim.CurrentNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if inode(t, "/proc/self/fd/"+strconv.Itoa(host.FD())) == want {
		t.Fatal("caller's namespace is the test namespace")
	}
	var nilNS *netprim.Namespace
	if nilNS.FD() != -1 || nilNS.String() != "host" || nilNS.Close() != nil {
		t.Fatal("nil Namespace must mean the caller's namespace")
	}
}

func TestNamespaceOpenErrors(t *testing.T) {
	if _, err := netprim.OpenNamespace("../etc"); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("OpenNamespace(../etc) = %v, want ErrInvalidSpec", err)
	}
	for _, p := range []string{"/etc/hostname", "/proc/self/status", "/proc/self/ns/mnt", "/proc/self/ns/uts"} {
		if ns, err := netprim.OpenNamespacePath(p); !errors.Is(err, netprim.ErrInvalidSpec) {
			ns.Close()
			t.Errorf("OpenNamespacePath(%s) = %v, want ErrInvalidSpec", p, err)
		}
	}
	if _, err := netprim.OpenNamespacePID(-1); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("OpenNamespacePID(-1) = %v, want ErrInvalidSpec", err)
	}
	if _, err := netprim.OpenNamespacePath("/nonexistent/ns"); !errors.Is(err, netprim.ErrNotFound) {
		t.Fatalf("missing path = %v, want ErrNotFound", err)
	}
}

func TestKernelErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		errno error
		want  error
	}{
		{unix.EPERM, netprim.ErrPermission},
		{unix.ENODEV, netprim.ErrNotFound},
		{unix.EOPNOTSUPP, netprim.ErrUnsupported},
	} {
		err := netprim.KernelError("add", "link x", tc.errno)
		if !errors.Is(err, tc.want) || !errors.Is(err, tc.errno) {
			t.Errorf("KernelError(%v) = %v: want Is %v and Is errno", tc.errno, err, tc.want)
		}
		var oe *netprim.OpError
		if !errors.As(err, &oe) || oe.Object != "link x" {
			t.Errorf("KernelError(%v) is not an OpError naming the object: %v", tc.errno, err)
		}
	}
	if err := netprim.KernelError("add", "link x", unix.EPERM); err.Error() != "add link x: permission denied: needs CAP_NET_ADMIN: operation not permitted" {
		t.Errorf("EPERM message: %q", err)
	}
	if err := netprim.Unsupported("bonding", "bonding"); err.Error() != "unsupported: kernel lacks bonding: modprobe bonding" {
		t.Errorf("Unsupported message: %q", err)
	}
}

// TestDoLeavesNoThreadInside proves Do returns every thread it used to the
// caller's namespace: no thread of the process stays in the test namespace.
func TestDoLeavesNoThreadInside(t *testing.T) {
	n := nstest.New(t)
	want := inode(t, n.Path)
	for i := 0; i < 50; i++ {
		if err := n.Namespace.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		var st unix.Stat_t
		if unix.Stat("/proc/self/task/"+task.Name()+"/ns/net", &st) == nil && st.Ino == want {
			t.Fatalf("thread %s is still in the namespace after Do", task.Name())
		}
	}
}

func TestNewNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("NewNamespace needs CAP_SYS_ADMIN: run as root")
	}
	ns, err := netprim.NewNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	host, err := netprim.CurrentNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if inode(t, ns.Path()) == inode(t, host.Path()) {
		t.Fatal("new namespace is the caller's")
	}
	// ip(8), a tool of its own, sees only loopback in it.
	out, err := exec.Command("nsenter", "--net="+ns.Path(), "ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "lo:") {
		t.Fatalf("new namespace links: %q", out)
	}
}
