package dhcp_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/server6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
)

// testServer6 is an in-process DHCPv6 server (insomniacslk's server6):
// rapid commit, short lifetimes, and switches to ignore Renews or
// everything.
type testServer6 struct {
	mu          sync.Mutex
	down        bool
	ignoreRenew bool
	// renewStatus, when set, answers a Renew with this status code and
	// no address: in the IA_NA with renewInIA, else for the whole message.
	renewStatus iana.StatusCode
	renewInIA   bool
	// withdraw answers a Renew with the address at valid lifetime 0.
	withdraw bool
	// noBinding answers a Rebind with NoBinding in the IA_NA, and a
	// Request with NoAddrsAvail.
	noBinding bool
	seen      []dhcpv6.MessageType
	// adverts, when set, stand for several servers: a Solicit is
	// answered with one Advertise from each (no rapid commit), and a
	// Request by the one it names.
	adverts []advert6
	// firstSolicit and requests record when Solicits and Requests came.
	firstSolicit time.Time
	requests     []request6
	// clientIDs are the Client Identifiers (raw DUIDs) of the messages.
	clientIDs [][]byte
}

// advert6 is one server's Advertise: its server ID ends in id.
type advert6 struct {
	id   byte
	addr string
	pref uint8 // 0: no Preference option
}

// request6 is a Request the server read.
type request6 struct {
	at time.Time
	id byte // the last byte of the server ID it names
}

func serverDUID(id byte) *dhcpv6.DUIDLL {
	return &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, id}}
}

func (s *testServer6) set(f func(*testServer6)) { s.mu.Lock(); f(s); s.mu.Unlock() }

func (s *testServer6) types() []dhcpv6.MessageType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

