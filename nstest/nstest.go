// Package nstest gives each test a throwaway network namespace on the real
// kernel, so tests of code built on netprim prove behaviour against the
// kernel without touching the host's own network.
package nstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// NS is a throwaway network namespace owned by one test.
type NS struct {
	// Namespace is the open namespace; pass it to netprim functions.
	*netprim.Namespace
	// Name is the namespace's name; when Path is under netprim.NetnsDir
	// "ip -n NAME" works too.
	Name string
	// Path is a file that refers to the namespace while the test runs.
	Path string
}

// New creates a fresh network namespace with its loopback up, removed when
// the test ends. It skips the test, saying why, when namespaces cannot be
// created (neither root nor user namespaces available).
func New(t testing.TB) *NS {
	t.Helper()
	if reason := unavailable(); reason != "" {
		t.Skip(reason)
	}
	name := "nstest-" + randHex(6)
	fd, err := newNetns()
	if err != nil {
		t.Fatalf("nstest: create namespace: %v", err)
	}
	ns, err := netprim.NamespaceFromFD(fd)
	unix.Close(fd)
	if err != nil {
		t.Fatalf("nstest: %v", err)
	}
	n := &NS{Namespace: ns, Name: name, Path: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.FD())}
	if p, err := bindNamed(ns, name); err == nil {
		n.Path = p
		t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH); os.Remove(p) })
	}
	t.Cleanup(func() { ns.Close() })
	if _, err := n.Exec("ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("nstest: lo up: %v", err)
	}
	return n
}

// Exec runs a command inside the namespace and returns its standard output;
// the error includes standard error.
func (n *NS) Exec(name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("nsenter", append([]string{"--net=" + n.Path, "--", name}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v in %s: %w: %s", name, args, n.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// Run is Exec that fails the test on error.
func (n *NS) Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := n.Exec(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// IPJSON runs "ip -j ARGS..." inside the namespace and decodes its output
// into v; the test fails on error.
func (n *NS) IPJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out := n.Run(t, "ip", append([]string{"-j"}, args...)...)
	if len(bytes.TrimSpace(out)) == 0 {
		out = []byte("[]")
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("ip -j %v: %v: %s", args, err, out)
	}
}

// Eventually calls cond until it returns nil or timeout passes, then fails
// the test with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newNetns creates a network namespace on a throwaway thread and returns an
// fd for it.
func newNetns() (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{-1, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// bindNamed makes the namespace visible as netprim.NetnsDir/name so that
// "ip -n name" and netprim.OpenNamespace(name) find it.
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
	src := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.FD())
	if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(p)
		return "", err
	}
	return p, nil
}

func unavailable() string {
	if _, err := exec.LookPath("nsenter"); err != nil {
		return "nstest: nsenter (util-linux) not found in PATH"
	}
	if os.Geteuid() != 0 {
		return "nstest: not root and not in a user namespace: run as root or through nstest.Main"
	}
	return ""
}
