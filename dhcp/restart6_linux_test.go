package dhcp_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
)

// restartLab6 runs a DHCPv6 client with a lease file against the
// in-process server, its leases applied by a Reconciler, until it is
// bound and the address is on the link; stop ends that first run without
// a release.
func restartLab6(t *testing.T) (l *lab, srv *testServer6, cfg dhcp.Config6, ev *events, c *dhcp.Client6, stop func()) {
	t.Helper()
	l = newLab(t)
	srv = startServer6(t, l)
	src := reconciler(t, l.C, t.TempDir())
	ev = newEvents()
	cfg = dhcp.Config6{Link: clientLink, LeaseFile: filepath.Join(t.TempDir(), "lease6.json"), Timing: fastTiming, OnEvent: feed(t, src, ev)}
	c, err := dhcp.NewClient6(l.C.Namespace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop = run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 15*time.Second)
	nstest.Eventually(t, 5*time.Second, func() error { return onLink6(t, l, b.Lease6.Address.String()) })
	return l, srv, cfg, ev, c, stop
}

// onLink6 checks with ip(8) that a is on the client's link.
func onLink6(t *testing.T, l *lab, a string) error {
	as := kernelAddrs6(t, l.C, clientLink)
	for _, x := range as {
		if x.Local == a {
			return nil
		}
	}
	return fmt.Errorf("%s not on %s: %+v", a, clientLink, as)
}

// TestRestart6: a client stopped without a release keeps its lease in
// Config6.LeaseFile; the next Run takes it up with a Rebind (RFC 8415
// 18.2.12), not a Solicit, and the address is never removed meanwhile
// (RTM_DELADDR watched). A stop with Release removes the file.
func TestRestart6(t *testing.T) {
	hostTier(t)
	t.Parallel()
	l, srv, cfg, ev, c1, stop := restartLab6(t)
	held := c1.Lease()
	dels := watchDeletes(t, l, held.Address)
	stop()
	if b, err := os.ReadFile(cfg.LeaseFile); err != nil || !strings.Contains(string(b), held.Address.String()) {
		t.Fatalf("lease file after a stop without release: %q, %v; want the lease of %s", b, err, held.Address)
	}
	n := len(srv.types())

	cfg.Release = true
	c2, err := dhcp.NewClient6(l.C.Namespace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop2 := run(t, c2.Run)
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	after := srv.types()[n:]
	if len(after) == 0 || after[0] != dhcpv6.MessageTypeRebind || slices.Contains(after, dhcpv6.MessageTypeSolicit) {
		t.Errorf("after the restart the server read %v, want a Rebind and no Solicit", after)
	}
	if b.Lease6.Address != held.Address {
		t.Errorf("after the restart bound %s, want the kept %s", b.Lease6.Address, held.Address)
	}
	nstest.Eventually(t, 5*time.Second, func() error { return onLink6(t, l, held.Address.String()) })
	if d := dels(); d != 0 {
		t.Errorf("the restart removed the address %d times (RTM_DELADDR)", d)
	}

	stop2()
	ev.wait(t, dhcp.EventReleased, time.Second)
	if _, err := os.Stat(cfg.LeaseFile); !os.IsNotExist(err) {
		t.Errorf("lease file after a release: %v, want it removed", err)
	}
}

// TestRestart6NoServer: no server answers the Rebinds after a restart, so
// the client takes the kept lease up for what is left of it: same address,
// same end (the kernel drops the address when the lease would have ended).
func TestRestart6NoServer(t *testing.T) {
	hostTier(t)
	t.Parallel()
	l, srv, cfg, ev, c1, stop := restartLab6(t)
	srv.set(func(s *testServer6) { s.down = true }) // no renewal from now on
	held := c1.Lease()
	stop()
	n := len(srv.types())

	c2, err := dhcp.NewClient6(l.C.Namespace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c2.Run)
	b := ev.wait(t, dhcp.EventBound, 10*time.Second)
	// RequestTries Rebinds, then (T1 of the kept lease has passed) the
	// renewals of the lease taken up; never a Solicit.
	after := srv.types()[n:]
	rebinds := len(after) - len(slices.DeleteFunc(slices.Clone(after), func(m dhcpv6.MessageType) bool { return m == dhcpv6.MessageTypeRebind }))
	if rebinds < 2 || after[0] != dhcpv6.MessageTypeRebind || slices.Contains(after, dhcpv6.MessageTypeSolicit) {
		t.Errorf("after the restart the server read %v, want Rebinds first and no Solicit", after)
	}
	if b.Lease6.Address != held.Address {
		t.Errorf("bound %s, want the kept %s", b.Lease6.Address, held.Address)
	}
	if d := b.Lease6.Expiry().Sub(held.Expiry()); d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("taken up with expiry %v, the kept lease's is %v (%v apart)", b.Lease6.Expiry(), held.Expiry(), d)
	}
	if b.Lease6.ValidLifetime >= held.ValidLifetime {
		t.Errorf("taken up with valid lifetime %v, the kept lease had %v: want what is left", b.Lease6.ValidLifetime, held.ValidLifetime)
	}
	nstest.Eventually(t, 5*time.Second, func() error { return onLink6(t, l, held.Address.String()) })
}

// kept6 is a lease of fd77::99 from the test server, valid for valid,
// bound ago.
func kept6(ago, valid time.Duration) *dhcp.Lease6 {
	return &dhcp.Lease6{
		Link: clientLink, Address: netip.MustParseAddr("fd77::99"), ServerID: serverDUID(1).ToBytes(),
		ValidLifetime: valid, PreferredLifetime: valid, T1: valid / 2, T2: valid * 4 / 5,
		BoundAt: time.Now().Add(-ago).Round(0),
	}
}

// TestRestart6Lost: a kept lease that ran out while the client was
// stopped, and one for which the server has no binding and refuses a
// Request, are each reported expired (a caller's source still holding the
// lease clears) and the client solicits a new lease; the lease file then
// holds the new one.
func TestRestart6Lost(t *testing.T) {
	hostTier(t)
	for _, c := range []struct {
		name      string
		prev      *dhcp.Lease6
		noBinding bool
		reason    string
	}{
		{"ran-out", kept6(2*time.Hour, time.Hour), false, "ran out"},
		{"no-binding", kept6(time.Minute, time.Hour), true, "no binding"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			srv := startServer6(t, l)
			srv.set(func(s *testServer6) { s.noBinding = c.noBinding })
			file := writeLeaseJSON(t, "lease6", c.prev)
			ev := newEvents()
			cl, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{Link: clientLink, LeaseFile: file, Timing: fastTiming, DADWait: -1, OnEvent: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			run(t, cl.Run)
			e := ev.wait(t, dhcp.EventExpired, 10*time.Second)
			if e.Err == nil || !strings.Contains(e.Err.Error(), c.reason) {
				t.Errorf("expired: %v, want %q", e.Err, c.reason)
			}
			b := ev.wait(t, dhcp.EventBound, 10*time.Second)
			if b.Lease6.Address.String() != "fd77::77" {
				t.Errorf("bound %s, want the server's fd77::77", b.Lease6.Address)
			}
			if !slices.Contains(srv.types(), dhcpv6.MessageTypeSolicit) {
				t.Errorf("no Solicit: %v", srv.types())
			}
			l4, l6, err := dhcp.ReadLeaseFile(file)
			if err != nil || l4 != nil || l6 == nil || l6.Address != b.Lease6.Address {
				t.Errorf("ReadLeaseFile = %v, %v, %v; want the new lease of %s", l4, l6, err, b.Lease6.Address)
			}
		})
	}
}