func startServer6(t *testing.T, l *lab) *testServer6 {
	t.Helper()
	s := &testServer6{}
	handler := func(conn net.PacketConn, peer net.Addr, d dhcpv6.DHCPv6) {
		m, ok := d.(*dhcpv6.Message)
		if !ok {
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, m.MessageType)
		if cid := m.Options.ClientID(); cid != nil {
			s.clientIDs = append(s.clientIDs, cid.ToBytes())
		}
		drop := s.down || (s.ignoreRenew && m.MessageType == dhcpv6.MessageTypeRenew)
		status, inIA, withdraw, adverts := s.renewStatus, s.renewInIA, s.withdraw, s.adverts
		noBinding := s.noBinding
		if noBinding {
			switch m.MessageType {
			case dhcpv6.MessageTypeRebind:
				status, inIA = iana.StatusNoBinding, true
			case dhcpv6.MessageTypeRequest:
				status, inIA = iana.StatusNoAddrsAvail, true
			}
		}
		var named byte
		if sid, ok := m.Options.ServerID().(*dhcpv6.DUIDLL); ok && len(sid.LinkLayerAddr) == 6 {
			named = sid.LinkLayerAddr[5]
		}
		switch m.MessageType {
		case dhcpv6.MessageTypeSolicit:
			if s.firstSolicit.IsZero() {
				s.firstSolicit = time.Now()
			}
		case dhcpv6.MessageTypeRequest:
			s.requests = append(s.requests, request6{at: time.Now(), id: named})
		}
		s.mu.Unlock()
		if drop {
			return
		}
		if len(adverts) > 0 {
			answerAdverts(conn, peer, m, adverts, named)
			return
		}
		sid := serverDUID(1)
		switch m.MessageType {
		case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind, dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		default:
			return
		}
		reply, err := dhcpv6.NewReplyFromMessage(m, dhcpv6.WithServerID(sid))
		if err != nil {
			return
		}
		if status != 0 && (m.MessageType == dhcpv6.MessageTypeRenew || noBinding) {
			st := &dhcpv6.OptStatusCode{StatusCode: status, StatusMessage: status.String()}
			if ia := m.Options.OneIANA(); inIA && ia != nil {
				reply.AddOption(&dhcpv6.OptIANA{IaId: ia.IaId, Options: dhcpv6.IdentityOptions{Options: dhcpv6.Options{st}}})
			} else {
				reply.AddOption(st)
			}
			conn.WriteTo(reply.ToBytes(), peer)
			return
		}
		if m.MessageType == dhcpv6.MessageTypeSolicit {
			dhcpv6.WithRapidCommit(reply)
		}
		if m.MessageType != dhcpv6.MessageTypeRelease && m.MessageType != dhcpv6.MessageTypeDecline {
			ia := m.Options.OneIANA()
			if ia == nil {
				return
			}
			life := 8 * time.Second
			if withdraw && m.MessageType == dhcpv6.MessageTypeRenew {
				life = 0
			}
			reply.AddOption(&dhcpv6.OptIANA{IaId: ia.IaId, T1: time.Second, T2: 3 * time.Second,
				Options: dhcpv6.IdentityOptions{Options: dhcpv6.Options{&dhcpv6.OptIAAddress{
					IPv6Addr: net.ParseIP("fd77::77"), PreferredLifetime: life, ValidLifetime: life}}}})
			reply.AddOption(dhcpv6.OptDNS(net.ParseIP("fd77::53")))
		}
		conn.WriteTo(reply.ToBytes(), peer)
	}
	var srv *server6.Server
	err := l.S.Do(func() error {
		var err error
		srv, err = server6.NewServer(serverLink, nil, handler)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return s
}

// answerAdverts answers m for the servers of adverts: an Advertise from
// each to a Solicit, a Reply from the one named to a Request.
func answerAdverts(conn net.PacketConn, peer net.Addr, m *dhcpv6.Message, adverts []advert6, named byte) {
	ia := m.Options.OneIANA()
	if ia == nil {
		return
	}
	for _, a := range adverts {
		var reply *dhcpv6.Message
		var err error
		switch {
		case m.MessageType == dhcpv6.MessageTypeSolicit:
			reply, err = dhcpv6.NewAdvertiseFromSolicit(m, dhcpv6.WithServerID(serverDUID(a.id)))
		case m.MessageType == dhcpv6.MessageTypeRequest && named == a.id:
			reply, err = dhcpv6.NewReplyFromMessage(m, dhcpv6.WithServerID(serverDUID(a.id)))
		default:
			continue
		}
		if err != nil {
			return
		}
		if a.pref > 0 {
			reply.AddOption(dhcpv6.OptPreference(a.pref))
		}
		reply.AddOption(&dhcpv6.OptIANA{IaId: ia.IaId, T1: time.Minute, T2: 2 * time.Minute,
			Options: dhcpv6.IdentityOptions{Options: dhcpv6.Options{&dhcpv6.OptIAAddress{
				IPv6Addr: net.ParseIP(a.addr), PreferredLifetime: 5 * time.Minute, ValidLifetime: 5 * time.Minute}}}})
		conn.WriteTo(reply.ToBytes(), peer)
	}
}

// TestAdvertisePreference6: without rapid commit, the client collects
// Advertises during the Solicit's first retransmission time and requests
// from the server of the highest preference, not from the first to
// answer (RFC 8415 18.2.1); an Advertise of preference 255 is taken at
// once. The server's reading of the Request is the oracle.
func TestAdvertisePreference6(t *testing.T) {
	hostTier(t)
	t.Parallel()
	timing := dhcp.Timing{Initial: time.Second, Max: 4 * time.Second, RenewMin: time.Second}
	for _, tc := range []struct {
		name    string
		adverts []advert6
		want    byte
		addr    string
		atOnce  bool
	}{
		{"highest", []advert6{{1, "fd77::11", 0}, {2, "fd77::22", 7}, {3, "fd77::33", 3}}, 2, "fd77::22", false},
		{"255", []advert6{{1, "fd77::11", 0}, {2, "fd77::22", 255}}, 2, "fd77::22", true},
		{"none", []advert6{{4, "fd77::44", 0}}, 4, "fd77::44", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			// Link-local addresses ready on both sides: the first
			// Solicit is answered (the test is about its Advertises).
			nstest.Settle(t, l.S)
			nstest.Settle(t, l.C)
			srv := startServer6(t, l)
			srv.set(func(s *testServer6) { s.adverts = tc.adverts })
			ev := newEvents()
			c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, NoRapidCommit: true, Timing: timing, OnEvent: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			run(t, c.Run)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("server read %v", srv.types())
				}
			})
			b := ev.wait(t, dhcp.EventBound, 15*time.Second)
			if got := b.Lease6.Address.String(); got != tc.addr {
				t.Errorf("bound %s, want %s", got, tc.addr)
			}
			srv.mu.Lock()
			first, reqs := srv.firstSolicit, slices.Clone(srv.requests)
			srv.mu.Unlock()
			if len(reqs) == 0 {
				t.Fatal("the server read no Request")
			}
			if reqs[0].id != tc.want {
				t.Errorf("Request names server %d, want %d", reqs[0].id, tc.want)
			}
			// The first retransmission time is more than Initial (1 s)
			// from the client's send; the server reads both messages a
			// little late, by different amounts: 100 ms of slack.
			waited := reqs[0].at.Sub(first)
			switch {
			case tc.atOnce && waited >= timing.Initial:
				t.Errorf("Request %v after the Solicit; an Advertise of preference 255 is taken at once", waited)
			case !tc.atOnce && waited < timing.Initial-100*time.Millisecond:
				t.Errorf("Request %v after the Solicit, before the first retransmission time (%v) was over", waited, timing.Initial)
			}
		})
	}
}

