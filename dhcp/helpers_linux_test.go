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
		// Stay root, and change no group: in a user namespace (the
		// rootless tier) setgroups is denied.
		"--user=root", "--group=",
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

// renewedKept fails the test unless renewal r kept bound b's address and
// no lease ended (expired) between them.
func (e *events) renewedKept(t testing.TB, b, r dhcp.Event) {
	t.Helper()
	addr := func(ev dhcp.Event) string {
		if ev.Lease != nil {
			return ev.Lease.Address.String()
		}
		return ev.Lease6.Address.String()
	}
	if addr(r) != addr(b) {
		t.Errorf("renewed %s, bound %s", addr(r), addr(b))
	}
	for _, k := range e.kinds() {
		if strings.HasPrefix(k, dhcp.EventExpired.String()) {
			t.Errorf("the lease was dropped while valid: events %v", e.kinds())
			break
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
// when the lease is gone) and records the event. A renewal's specs carry
// the lease's new end: setting them runs a pass.
func feed(t testing.TB, src *reconcile.Source, ev *events) func(dhcp.Event) {
	return func(e dhcp.Event) {
		switch e.Kind {
		case dhcp.EventBound, dhcp.EventRenewed, dhcp.EventChanged:
			if err := src.Set(stateOf(e.Specs)); err != nil {
				t.Errorf("source set: %v", err)
			}
		case dhcp.EventExpired, dhcp.EventReleased, dhcp.EventDeclined:
			src.Clear()
		}
		ev.add(e)
	}
}

// reconciler starts a Reconciler for n writing resolver files under
// root, closed when t ends, and returns its source "dhcp".
func reconciler(t testing.TB, n *nstest.NS, root string, opts ...reconcile.Option) *reconcile.Source {
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
	return src
}

// endsWithLease checks that the kernel does not keep an address past
// end, the expiry of the lease held: valid, the address's remaining whole
// seconds read after before, must be less than the time from before to
// end plus one second of the kernel's rounding and one second for the time
// between planning and writing the lifetime, and clock ticks. Read the
// lease after the address: a renewal only moves its end later.
func endsWithLease(valid uint32, before, end time.Time) error {
	if end.IsZero() {
		return fmt.Errorf("no lease held, or an infinite one")
	}
	if left := end.Sub(before); time.Duration(valid)*time.Second >= left+2*time.Second {
		return fmt.Errorf("the kernel keeps the address %d s, past the lease's end in %v", valid, left)
	}
	return nil
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
