package vip_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/vip"
)

// frameGuard bounds waits for frames and kernel state: a frameGuard against a hang,
// never a timing assertion.
const frameGuard = 20 * time.Second

var (
	annIP4 = netip.MustParseAddr("192.0.2.10")
	annIP6 = netip.MustParseAddr("2001:db8::10")
)

// staleMAC is the address a peer's stale neighbour entry for the shared IP
// holds before the announcement: the previous owner's.
const staleMAC = "02:00:00:00:00:01"

// announceLab is a node (namespace N) with the link Link that announces,
// and a peer (namespace P) that receives the frames on its link Peer. P has
// 192.0.2.2/24 and 2001:db8::2/64; N has no address but the kernel's
// IPv6 link-local one: the announcer needs none. Duplicate address
// detection is off in both.
type announceLab struct {
	N, P       *nstest.NS
	Link, Peer string
}

// newAnnounceLab joins N and P by a veth pair (n0 in N, p0 in P). kind
// says what N announces on: "veth" (n0 itself), "macvlan" (mv0 on n0),
// "vlan" (n0.42, with p0.42 in P), "bond" (bond0, active-backup, with n0
// as its member).
func newAnnounceLab(t *testing.T, kind string) *announceLab {
	t.Helper()
	l := &announceLab{N: nstest.New(t), P: nstest.New(t), Link: "n0", Peer: "p0"}
	for _, ns := range []*nstest.NS{l.N, l.P} {
		for _, c := range []string{"all", "default"} {
			writeSysctl(t, ns, "net/ipv6/conf/"+c+"/accept_dad", "0")
		}
	}
	nstest.Veth(t, l.N, "n0", l.P, "p0")
	switch kind {
	case "veth":
	case "macvlan":
		l.N.Run(t, "ip", "link", "add", "mv0", "link", "n0", "up", "type", "macvlan", "mode", "bridge")
		l.Link = "mv0"
	case "vlan":
		l.N.Run(t, "ip", "link", "add", "n0.42", "link", "n0", "up", "type", "vlan", "id", "42")
		l.P.Run(t, "ip", "link", "add", "p0.42", "link", "p0", "up", "type", "vlan", "id", "42")
		l.Link, l.Peer = "n0.42", "p0.42"
	case "bond":
		l.N.Run(t, "ip", "link", "add", "bond0", "type", "bond", "mode", "active-backup", "miimon", "100")
		l.N.Run(t, "ip", "link", "set", "n0", "down")
		l.N.Run(t, "ip", "link", "set", "n0", "master", "bond0")
		l.N.Run(t, "ip", "link", "set", "bond0", "up")
		l.Link = "bond0"
	default:
		t.Fatalf("unknown lab kind %q", kind)
	}
	l.P.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", l.Peer)
	l.P.Run(t, "ip", "addr", "add", "2001:db8::2/64", "dev", l.Peer, "nodad")
	nstest.Settle(t, l.N)
	nstest.Settle(t, l.P)
	return l
}

// writeSysctl writes a sysctl under /proc/sys inside ns.
func writeSysctl(t testing.TB, ns *nstest.NS, key, value string) {
	t.Helper()
	err := ns.Do(func() error {
		// /proc/sys/net shows the namespace of the thread that opens it.
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
	})
	if err != nil {
		t.Fatalf("sysctl %s=%s in %s: %v", key, value, ns.Name, err)
	}
}

