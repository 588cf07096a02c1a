package nstest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// New creates a fresh network namespace with its loopback up, removed when
// the test ends. It never touches the namespace the test runs in.
//
// As root it creates the namespace directly and binds it at
// netprim.NetnsDir/n.Name. Not root, it needs Main: the tests then run as
// root of a user namespace. When neither is possible New skips the test,
// saying exactly why.
func New(t testing.TB) *NS {
	t.Helper()
	if reason := unavailable(); reason != "" {
		t.Skip(reason)
	}
	ns, err := newNamespace()
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("nstest: cannot create a network namespace (needs CAP_SYS_ADMIN): %v", err)
		}
		t.Fatalf("nstest: %v", err)
	}
	t.Cleanup(func() { ns.Close() }) // registered first: runs after the unbind
	name := "nstest-" + randHex(6)
	n := &NS{Namespace: ns, Name: name, Path: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.FD())}
	if p, err := bindNamed(ns, name); err == nil {
		n.Path = p
		t.Cleanup(func() {
			if err := unbind(p); err != nil {
				t.Errorf("nstest: %v", err)
			}
		})
	}
	if err := loopbackUp(ns); err != nil {
		t.Fatalf("nstest: %s: %v", name, err)
	}
	return n
}

// Exec runs a command inside the namespace and returns its standard output;
// the error includes standard error. The command is forked from an OS thread
// switched into the namespace and back (no nsenter in between), so it costs
// one fork and exec.
func (n *NS) Exec(name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := startIn(n.Namespace, cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %q in %s: %w: %s", name, args, n.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// startIn starts cmd in ns: the child inherits the network namespace of the
// thread that forks it. The thread is switched back before it is unlocked;
// if that fails it stays locked and the runtime discards it.
func startIn(ns *netprim.Namespace, cmd *exec.Cmd) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("open current netns: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.FD(), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = cmd.Start()
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			if err == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
			ch <- fmt.Errorf("return to the original netns: %w", rerr)
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}

// rootlessReason is set by Main, before any test runs, when the tests could
// not be re-run in a user namespace.
var rootlessReason string

// unavailable says why namespaces cannot be created, or "" when they can.
func unavailable() string {
	if os.Geteuid() == 0 {
		return ""
	}
	if rootlessReason != "" {
		return rootlessReason
	}
	return "nstest: not root: run as root, or call nstest.Main(m) from TestMain to re-run the tests in a user namespace"
}

// newNamespace creates a network namespace. unshare(2) moves the calling
// thread into it, so this runs on a locked thread that is switched back to
// the namespace it came from before it is unlocked. The thread must not just
// exit instead: when it is the process's main thread the Go runtime parks it
// for good, which would keep the namespace alive after the test.
func newNamespace() (*netprim.Namespace, error) {
	type result struct {
		ns  *netprim.Namespace
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("open current netns: %w", err)}
			return
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
			return
		}
		ns, err := netprim.OpenNamespacePath("/proc/thread-self/ns/net")
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// Stay locked: the runtime discards the thread.
			ns.Close()
			ch <- result{nil, fmt.Errorf("return to the original netns: %w", rerr)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{ns, err}
	}()
	r := <-ch
	return r.ns, r.err
}

// loopbackUp sets lo up through netlink (no fork: cheap on the kernel tier).
func loopbackUp(ns *netprim.Namespace) error {
	h, err := handle(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// bindNamed makes the namespace visible as netprim.NetnsDir/name so that
// "ip -n name" and netprim.OpenNamespace(name) find it. It fails, and New
// falls back to the /proc path, where NetnsDir is not writable (in a user
// namespace without the private NetnsDir that Main mounts).
func bindNamed(ns *netprim.Namespace, name string) (string, error) {
	if err := os.MkdirAll(netprim.NetnsDir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(netprim.NetnsDir, name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return "", err
	}
	f.Close()
	src := fmt.Sprintf("/proc/self/fd/%d", ns.FD())
	if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(p)
		return "", err
	}
	return p, nil
}

// unbind unmounts p and removes it. When NetnsDir is a shared mount with
// propagation peers ("ip netns add" makes it one, by binding it over
// itself), the bind mount has a copy per peer stacked on p: every copy is
// unmounted, or p stays busy.
func unbind(p string) error {
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s: %w", p, err)
	}
	for range 16 {
		if unix.Unmount(p, unix.MNT_DETACH) != nil {
			break // EINVAL: no mount left on p
		}
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}
