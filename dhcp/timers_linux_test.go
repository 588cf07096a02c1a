package dhcp_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
)

// server4 is an in-process DHCPv4 server (insomniacslk's server4) in the
// server namespace, with leases as short as a test needs. It listens on
// two sockets of vs0: one bound to the server's address, which receives
// the messages sent to it (unicast), and one bound to the wildcard
// address, which receives the broadcasts.
type testServer4 struct {
	mu          sync.Mutex
	lease       time.Duration
	t1, t2      time.Duration // zero: not sent
	yiaddr      net.IP
	down        bool          // answer nothing
	ignoreRenew bool          // answer no unicast REQUEST (a renewal)
	nakReboot   bool          // answer an INIT-REBOOT REQUEST with a DHCPNAK
	ackDelay    time.Duration // wait this long before each DHCPACK
	seen        []seen4
	unicast     net.PacketConn // the socket bound to the server's address
}

// seen4 is one message the server received.
type seen4 struct {
	Type    dhcpv4.MessageType
	Peer    netip.Addr // IP source address; server4 reports 0.0.0.0 as 255.255.255.255
	Unicast bool       // sent to the server's address, not broadcast
	CIAddr  netip.Addr
	PRL     []uint8
	At      time.Time // when the server read it
}

func startServer4(t testing.TB, l *lab, lease, t1, t2 time.Duration) *testServer4 {
	t.Helper()
	s := &testServer4{lease: lease, t1: t1, t2: t2, yiaddr: net.ParseIP("10.77.0.70").To4()}
	var conns []net.PacketConn
	err := l.S.Do(func() error {
		for _, a := range []net.IP{net.IPv4zero, net.ParseIP(serverIP)} {
			pc, err := server4.NewIPv4UDPConn(serverLink, &net.UDPAddr{IP: a, Port: 67})
			if err != nil {
				return err
			}
			conns = append(conns, pc)
		}
		return nil
	})
	for _, pc := range conns {
		t.Cleanup(func() { pc.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	s.unicast = conns[1]
	for _, pc := range conns {
		srv, err := server4.NewServer("", nil, s.handle, server4.WithConn(pc))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { srv.Serve(); close(done) }()
		t.Cleanup(func() { srv.Close(); <-done })
	}
	return s
}

func (s *testServer4) set(f func(*testServer4)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func (s *testServer4) messages() []seen4 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

func (s *testServer4) handle(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
	s.mu.Lock()
	defer s.mu.Unlock()
	up := peer.(*net.UDPAddr)
	src, _ := netip.AddrFromSlice(up.IP.To4())
	ci, _ := netip.AddrFromSlice(m.ClientIPAddr.To4())
	var prl []uint8
	for _, c := range m.ParameterRequestList() {
		prl = append(prl, c.Code())
	}
	unicast := conn == s.unicast
	s.seen = append(s.seen, seen4{Type: m.MessageType(), Peer: src, Unicast: unicast, CIAddr: ci, PRL: prl, At: time.Now()})
	if s.down || (s.ignoreRenew && unicast) {
		return
	}
	var typ dhcpv4.MessageType
	switch m.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		typ = dhcpv4.MessageTypeAck
		if s.nakReboot && m.ServerIdentifier() == nil && (!ci.IsValid() || ci.IsUnspecified()) {
			nak, err := dhcpv4.NewReplyFromRequest(m,
				dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(serverIP))),
				dhcpv4.WithOption(dhcpv4.OptMessage("wrong network")),
			)
			if err == nil {
				conn.WriteTo(nak.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: 68})
			}
			return
		}
	default:
		return
	}
	reply, err := dhcpv4.NewReplyFromRequest(m,
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithYourIP(s.yiaddr),
		dhcpv4.WithServerIP(net.ParseIP(serverIP)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(serverIP))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(s.lease)),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.ParseIP(serverIP))),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.ParseIP("10.77.0.53"))),
	)
	if err != nil {
		return
	}
	if s.t1 > 0 {
		reply.UpdateOption(dhcpv4.OptRenewTimeValue(s.t1))
		reply.UpdateOption(dhcpv4.OptRebindingTimeValue(s.t2))
	}
	if typ == dhcpv4.MessageTypeAck && s.ackDelay > 0 {
		// Late, without holding up the next message (a closed conn
		// after the test just fails the write).
		time.AfterFunc(s.ackDelay, func() { conn.WriteTo(reply.ToBytes(), up) })
		return
	}
	conn.WriteTo(reply.ToBytes(), up)
}