// macOf returns the link's address as ip reports it.
func macOf(t testing.TB, ns *nstest.NS, link string) net.HardwareAddr {
	t.Helper()
	var ls []struct {
		Address string `json:"address"`
	}
	ns.IPJSON(t, &ls, "link", "show", "dev", link)
	if len(ls) != 1 {
		t.Fatalf("ip link show dev %s: %+v", link, ls)
	}
	mac, err := net.ParseMAC(ls[0].Address)
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

type neighEntry struct {
	Dst    string   `json:"dst"`
	LLAddr string   `json:"lladdr"`
	State  []string `json:"state"`
}

// peerEntry returns the neighbour entry for ip on link as ip reports it.
func peerEntry(t testing.TB, ns *nstest.NS, ip netip.Addr, link string) (neighEntry, bool) {
	t.Helper()
	var ns2 []neighEntry
	ns.IPJSON(t, &ns2, "neigh", "show", "to", ip.String(), "dev", link)
	if len(ns2) == 0 {
		return neighEntry{}, false
	}
	return ns2[0], true
}

// staleEntry gives the peer a STALE neighbour entry for ip with staleMAC,
// as left by the previous owner of a shared IP.
func (l *announceLab) staleEntry(t *testing.T, ip netip.Addr) {
	t.Helper()
	l.P.Run(t, "ip", "neigh", "replace", ip.String(), "dev", l.Peer, "lladdr", staleMAC, "nud", "stale")
	n, ok := peerEntry(t, l.P, ip, l.Peer)
	if !ok || n.LLAddr != staleMAC || !slices.Equal(n.State, []string{"STALE"}) {
		t.Fatalf("peer's entry for %s before the announcement: %+v (found %t)", ip, n, ok)
	}
}

// awaitEntry waits until the peer's entry for ip holds mac.
func (l *announceLab) awaitEntry(t *testing.T, ip netip.Addr, mac net.HardwareAddr) {
	t.Helper()
	nstest.Eventually(t, frameGuard, func() error {
		n, ok := peerEntry(t, l.P, ip, l.Peer)
		if !ok || n.LLAddr != mac.String() {
			return fmt.Errorf("peer's entry for %s: %+v (found %t), want lladdr %s", ip, n, ok, mac)
		}
		return nil
	})
}

func openAnnouncer(t testing.TB, ns *nstest.NS, link string) *vip.Announcer {
	t.Helper()
	a, err := vip.NewAnnouncer(ns.Namespace, link)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close announcer: %v", err)
		}
	})
	return a
}

// checkARP checks one round of gratuitous ARP for ip from mac: a request
// and a reply, both broadcast.
func checkARP(t *testing.T, got []announcement, ip netip.Addr, mac net.HardwareAddr) {
	t.Helper()
	if len(got) != 2 || got[0].Kind != "garp-request" || got[1].Kind != "garp-reply" {
		t.Fatalf("frames about %s: %v, want a gratuitous request and reply", ip, got)
	}
	for _, a := range got {
		want := announcement{
			At: a.At, Kind: a.Kind, SrcMAC: mac, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			SenderMAC: mac, TargetMAC: net.HardwareAddr{0, 0, 0, 0, 0, 0}, SenderIP: ip, TargetIP: ip,
		}
		if a.Kind == "garp-reply" {
			want.TargetMAC = mac
		}
		if a.String() != want.String() {
			t.Errorf("frame\n got %v\nwant %v", a, want)
		}
	}
}

// checkNA checks one unsolicited neighbour advertisement of ip from mac.
func checkNA(t *testing.T, got []announcement, ip netip.Addr, mac net.HardwareAddr) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("frames about %s: %v, want one neighbour advertisement", ip, got)
	}
	want := announcement{
		At: got[0].At, Kind: "na", SrcMAC: mac, DstMAC: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1},
		SenderIP: ip, DstIP: netip.MustParseAddr("ff02::1"), TargetIP: ip,
		HopLimit: 255, Override: true, TLLA: mac, ChecksumOK: true,
	}
	if got[0].String() != want.String() {
		t.Errorf("frame\n got %v\nwant %v", got[0], want)
	}
}

// testAnnounceOn announces annIP4 and annIP6 once each on a lab of the given
// kind and checks the frames on the wire and that the peer's stale entries
// move to the announcing link's MAC.
func testAnnounceOn(t *testing.T, kind string) {
	l := newAnnounceLab(t, kind)
	mac := macOf(t, l.N, l.Link)
	a := openAnnouncer(t, l.N, l.Link)
	for _, ip := range []netip.Addr{annIP4, annIP6} {
		t.Run(map[bool]string{true: "IPv4", false: "IPv6"}[ip.Is4()], func(t *testing.T) {
			l.staleEntry(t, ip)
			c := startCapture(t, l.P, l.Peer)
			if err := a.Announce(context.Background(), ip); err != nil {
				t.Fatal(err)
			}
			if ip.Is4() {
				checkARP(t, c.wait(t, frameGuard, 2, aboutIP(ip)), ip, mac)
			} else {
				checkNA(t, c.wait(t, frameGuard, 1, aboutIP(ip)), ip, mac)
			}
			l.awaitEntry(t, ip, mac)
			if n, _ := peerEntry(t, l.P, ip, l.Peer); !slices.Equal(n.State, []string{"STALE"}) {
				t.Errorf("peer's entry for %s after the announcement: %+v, want STALE", ip, n)
			}
		})
	}
}