// TestDUID6: Config6.DUID is the Client Identifier of every message the
// server reads (here a DUID-UUID); without it, a DUID-LL of the link's
// MAC address. A DUID that is not one is refused by Validate, naming the
// field.
func TestDUID6(t *testing.T) {
	hostTier(t)
	t.Parallel()
	uuid := append([]byte{0, 4}, bytes.Repeat([]byte{0xab}, 16)...)
	mac, err := net.ParseMAC(clientMAC)
	if err != nil {
		t.Fatal(err)
	}
	ll := append([]byte{0, 3, 0, 1}, mac...)
	for _, c := range []struct {
		name string
		duid []byte
		want []byte
	}{{"uuid", uuid, uuid}, {"default", nil, ll}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			srv := startServer6(t, l)
			ev := newEvents()
			cl, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, DUID: c.duid, Timing: fastTiming, DADWait: -1, OnEvent: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			run(t, cl.Run)
			ev.wait(t, dhcp.EventBound, 15*time.Second)
			srv.mu.Lock()
			ids := slices.Clone(srv.clientIDs)
			srv.mu.Unlock()
			if len(ids) == 0 {
				t.Fatal("the server read no Client Identifier")
			}
			for _, id := range ids {
				if !bytes.Equal(id, c.want) {
					t.Errorf("client identifier %x, want %x", id, c.want)
				}
			}
		})
	}
	for _, bad := range [][]byte{{0, 1}, {0, 3, 0}, make([]byte, 131)} {
		if err := (dhcp.Config6{Link: clientLink, DUID: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "duid") || !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("DUID %x: Validate = %v, want an invalid-spec error naming duid", bad, err)
		}
	}
}

// TestDecline6: another host of the link already has the address the
// server gives. The kernel's duplicate address detection marks it
// "dadfailed" on the client's link; the client reports EventDeclined,
// the Reconciler removes the address, the server reads a Decline naming
// it, and the client solicits again. Once the other host gives the address
// up, the client binds it for good: it stays, not tentative.
func TestDecline6(t *testing.T) {
	hostTier(t)
	t.Parallel()
	l := newLab(t)
	// The server's own link holds the address: it answers the
	// client's duplicate address detection.
	l.S.Run(t, "ip", "-6", "addr", "add", "fd77::77/64", "dev", serverLink, "nodad")
	srv := startServer6(t, l)
	src := reconciler(t, l.C, t.TempDir())
	ev := newEvents()
	c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: feed(t, src, ev)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client: %s\nserver: %s", l.C.Run(t, "ip", "-6", "addr", "show"), l.S.Run(t, "ip", "-6", "addr", "show"))
		}
	})
	ev.wait(t, dhcp.EventBound, 15*time.Second)
	d := ev.wait(t, dhcp.EventDeclined, 10*time.Second)
	if d.Err == nil || !strings.Contains(d.Err.Error(), "fd77::77") || d.Lease6 != nil || !d.Specs.Equal(dhcp.Specs{}) {
		t.Errorf("declined: err %v, lease %v, specs %+v; want an error naming fd77::77, no lease, no specs", d.Err, d.Lease6, d.Specs)
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		if !slices.Contains(srv.types(), dhcpv6.MessageTypeDecline) {
			return fmt.Errorf("the server read no Decline: %v", srv.types())
		}
		return nil
	})
	// The second binding of the same address fails the same way; then
	// the other host lets the address go and the next one keeps it.
	l.S.Run(t, "ip", "-6", "addr", "del", "fd77::77/64", "dev", serverLink)
	nstest.Eventually(t, 30*time.Second, func() error {
		out := string(l.C.Run(t, "ip", "-j", "-6", "addr", "show", "dev", clientLink, "scope", "global"))
		if !strings.Contains(out, `"fd77::77"`) {
			return fmt.Errorf("fd77::77 not on %s: %s", clientLink, out)
		}
		if strings.Contains(out, "dadfailed") || strings.Contains(out, "tentative") {
			return fmt.Errorf("fd77::77 on %s not settled: %s", clientLink, out)
		}
		if c.Lease() == nil {
			return fmt.Errorf("no lease held")
		}
		return nil
	})
	types := srv.types()
	i := slices.Index(types, dhcpv6.MessageTypeDecline)
	if !slices.Contains(types[i:], dhcpv6.MessageTypeSolicit) {
		t.Errorf("no Solicit after the Decline: %v", types)
	}
}