// runApplied runs a DHCPv4 client (fastTiming) on the lab's client link
// whose leases a Reconciler with opts applies (a renewal is sent from the
// leased address, which must be there), until the test ends.
func runApplied(t *testing.T, l *lab, opts ...reconcile.Option) (*dhcp.Client, *events) {
	t.Helper()
	src := reconciler(t, l.C, t.TempDir(), opts...)
	ev := newEvents()
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, Timing: fastTiming, OnEvent: feed(t, src, ev)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	return c, ev
}

// TestLeaseTimers runs an 8 s lease (T1 1 s, T2 3 s) through its whole
// life with reconcile applying it: renew at T1 (unicast, from the leased
// address, with the parameter request list) with no address removed;
// rebind at T2 (broadcast) when renewals go unanswered; expiry when the
// server is gone, which removes the address and the default route;
// re-acquisition when the server is back. All along, the kernel never
// keeps the address past the end of the lease held, and each renewal
// moves that end in the kernel (the first binding's end passes with the
// address in place). A capture on the server's link checks the IP source
// and destination and the ciaddr of every REQUEST (RFC 2131 4.1, 4.3.2,
// 4.4.5).
func TestLeaseTimers(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	wire := captureDHCP4(t, l.S, serverLink)
	srv := startServer4(t, l, 8*time.Second, time.Second, 3*time.Second)
	// A pass every second besides those the renewals' specs cause: they
	// must not push the address's countdown past the lease's end.
	c, ev := runApplied(t, l, reconcile.WithResync(time.Second))
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	if b.Lease.T1 != time.Second || b.Lease.T2 != 3*time.Second {
		t.Errorf("T1 %v T2 %v, want the server's 1s and 3s", b.Lease.T1, b.Lease.T2)
	}
	leased := b.Lease.Address.Addr()
	hasAddr := func() error {
		before := time.Now()
		as := kernelAddrs(t, l.C, clientLink)
		if len(as) != 1 || as[0].Local != leased.String() {
			return fmt.Errorf("addresses %+v", as)
		}
		var end time.Time
		if held := c.Lease(); held != nil {
			end = held.Expiry()
		}
		return endsWithLease(as[0].Valid, before, end)
	}
	nstest.Eventually(t, 5*time.Second, hasAddr)
	dels := watchDeletes(t, l, leased)
	mon := startIn(t, l.C, "ip", "-ts", "monitor", "address")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bound %v monitor:\n%s\n%v", b.Lease.BoundAt, mon.out, ev.kinds())
		}
	})

	// RENEWING at T1: unicast from the leased address.
	r := ev.wait(t, dhcp.EventRenewed, 5*time.Second)
	if since := time.Since(b.Lease.BoundAt); since < 900*time.Millisecond {
		t.Errorf("renewed %v after binding, before T1", since)
	}
	if r.Lease.Address.Addr() != leased {
		t.Errorf("renewed %s", r.Lease.Address)
	}
	var renew *seen4
	for _, m := range srv.messages() {
		if m.Type == dhcpv4.MessageTypeRequest && m.Unicast {
			renew = &m
			break
		}
	}
	switch {
	case renew == nil:
		t.Fatalf("no unicast renewal REQUEST: %+v", srv.messages())
	case renew.Peer != leased || renew.CIAddr != leased:
		t.Errorf("renewal from %s with ciaddr %s, want both the leased address %s", renew.Peer, renew.CIAddr, leased)
	}
	for _, o := range []uint8{1, 3, 6, 26, 119, 121} {
		if !slices.Contains(renew.PRL, o) {
			t.Errorf("renewal's parameter request list %v lacks %d", renew.PRL, o)
		}
	}

	// REBINDING at T2 when renewals go unanswered.
	srv.set(func(s *testServer4) { s.ignoreRenew = true })
	n := len(srv.messages())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server saw: %+v", srv.messages())
		}
	})
	ev.wait(t, dhcp.EventRenewed, 6*time.Second)
	var rebind bool
	for _, m := range srv.messages()[n:] {
		if m.Type == dhcpv4.MessageTypeRequest && !m.Unicast && m.CIAddr == leased && m.Peer == leased {
			rebind = true
		}
	}
	if !rebind {
		t.Errorf("no broadcast rebinding REQUEST from %s: %+v", leased, srv.messages()[n:])
	}
	// The capture reads on a goroutine of its own, which may still be
	// behind the server.
	nstest.Eventually(t, 5*time.Second, func() error { return requestsOnWire(wire.messages(), leased) })
	nstest.Eventually(t, time.Second, hasAddr)
	// Past the end of the first binding (8 s): the renewals moved it.
	time.Sleep(time.Until(b.Lease.Expiry().Add(500 * time.Millisecond)))
	if err := hasAddr(); err != nil {
		t.Error(err)
	}
	if d := dels(); d != 0 {
		t.Errorf("renewing and rebinding deleted the address %d times (RTM_DELADDR)", d)
	}

	// Expiry: the server is gone; address and routes go.
	srv.set(func(s *testServer4) { s.down = true; s.ignoreRenew = false })
	e := ev.wait(t, dhcp.EventExpired, 12*time.Second)
	if e.Err == nil {
		t.Errorf("expired without a reason")
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		if as := kernelAddrs(t, l.C, clientLink); len(as) != 0 {
			return fmt.Errorf("addresses after expiry: %+v", as)
		}
		if rs := kernelRoutes(t, l.C); len(rs) != 0 {
			return fmt.Errorf("routes after expiry: %v", rs)
		}
		return nil
	})
	if c.Lease() != nil {
		t.Errorf("lease held after expiry")
	}

	// The server comes back: the client gets a lease again.
	srv.set(func(s *testServer4) { s.down = false })
	ev.wait(t, dhcp.EventBound, 5*time.Second)
	nstest.Eventually(t, 5*time.Second, func() error {
		if err := hasAddr(); err != nil {
			return err
		}
		if rs := kernelRoutes(t, l.C); !slices.Equal(rs, []string{"default via 10.77.0.1 dev vc0 metric 1024"}) {
			return fmt.Errorf("routes %v", rs)
		}
		return nil
	})
}