// TestAnnounce announces on a veth and on a macvlan (whose MAC differs from
// its lower link's): the frames carry the announcing link's MAC and the
// peer's STALE entries for the shared IPv4 and IPv6 address move to it.
func TestAnnounce(t *testing.T) {
	for _, kind := range []string{"veth", "macvlan"} {
		t.Run(kind, func(t *testing.T) { testAnnounceOn(t, kind) })
	}
}

// TestAnnounceVLAN announces on an 802.1Q VLAN link; the peer receives on
// its VLAN link of the same id. The host kernel here lacks 8021q: the test
// runs on the kernel tier (scripts/kerneltest -run TestAnnounceVLAN ./vip/).
func TestAnnounceVLAN(t *testing.T) {
	nstest.RequireModules(t, "8021q")
	testAnnounceOn(t, "vlan")
}

// TestAnnounceBond announces on an active-backup bond. The host kernel here
// lacks bonding: the test runs on the kernel tier (scripts/kerneltest -run
// TestAnnounceBond ./vip/).
func TestAnnounceBond(t *testing.T) {
	nstest.RequireModules(t, "bonding")
	testAnnounceOn(t, "bond")
}

type roundReport struct {
	round int
	at    time.Time
	err   error
}

// roundReports collects the reports of a Run.
type roundReports struct {
	mu  sync.Mutex
	got []roundReport
	ch  chan struct{} // receives after each report
}

func newRoundReports() *roundReports { return &roundReports{ch: make(chan struct{}, 100)} }

func (r *roundReports) report(round int, at time.Time, err error) {
	r.mu.Lock()
	r.got = append(r.got, roundReport{round, at, err})
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *roundReports) all() []roundReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]roundReport(nil), r.got...)
}

// await waits for the n-th report.
func (r *roundReports) await(t *testing.T, n int) {
	t.Helper()
	for len(r.all()) < n {
		select {
		case <-r.ch:
		case <-time.After(frameGuard):
			t.Fatalf("%d of %d reports after %v", len(r.all()), n, frameGuard)
		}
	}
}

// runAnnouncer starts Run and returns a channel closed when it returns; the
// test waits for that at its end.
func runAnnouncer(t *testing.T, a *vip.Announcer, ctx context.Context, ip netip.Addr, o vip.AnnounceOptions, r *roundReports) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, ip, o, r.report)
	}()
	t.Cleanup(func() { <-done })
	return done
}

// TestRunBurst runs a burst of three rounds and then refresh rounds, for
// IPv4 and IPv6: each round is one gratuitous request and reply, or one
// advertisement; the rounds are reported in order, each with the time its
// first frame went out, and no two rounds are closer than the interval (or
// the refresh period), as the reports and the peer's receive timestamps
// show.
func TestRunBurst(t *testing.T) {
	l := newAnnounceLab(t, "veth")
	mac := macOf(t, l.N, l.Link)
	a := openAnnouncer(t, l.N, l.Link)
	const (
		count    = 3
		interval = 60 * time.Millisecond
		refresh  = 150 * time.Millisecond
		rounds   = count + 2
	)
	for _, ip := range []netip.Addr{annIP4, annIP6} {
		t.Run(map[bool]string{true: "IPv4", false: "IPv6"}[ip.Is4()], func(t *testing.T) {
			c := startCapture(t, l.P, l.Peer)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := newRoundReports()
			done := runAnnouncer(t, a, ctx, ip, vip.AnnounceOptions{Count: count, Interval: interval, Refresh: refresh}, r)
			r.await(t, rounds)
			cancel()
			<-done
			got := r.all()
			perRound := 2
			if ip.Is6() {
				perRound = 1
			}
			frames := c.wait(t, frameGuard, len(got)*perRound, aboutIP(ip))
			if len(frames) != len(got)*perRound {
				t.Fatalf("%d rounds reported, %d frames seen:\n%s", len(got), len(frames), c)
			}
			for i, rr := range got {
				if rr.round != i+1 || rr.err != nil || rr.at.IsZero() {
					t.Errorf("report %d: round %d at %v, error %v", i, rr.round, rr.at, rr.err)
				}
				round := frames[i*perRound : (i+1)*perRound]
				if ip.Is4() {
					checkARP(t, round, ip, mac)
				} else {
					checkNA(t, round, ip, mac)
				}
				if i == 0 {
					continue
				}
				gap := interval
				if i >= count {
					gap = refresh
				}
				if d := rr.at.Sub(got[i-1].at); d < gap {
					t.Errorf("round %d reported %v after round %d, want at least %v", rr.round, d, i, gap)
				}
				// Wall clock: the receive timestamps carry no monotonic
				// reading. Allow for the clock being slewed meanwhile.
				if d := round[0].At.Sub(frames[(i-1)*perRound].At); d < gap-time.Millisecond {
					t.Errorf("round %d received %v after round %d, want at least %v", rr.round, d, i, gap)
				}
			}
		})
	}
}

