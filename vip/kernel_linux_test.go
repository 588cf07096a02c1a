package vip_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/vip"
)

// TestControllerOnVLAN and TestControllerOnBond take the shared IP up on a
// VLAN and on a bond (kernel tier: the host here lacks 8021q and bonding):
// the address is on that link, its announcements reach the peer on the
// same VLAN, and the peer reaches the shared IP.
func TestControllerOnVLAN(t *testing.T) {
	nstest.RequireModules(t, "8021q")
	p := newPair(t)
	p.N.Run(t, "ip", "link", "add", "link", nodeLink, "name", "eth0.100", "type", "vlan", "id", "100")
	p.P.Run(t, "ip", "link", "add", "link", "peer0", "name", "peer0.100", "type", "vlan", "id", "100")
	p.N.Run(t, "ip", "addr", "add", "10.90.0.1/24", "dev", "eth0.100")
	p.P.Run(t, "ip", "addr", "add", "10.90.0.2/24", "dev", "peer0.100")
	p.N.Run(t, "ip", "link", "set", "eth0.100", "up")
	p.P.Run(t, "ip", "link", "set", "peer0.100", "up")
	controllerOn(t, p, "eth0.100", "peer0.100", netip.MustParseAddr("10.90.0.50"))
}

func TestControllerOnBond(t *testing.T) {
	nstest.RequireModules(t, "bonding")
	p := newPair(t)
	p.N.Run(t, "ip", "link", "add", "bond0", "type", "bond", "mode", "active-backup", "miimon", "100")
	p.N.Run(t, "ip", "link", "set", nodeLink, "down")
	p.N.Run(t, "ip", "link", "set", nodeLink, "master", "bond0")
	p.N.Run(t, "ip", "link", "set", "bond0", "up")
	p.N.Run(t, "ip", "addr", "add", "10.91.0.1/24", "dev", "bond0")
	p.P.Run(t, "ip", "addr", "add", "10.91.0.2/24", "dev", "peer0")
	controllerOn(t, p, "bond0", "peer0", netip.MustParseAddr("10.91.0.50"))
}

// controllerOn runs a controller for ip on link of p.N and checks the
// address, the announcements captured on peerLink and a ping from p.P.
func controllerOn(t *testing.T, p pair, link, peerLink string, ip netip.Addr) {
	t.Helper()
	nstest.Settle(t, p.N)
	capt := startCapture(t, p.P, peerLink)
	el := newFakeElector()
	r := start(t, p.N.Namespace, vip.Config{Address: ip, Link: link,
		Announce: vip.AnnounceOptions{Count: 2, Interval: 50 * time.Millisecond}}, el)
	waitCampaign(t, el)
	el.grant("t1", 10*time.Second, nil)
	r.wait(t, vip.Acquired, 5*time.Second)
	var links []struct {
		AddrInfo []struct {
			Local string `json:"local"`
		} `json:"addr_info"`
	}
	p.N.IPJSON(t, &links, "addr", "show", "dev", link)
	found := false
	for _, l := range links {
		for _, a := range l.AddrInfo {
			found = found || a.Local == ip.String()
		}
	}
	if !found {
		t.Fatalf("ip -j addr show dev %s: %s missing", link, ip)
	}
	capt.wait(t, 5*time.Second, 2, aboutIP(ip))
	p.P.Run(t, "ping", "-c", "1", "-W", "2", ip.String())
}