// TestLeaseCountsFromRequest: the server answers each REQUEST 150 ms late.
// The lease the client holds starts when it sent the REQUEST (RFC 2131
// 4.4.1), not when the DHCPACK came, both when bound and when renewed: it
// never ends after the server's, which began when the server read the
// REQUEST.
func TestLeaseCountsFromRequest(t *testing.T) {
	hostTier(t)
	t.Parallel()
	l := newLab(t)
	const delay = 150 * time.Millisecond // below fastTiming's first retransmission
	srv := startServer4(t, l, 8*time.Second, 2*time.Second, 6*time.Second)
	srv.set(func(s *testServer4) { s.ackDelay = delay })
	_, ev := runApplied(t, l)
	seen := 0
	check := func(what string, held *dhcp.Lease) {
		t.Helper()
		// The server's reading of the REQUEST this lease answers: the
		// first one since the previous lease.
		var read time.Time
		msgs := srv.messages()
		for _, m := range msgs[seen:] {
			if m.Type == dhcpv4.MessageTypeRequest {
				read = m.At
				break
			}
		}
		seen = len(msgs)
		if read.IsZero() {
			t.Fatalf("%s: the server read no REQUEST", what)
		}
		if held.BoundAt.After(read) {
			t.Errorf("%s: bound at %v, %v after the server read the REQUEST; the lease ends after the server's",
				what, held.BoundAt.Format("15:04:05.000"), held.BoundAt.Sub(read))
		}
		if early := read.Sub(held.BoundAt); early > time.Second {
			t.Errorf("%s: bound at %v, %v before the server read the REQUEST", what, held.BoundAt.Format("15:04:05.000"), early)
		}
	}
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	check("bound", b.Lease)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server saw: %+v", srv.messages())
		}
	})
	r := ev.wait(t, dhcp.EventRenewed, 5*time.Second)
	check("renewed", r.Lease)
}

// TestRenewLinkDown: the link is down when the renewal is due, so the
// REQUEST cannot even be sent. That is a lost transmission, not the end of
// the lease: the client keeps the lease, retransmits, and renews once the
// link is back, well before the lease would expire.
func TestRenewLinkDown(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	startServer4(t, l, 12*time.Second, 2*time.Second, 5*time.Second)
	_, ev := runApplied(t, l)
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	l.C.Run(t, "ip", "link", "set", clientLink, "down")
	// Down over T1 (2 s after binding), up before T2 (5 s).
	time.Sleep(time.Until(b.Lease.BoundAt.Add(3 * time.Second)))
	l.C.Run(t, "ip", "link", "set", clientLink, "up")
	r := ev.wait(t, dhcp.EventRenewed, 12*time.Second)
	ev.renewedKept(t, b, r)
}

// writeLeaseFile writes a lease file with l, as a client keeps it.
func writeLeaseFile(t *testing.T, l *dhcp.Lease) string { return writeLeaseJSON(t, "lease", l) }