// TestRunStops: Run returns when its context ends while it waits for the
// next round of a burst or for a refresh, and when the announcer is closed;
// it returns after the last round of a burst without refresh, and sends no
// round at all when the context has ended before it starts. The waits are
// an hour long: Run returning at all proves that it stopped waiting.
func TestRunStops(t *testing.T) {
	l := newAnnounceLab(t, "veth")
	a := openAnnouncer(t, l.N, l.Link)
	await := func(t *testing.T, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(frameGuard):
			t.Fatalf("Run still running %v after it was told to stop", frameGuard)
		}
	}
	t.Run("cancel in burst", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := newRoundReports()
		done := runAnnouncer(t, a, ctx, annIP4, vip.AnnounceOptions{Count: 5, Interval: time.Hour}, r)
		r.await(t, 1)
		cancel()
		await(t, done)
		if got := r.all(); len(got) != 1 {
			t.Errorf("reports: %+v, want round 1 only", got)
		}
	})
	t.Run("cancel in refresh", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := newRoundReports()
		done := runAnnouncer(t, a, ctx, annIP6, vip.AnnounceOptions{Count: 2, Interval: 10 * time.Millisecond, Refresh: time.Hour}, r)
		r.await(t, 2)
		cancel()
		await(t, done)
		if got := r.all(); len(got) != 2 {
			t.Errorf("reports: %+v, want rounds 1 and 2", got)
		}
	})
	t.Run("burst ends", func(t *testing.T) {
		r := newRoundReports()
		done := runAnnouncer(t, a, context.Background(), annIP4, vip.AnnounceOptions{Count: 2, Interval: 10 * time.Millisecond}, r)
		await(t, done)
		if got := r.all(); len(got) != 2 || got[1].round != 2 {
			t.Errorf("reports: %+v, want rounds 1 and 2", got)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := newRoundReports()
		await(t, runAnnouncer(t, a, ctx, annIP4, vip.AnnounceOptions{}, r))
		if got := r.all(); len(got) != 0 {
			t.Errorf("reports: %+v, want none", got)
		}
	})
	t.Run("closed", func(t *testing.T) {
		b := openAnnouncer(t, l.N, l.Link)
		r := newRoundReports()
		done := runAnnouncer(t, b, context.Background(), annIP4, vip.AnnounceOptions{Count: 5, Interval: time.Hour}, r)
		r.await(t, 1)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		await(t, done)
		if err := b.Announce(context.Background(), annIP4); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Announce after Close: %v, want net.ErrClosed", err)
		}
	})
}

