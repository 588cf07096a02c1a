package dhcp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
)

// TestVLAN obtains a lease from dnsmasq over 802.1Q VLAN 10 (vs0.10 ↔
// vc0.10 on the veth pair) and applies it through a Reconciler. The host
// kernel here lacks 8021q: the test runs on the kernel tier
// (scripts/kerneltest -run TestVLAN ./dhcp/).
func TestVLAN(t *testing.T) {
	nstest.RequireModules(t, "8021q")
	l := newLab(t)
	l.S.Run(t, "ip", "link", "add", "link", serverLink, "name", "vs0.10", "type", "vlan", "id", "10")
	l.C.Run(t, "ip", "link", "add", "link", clientLink, "name", "vc0.10", "type", "vlan", "id", "10")
	l.S.Run(t, "ip", "link", "set", "vs0.10", "up")
	l.C.Run(t, "ip", "link", "set", "vc0.10", "up")
	l.S.Run(t, "ip", "addr", "add", "10.78.0.1/24", "dev", "vs0.10")
	l.srvLink = "vs0.10"
	l.dnsmasq(t, "--dhcp-range=10.78.0.50,10.78.0.99,255.255.255.0,2m", "--dhcp-option=option:router,10.78.0.1")
	src := reconciler(t, l.C, t.TempDir())
	ev := newEvents()
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: "vc0.10", Timing: fastTiming, OnEvent: feed(t, src, ev)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	b := ev.wait(t, dhcp.EventBound, 20*time.Second)
	if b.Lease.Link != "vc0.10" || b.Lease.Server.String() != "10.78.0.1" {
		t.Errorf("lease %+v", b.Lease)
	}
	nstest.Eventually(t, 20*time.Second, func() error {
		as := kernelAddrs(t, l.C, "vc0.10")
		if len(as) != 1 || as[0].Local != b.Lease.Address.Addr().String() {
			return fmt.Errorf("addresses on vc0.10: %+v", as)
		}
		if as := kernelAddrs(t, l.C, clientLink); len(as) != 0 {
			return fmt.Errorf("addresses on %s: %+v", clientLink, as)
		}
		return nil
	})
}