// writeLeaseJSON writes a lease file holding lease under key ("lease",
// "lease6").
func writeLeaseJSON(t *testing.T, key string, lease any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"version": 1, key: lease})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "lease.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kept is a lease of 10.77.0.99 for an hour, bound ago.
func kept(ago time.Duration) *dhcp.Lease {
	return &dhcp.Lease{
		Link: clientLink, Address: netip.MustParsePrefix("10.77.0.99/24"), Server: netip.MustParseAddr(serverIP),
		LeaseTime: time.Hour, T1: 30 * time.Minute, T2: 52*time.Minute + 30*time.Second,
		BoundAt: time.Now().Add(-ago).Round(0),
	}
}

// runKept runs a client with the lease file file on a new lab whose
// server answers nothing.
func runKept(t *testing.T, file string) (*testServer4, *events) {
	t.Helper()
	l := newLab(t)
	srv := startServer4(t, l, time.Hour, 0, 0)
	srv.set(func(s *testServer4) { s.down = true })
	ev := newEvents()
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, LeaseFile: file, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	return srv, ev
}

// TestRebootNoAnswer: after a restart no server answers the INIT-REBOOT
// REQUEST, so the client uses its previous lease for what is left of it
// (RFC 2131 3.2). The address's lifetimes are what is left, not a whole
// lease: the kernel must drop it when the lease ends if nobody renews it.
func TestRebootNoAnswer(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for retransmissions
	prev := kept(50 * time.Minute)
	_, ev := runKept(t, writeLeaseFile(t, prev))
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	if b.Lease.Address != prev.Address || !b.Lease.Expiry().Equal(prev.Expiry()) {
		t.Errorf("lease %s until %v, want the previous %s until %v", b.Lease.Address, b.Lease.Expiry(), prev.Address, prev.Expiry())
	}
	if a := b.Specs.Addresses[0]; !a.ValidUntil.Equal(prev.Expiry()) || a.ValidLifetime != 0 {
		t.Errorf("address ends %v (lifetime %v), want the previous lease's expiry %v", a.ValidUntil, a.ValidLifetime, prev.Expiry())
	}
}

// TestRebootRanOut: the kept lease ended while the client was stopped and
// no server answers the INIT-REBOOT REQUEST: the client reports the kept
// lease expired (a caller's source that still holds it clears) and keeps
// asking for a new one; the lease file goes.
func TestRebootRanOut(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for retransmissions
	file := writeLeaseFile(t, kept(2*time.Hour))
	srv, ev := runKept(t, file)
	e := ev.wait(t, dhcp.EventExpired, 10*time.Second)
	if e.Err == nil || !strings.Contains(e.Err.Error(), "ran out") {
		t.Errorf("expired: %v, want the kept lease's end", e.Err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("lease file after the kept lease ran out: %v, want it removed", err)
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		for _, m := range srv.messages() {
			if m.Type == dhcpv4.MessageTypeDiscover {
				return nil
			}
		}
		return fmt.Errorf("no DISCOVER after the kept lease ran out: %+v", srv.messages())
	})
}

// TestRebootNak: after a restart the server refuses the previous address
// (DHCPNAK to the INIT-REBOOT REQUEST): the client must stop using it
// (RFC 2131 3.2), so it reports the lease expired, and the caller's source
// clears it, before it looks for a new one.
func TestRebootNak(t *testing.T) {
	hostTier(t)
	l := newLab(t)
	srv := startServer4(t, l, time.Hour, 0, 0)
	srv.set(func(s *testServer4) { s.nakReboot = true })
	ev := newEvents()
	file := writeLeaseFile(t, kept(time.Minute))
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, LeaseFile: file, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	if b.Lease.Address.Addr().String() != "10.77.0.70" {
		t.Errorf("bound %s, want the server's new 10.77.0.70", b.Lease.Address)
	}
	if k := ev.kinds(); len(k) < 2 || !strings.HasPrefix(k[0], "expired(") || !strings.Contains(k[0], "DHCPNAK") {
		t.Errorf("events %v, want the refused lease expired before the new one", k)
	}
}