// TestAnnouncerErrors: an unknown link is ErrNotFound and named, a link
// without an Ethernet address (loopback) ErrUnsupported, an address that
// cannot be announced ErrInvalidSpec, a cancelled context its error, a
// link that is down the kernel's error.
func TestAnnouncerErrors(t *testing.T) {
	l := newAnnounceLab(t, "veth")
	_, err := vip.NewAnnouncer(l.N.Namespace, "nosuch0")
	if !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("unknown link: %v, want ErrNotFound naming nosuch0", err)
	}
	// The link exists in P only: N's is looked up in N.
	if _, err := vip.NewAnnouncer(l.N.Namespace, l.Peer); !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("link of another namespace: %v, want ErrNotFound", err)
	}
	if _, err := vip.NewAnnouncer(l.N.Namespace, "lo"); !errors.Is(err, netprim.ErrUnsupported) {
		t.Errorf("loopback: %v, want ErrUnsupported", err)
	}
	a := openAnnouncer(t, l.N, l.Link)
	for _, ip := range []netip.Addr{{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::1"), netip.MustParseAddr("ff02::1"), netip.MustParseAddr("224.0.0.1")} {
		if err := a.Announce(context.Background(), ip); !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("Announce(%v): %v, want ErrInvalidSpec", ip, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Announce(ctx, annIP4); !errors.Is(err, context.Canceled) {
		t.Errorf("Announce with a cancelled context: %v", err)
	}
	l.N.Run(t, "ip", "link", "set", l.Link, "down")
	if err := a.Announce(context.Background(), annIP4); err == nil || !strings.Contains(err.Error(), l.Link) {
		t.Errorf("Announce on a link that is down: %v, want an error naming %s", err, l.Link)
	}
}

// permissionChildEnv marks the child process of TestAnnouncerPermission.
const permissionChildEnv = "NETPRIM_VIP_PERMISSION_CHILD"

// TestAnnouncerPermission: without CAP_NET_RAW over the namespace
// NewAnnouncer fails with ErrPermission naming the capability. The test
// runs itself again as root of a new user namespace that does not own
// the network namespace it is in, so it has no capability there; the child
// only tries to open the socket, which the kernel refuses.
func TestAnnouncerPermission(t *testing.T) {
	if os.Getenv(permissionChildEnv) != "" {
		_, err := vip.NewAnnouncer(nil, "lo")
		if !errors.Is(err, netprim.ErrPermission) || !strings.Contains(err.Error(), "CAP_NET_RAW") {
			t.Fatalf("NewAnnouncer without CAP_NET_RAW: %v, want ErrPermission naming CAP_NET_RAW", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAnnouncerPermission$", "-test.v")
	cmd.Env = append(os.Environ(), permissionChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Skipf("cannot start a process in a new user namespace: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestAnnouncerPermission") {
		t.Fatalf("child in a user namespace without CAP_NET_RAW: %v\n%s", err, out)
	}
}

// TestAnnounceFollowsLink: after the link was deleted and a link of the
// same name created (new index, new MAC), the next round goes out on the
// new link with the new MAC.
func TestAnnounceFollowsLink(t *testing.T) {
	l := newAnnounceLab(t, "veth")
	a := openAnnouncer(t, l.N, l.Link)
	old := macOf(t, l.N, l.Link)
	if err := a.Announce(context.Background(), annIP4); err != nil {
		t.Fatal(err)
	}
	l.N.Run(t, "ip", "link", "del", l.Link)
	nstest.Veth(t, l.N, l.Link, l.P, l.Peer)
	nstest.Settle(t, l.N)
	nstest.Settle(t, l.P)
	mac := macOf(t, l.N, l.Link)
	if mac.String() == old.String() {
		t.Fatalf("the new %s has the old MAC %s", l.Link, mac)
	}
	c := startCapture(t, l.P, l.Peer)
	if err := a.Announce(context.Background(), annIP4); err != nil {
		t.Fatal(err)
	}
	checkARP(t, c.wait(t, frameGuard, 2, aboutIP(annIP4)), annIP4, mac)
}

// BenchmarkAnnounce times one round on a veth (two frames for IPv4, one
// for IPv6), and the time from NewAnnouncer to the first frame of the
// first round: what a new owner of a shared IP spends before its
// neighbours hear of it.
func BenchmarkAnnounce(b *testing.B) {
	n, p := nstest.New(b), nstest.New(b)
	nstest.Veth(b, n, "n0", p, "p0")
	nstest.Settle(b, n)
	for _, ip := range []netip.Addr{annIP4, annIP6} {
		b.Run("round/"+map[bool]string{true: "IPv4", false: "IPv6"}[ip.Is4()], func(b *testing.B) {
			a := openAnnouncer(b, n, "n0")
			ctx := context.Background()
			for b.Loop() {
				if err := a.Announce(ctx, ip); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("new-to-first-frame", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			a, err := vip.NewAnnouncer(n.Namespace, "n0")
			if err != nil {
				b.Fatal(err)
			}
			var at time.Time
			a.Run(context.Background(), annIP4, vip.AnnounceOptions{Count: 1}, func(_ int, t time.Time, err error) {
				if err != nil {
					b.Fatal(err)
				}
				at = t
			})
			total += at.Sub(start)
			a.Close()
		}
		b.ReportMetric(float64(total.Microseconds())/float64(b.N), "us/first-frame")
	})
}

// The new owner of a shared IP, which it has just added to eth0, tells the
// link's neighbours: a round at once, four more 1.1 s apart (the
// defaults), then one every 3 s for as long as it owns the address.
func ExampleAnnouncer_Run() {
	a, err := vip.NewAnnouncer(nil, "eth0")
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a.Run(ctx, netip.MustParseAddr("192.0.2.10"), vip.AnnounceOptions{Refresh: 3 * time.Second},
		func(round int, at time.Time, err error) {
			if err != nil {
				log.Printf("announcement round %d: %v", round, err)
			}
		})
}