// TestLeaseTimers6 runs an 8 s DHCPv6 lease (T1 1 s, T2 3 s) through
// reconcile: Renew at T1, Rebind at T2 when Renews go unanswered, no
// address removed meanwhile, expiry when the server is gone, and a new
// lease when it is back. All along, the kernel never keeps the address
// past the end of the lease held, and each renewal moves that end in the
// kernel.
func TestLeaseTimers6(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	srv := startServer6(t, l)
	// A pass every second besides those the renewals' specs cause: they
	// must not push the address's countdown past the lease's end.
	src := reconciler(t, l.C, t.TempDir(), reconcile.WithResync(time.Second))
	ev := newEvents()
	c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: feed(t, src, ev)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 15*time.Second)
	if !b.Lease6.RapidCommit || b.Lease6.T1 != time.Second || b.Lease6.T2 != 3*time.Second {
		t.Errorf("lease %+v", b.Lease6)
	}
	a := b.Lease6.Address
	has := func() error {
		before := time.Now()
		as := kernelAddrs6(t, l.C, clientLink)
		if len(as) != 1 || as[0].Local != a.String() {
			return fmt.Errorf("addresses %+v", as)
		}
		var end time.Time
		if held := c.Lease(); held != nil {
			end = held.Expiry()
		}
		return endsWithLease(as[0].Valid, before, end)
	}
	nstest.Eventually(t, 5*time.Second, has)
	dels := watchDeletes(t, l, a)
	ev.wait(t, dhcp.EventRenewed, 3*time.Second)
	if !slices.Contains(srv.types(), dhcpv6.MessageTypeRenew) {
		t.Errorf("no Renew: %v", srv.types())
	}
	srv.set(func(s *testServer6) { s.ignoreRenew = true })
	ev.wait(t, dhcp.EventRenewed, 5*time.Second)
	if !slices.Contains(srv.types(), dhcpv6.MessageTypeRebind) {
		t.Errorf("no Rebind: %v", srv.types())
	}
	nstest.Eventually(t, time.Second, has)
	// Past the end of the first binding (8 s): the renewals moved it.
	time.Sleep(time.Until(b.Lease6.Expiry().Add(500 * time.Millisecond)))
	if err := has(); err != nil {
		t.Error(err)
	}
	if n := dels(); n != 0 {
		t.Errorf("renew and rebind deleted the address %d times", n)
	}
	srv.set(func(s *testServer6) { s.down = true })
	ev.wait(t, dhcp.EventExpired, 12*time.Second)
	nstest.Eventually(t, 5*time.Second, func() error {
		if as := kernelAddrs6(t, l.C, clientLink); len(as) != 0 {
			return fmt.Errorf("addresses after expiry: %+v", as)
		}
		return nil
	})
	srv.set(func(s *testServer6) { s.down = false; s.ignoreRenew = false })
	ev.wait(t, dhcp.EventBound, 5*time.Second)
	nstest.Eventually(t, 5*time.Second, has)
}

// TestRenewLinkDown6: the link is down when the Renew is due, so it cannot
// be sent. The client keeps the lease, retransmits, and renews or rebinds
// once the link is back, before the lease would expire.
func TestRenewLinkDown6(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	// No duplicate address detection when the link comes back up: the
	// link-local address is usable at once.
	l.C.Run(t, "sysctl", "-qw", "net.ipv6.conf."+clientLink+".accept_dad=0")
	startServer6(t, l)
	ev := newEvents()
	c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 15*time.Second)
	l.C.Run(t, "ip", "link", "set", clientLink, "down")
	// Down over T1 (1 s after binding), up before T2 (3 s).
	time.Sleep(time.Until(b.Lease6.BoundAt.Add(2 * time.Second)))
	l.C.Run(t, "ip", "link", "set", clientLink, "up")
	r := ev.wait(t, dhcp.EventRenewed, 10*time.Second)
	ev.renewedKept(t, b, r)
}

