package dhcp_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// Addresses of the test network: the server's side of the veth pair.
const (
	serverIP   = "10.77.0.1"
	clientMAC  = "02:00:00:77:00:10"
	fixedIP    = "10.77.0.60"
	serverLink = "vs0"
	clientLink = "vc0"
)

// lab is a server namespace S and a client namespace C joined by a veth
// pair vs0 (in S, 10.77.0.1/24) and vc0 (in C, MAC clientMAC).
type lab struct {
	S, C *nstest.NS
	// srvLink is where dnsmasq serves: serverLink unless changed.
	srvLink string
}

// hostTier skips on the kernel tier: these tests need nothing the host
// kernel lacks, and run there.
func hostTier(t *testing.T) {
	t.Helper()
	if nstest.InKernelTier() {
		t.Skip("runs on the host kernel tier (needs nothing the kernel tier adds)")
	}
}

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		t.Skipf("%s not installed (Debian package %s; scripts/deps installs it)", name, name)
	}
	return p
}

func newLab(t testing.TB) *lab {
	t.Helper()
	l := &lab{S: nstest.New(t), C: nstest.New(t), srvLink: serverLink}
	nstest.Veth(t, l.S, serverLink, l.C, clientLink)
	l.C.Run(t, "ip", "link", "set", clientLink, "address", clientMAC)
	l.S.Run(t, "ip", "addr", "add", serverIP+"/24", "dev", serverLink)
	return l
}

// proc is a process started in a namespace, stopped by PID at cleanup.
type proc struct {
	cmd *exec.Cmd
	out *lockedBuffer
	mu  sync.Mutex
	end chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startIn starts a process in n (nsenter execs it: the PID is the
// program's own) and stops it by PID when the test ends.
func startIn(t testing.TB, n *nstest.NS, name string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &lockedBuffer{}, end: make(chan struct{})}
	p.cmd = exec.Command("nsenter", append([]string{"--net=" + n.Path, "--", name}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.end) }()
	t.Cleanup(p.stop)
	return p
}

// stop kills the process by its PID and waits for it.
func (p *proc) stop() {
	select {
	case <-p.end:
		return
	default:
	}
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.end:
	case <-time.After(3 * time.Second):
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.end
	}
}

// dnsmasq starts dnsmasq (Debian) serving DHCP on vs0 of S, with extra
// options, and stops it by PID at cleanup. Its leases, log and PID file
// are in a temporary directory.
func (l *lab) dnsmasq(t testing.TB, extra ...string) *proc {
	t.Helper()
	bin := needTool(t, "dnsmasq")
	dir := t.TempDir()
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--no-ping", "--port=0",
		"--bind-interfaces", "--interface=" + l.srvLink, "--except-interface=lo",
		"--user=root", "--group=root",
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"),
		"--pid-file=" + filepath.Join(dir, "pid"),
		"--log-facility=-", "--log-dhcp",
		"--dhcp-authoritative",
	}
	p := startIn(t, l.S, bin, append(args, extra...)...)
	// Wait until it listens on port 67 (DHCPv4) or 547 (DHCPv6).
	nstest.Eventually(t, 5*time.Second, func() error {
		select {
		case <-p.end:
			t.Fatalf("dnsmasq exited: %s", p.out)
		default:
		}
		out, err := l.S.Exec("ss", "-Hlun")
		if err != nil {
			return err
		}
		if !strings.Contains(string(out), ":67 ") && !strings.Contains(string(out), ":547 ") {
			return fmt.Errorf("dnsmasq not listening yet")
		}
		return nil
	})
	return p
}

// events collects a client's events.
type events struct {
	mu  sync.Mutex
	all []dhcp.Event
	ch  chan dhcp.Event
}

func newEvents() *events { return &events{ch: make(chan dhcp.Event, 100)} }

func (e *events) add(ev dhcp.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

// wait returns the next event of kind k, failing after timeout.
func (e *events) wait(t testing.TB, k dhcp.EventKind, timeout time.Duration) dhcp.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == k {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event after %v; events: %v", k, timeout, e.kinds())
		}
	}
}

func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		s := ev.Kind.String()
		if ev.Err != nil {
			s += "(" + ev.Err.Error() + ")"
		}
		out = append(out, s)
	}
	return out
}

// stateOf turns a lease's specs into a reconcile state.
func stateOf(s dhcp.Specs) reconcile.State {
	return reconcile.State{
		Links:     reconcile.Links(s.Links...),
		Addresses: s.Addresses,
		Routes:    s.Routes,
		Resolvers: s.Resolvers,
		Hostname:  s.Hostname,
	}
}

// feed returns an OnEvent that sets src from each event (clearing it
// when the lease is gone), has r refresh the address's lifetimes on a
// renewal, and records the event.
func feed(t testing.TB, r *reconcile.Reconciler, src *reconcile.Source, ev *events) func(dhcp.Event) {
	return func(e dhcp.Event) {
		switch e.Kind {
		case dhcp.EventBound, dhcp.EventRenewed, dhcp.EventChanged:
			if err := src.Set(stateOf(e.Specs)); err != nil {
				t.Errorf("source set: %v", err)
			}
			if e.Kind == dhcp.EventRenewed {
				// Same specs: Set runs no pass; the kernel's lifetimes
				// still need refreshing.
				r.Trigger(reconcile.StageAddresses)
			}
		case dhcp.EventExpired, dhcp.EventReleased:
			src.Clear()
		}
		ev.add(e)
	}
}

// reconciler returns a started Reconciler for n writing resolver files
// under root, with a source "dhcp".
func reconciler(t testing.TB, n *nstest.NS, root string, opts ...reconcile.Option) (*reconcile.Reconciler, *reconcile.Source) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := reconcile.New(n.Namespace, append([]reconcile.Option{reconcile.WithRoot(root)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	src, err := r.AddSource("dhcp", 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return r, src
}

// run starts c.Run and returns a function that stops it and waits.
func run(t testing.TB, runFn func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runFn(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return 10 s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// fastTiming retransmits quickly, for tests.
var fastTiming = dhcp.Timing{Initial: 200 * time.Millisecond, Max: time.Second, RenewMin: 200 * time.Millisecond}