// TestLinkCreatedAgain: the link is deleted and created again under its
// name (with a new index) while the lease is held, as a reconciler
// recreating a VLAN does. The client moves to the new link and holds a
// lease there, without being restarted.
func TestLinkCreatedAgain(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	startServer4(t, l, 6*time.Second, time.Second, 3*time.Second)
	_, ev := runApplied(t, l)
	ev.wait(t, dhcp.EventBound, 10*time.Second)
	l.C.Run(t, "ip", "link", "del", clientLink) // and its peer
	nstest.Veth(t, l.S, serverLink, l.C, clientLink)
	l.C.Run(t, "ip", "link", "set", clientLink, "address", "02:00:00:77:00:11")
	l.S.Run(t, "ip", "addr", "add", serverIP+"/24", "dev", serverLink)
	srv := startServer4(t, l, 6*time.Second, time.Second, 3*time.Second) // on the new vs0
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-ev.ch:
			if e.Kind != dhcp.EventBound && e.Kind != dhcp.EventRenewed && e.Kind != dhcp.EventChanged {
				continue
			}
			if len(srv.messages()) == 0 {
				continue // not from the new link's server
			}
			return
		case <-deadline:
			t.Fatalf("no lease on the link created again; events %v", ev.kinds())
		}
	}
}

// requestsOnWire checks the REQUESTs a capture saw of a client that
// leased the address leased, renewed it and rebound it: in SELECTING (no
// ciaddr) it is broadcast from 0.0.0.0; renewals and rebindings carry
// ciaddr leased and come from it (RFC 2131 4.1, 4.3.2), renewals to the
// server, rebindings to the limited broadcast address (4.4.5). It also
// fails until the capture saw each kind.
func requestsOnWire(msgs []captured4, leased netip.Addr) error {
	bcast := netip.AddrFrom4([4]byte{255, 255, 255, 255})
	var selecting, renewing, rebinding int
	for _, m := range msgs {
		if m.Type != dhcpv4.MessageTypeRequest {
			continue
		}
		if m.CIAddr.IsUnspecified() {
			selecting++
			if m.Src != netip.IPv4Unspecified() || m.Dst != bcast {
				return fmt.Errorf("REQUEST without ciaddr from %s to %s, want from 0.0.0.0 to %s", m.Src, m.Dst, bcast)
			}
			continue
		}
		if m.CIAddr != leased || m.Src != leased {
			return fmt.Errorf("REQUEST with ciaddr %s from %s, want both the leased %s", m.CIAddr, m.Src, leased)
		}
		switch m.Dst {
		case netip.MustParseAddr(serverIP):
			renewing++
		case bcast:
			rebinding++
		default:
			return fmt.Errorf("REQUEST with ciaddr %s to %s, want the server or broadcast", m.CIAddr, m.Dst)
		}
	}
	if selecting == 0 || renewing == 0 || rebinding == 0 {
		return fmt.Errorf("REQUESTs on the wire: %d selecting, %d renewing, %d rebinding; want each: %+v", selecting, renewing, rebinding, msgs)
	}
	return nil
}

// TestProbeFrames: with ProbeWait, the acknowledged address is probed
// with three ARP probes (sender IP 0.0.0.0, target the address) spread
// over ProbeWait before the lease is reported, as tcpdump on the server's
// link sees them.
func TestProbeFrames(t *testing.T) {
	hostTier(t)
	t.Parallel()
	tcpdump := needTool(t, "tcpdump")
	l := newLab(t)
	startServer4(t, l, time.Hour, 0, 0)
	dump := startIn(t, l.S, tcpdump, "-i", serverLink, "-nn", "-l", "-tt", "arp")
	nstest.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(dump.out.String(), "listening on") {
			return fmt.Errorf("tcpdump not listening yet: %s", dump.out)
		}
		return nil
	})
	const wait = 600 * time.Millisecond
	ev := newEvents()
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, ProbeWait: wait, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	leased := b.Lease.Address.Addr().String()
	probe := regexp.MustCompile(`(?m)^(\d+\.\d+) ARP, Request who-has ` + regexp.QuoteMeta(leased) + ` tell 0\.0\.0\.0`)
	var at []float64
	nstest.Eventually(t, 5*time.Second, func() error {
		at = at[:0]
		for _, m := range probe.FindAllStringSubmatch(dump.out.String(), -1) {
			f, _ := strconv.ParseFloat(m[1], 64)
			at = append(at, f)
		}
		if len(at) != 3 {
			return fmt.Errorf("%d probes for %s, want 3:\n%s", len(at), leased, dump.out)
		}
		return nil
	})
	// Spread over ProbeWait (2/3 of it from the first to the last), not
	// sent in a burst; the first may leave late, so the bound is loose.
	if spread := time.Duration((at[2] - at[0]) * float64(time.Second)); spread < wait/2 || spread > wait+time.Second {
		t.Errorf("the probes span %v, want about %v:\n%s", spread, 2*wait/3, dump.out)
	}
}