// TestRenewRefused6: the server answers the Renew without renewing. With
// UnspecFail it could not process it: the client keeps the lease and
// rebinds at T2. With NoBinding it lost the binding: the client asks for
// it with a Request (RFC 8415 18.2.10.1) and keeps the address. Neither
// ends the lease while it is valid.
func TestRenewRefused6(t *testing.T) {
	hostTier(t)
	for _, tc := range []struct {
		name   string
		status iana.StatusCode
		inIA   bool
		then   dhcpv6.MessageType // what the client sends to keep the lease
	}{
		{"UnspecFail", iana.StatusUnspecFail, false, dhcpv6.MessageTypeRebind},
		{"NoBinding", iana.StatusNoBinding, true, dhcpv6.MessageTypeRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // mostly waiting for timers
			l := newLab(t)
			srv := startServer6(t, l)
			srv.set(func(s *testServer6) { s.renewStatus, s.renewInIA = tc.status, tc.inIA })
			ev := newEvents()
			c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			run(t, c.Run)
			b := ev.wait(t, dhcp.EventBound, 15*time.Second)
			r := ev.wait(t, dhcp.EventRenewed, 7*time.Second)
			ev.renewedKept(t, b, r)
			if !slices.Contains(srv.types(), tc.then) {
				t.Errorf("no %s: %v", tc.then, srv.types())
			}
		})
	}
}

// TestRenewWithdrawn6: the server answers the Renew with the address at
// valid lifetime 0: it ends the lease, and the client drops it at once.
func TestRenewWithdrawn6(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	srv := startServer6(t, l)
	srv.set(func(s *testServer6) { s.withdraw = true })
	ev := newEvents()
	c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	ev.wait(t, dhcp.EventBound, 15*time.Second)
	e := ev.wait(t, dhcp.EventExpired, 5*time.Second)
	if e.Err == nil || !strings.Contains(e.Err.Error(), "withdrew") {
		t.Errorf("expired: %v, want the server's withdrawal", e.Err)
	}
}

// TestNewLinkLocal6: the link's link-local address changes while the lease
// is held (a new MAC, the link down and up). The client's socket follows
// it: it renews, and the lease is not lost.
func TestNewLinkLocal6(t *testing.T) {
	hostTier(t)
	t.Parallel() // mostly waiting for timers
	l := newLab(t)
	startServer6(t, l)
	ev := newEvents()
	c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 15*time.Second)
	l.C.Run(t, "sysctl", "-qw", "net.ipv6.conf."+clientLink+".accept_dad=0")
	l.C.Run(t, "ip", "link", "set", clientLink, "down")
	l.C.Run(t, "ip", "link", "set", clientLink, "address", "02:00:00:77:00:11")
	l.C.Run(t, "ip", "link", "set", clientLink, "up")
	r := ev.wait(t, dhcp.EventRenewed, 10*time.Second)
	ev.renewedKept(t, b, r)
}

// TestSameLinkName6: clients in two namespaces on links of the same name
// with different indexes (eth0 in every container). Each uses its own
// link: a link name means nothing outside its namespace, and the net
// package's process-wide zone cache maps a name to one index.
func TestSameLinkName6(t *testing.T) {
	hostTier(t)
	a := newLab(t)
	b := &lab{S: nstest.New(t), C: nstest.New(t), srvLink: serverLink}
	nstest.Veth(t, b.S, "xs0", b.C, "xc0") // vc0 gets another index in b
	nstest.Veth(t, b.S, serverLink, b.C, clientLink)
	b.C.Run(t, "ip", "link", "set", clientLink, "address", clientMAC)
	index := func(n *nstest.NS) int {
		var ls []struct {
			Index int `json:"ifindex"`
		}
		n.IPJSON(t, &ls, "link", "show", "dev", clientLink)
		return ls[0].Index
	}
	if index(a.C) == index(b.C) {
		t.Fatalf("%s has index %d in both namespaces", clientLink, index(a.C))
	}
	for _, l := range []*lab{a, b} {
		startServer6(t, l)
		ev := newEvents()
		c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, Timing: fastTiming, OnEvent: ev.add})
		if err != nil {
			t.Fatal(err)
		}
		run(t, c.Run)
		ev.wait(t, dhcp.EventBound, 10*time.Second)
	}
}
