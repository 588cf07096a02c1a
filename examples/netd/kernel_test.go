//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// TestVLANDHCPAndVIP runs netd on the seeds' example on VLAN 100 too
// (testdata/vip-vlan.yaml, unchanged): DHCP and a shared IP on eth0 and on
// eth0.100, which netd creates, against dnsmasq serving both (untagged and
// tagged 100 on one veth pair) and an embedded etcd. The host kernel here
// lacks 8021q: the test runs on the kernel tier
// (scripts/kerneltest -run TestVLANDHCPAndVIP ./examples/netd/).
func TestVLANDHCPAndVIP(t *testing.T) {
	needRoot(t)
	nstest.RequireModules(t, "8021q")
	srv, node := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", srv, "srv0")
	srv.Run(t, "ip", "link", "add", "link", "srv0", "name", "srv0.100", "type", "vlan", "id", "100")
	srv.Run(t, "ip", "link", "set", "srv0.100", "up")
	srv.Run(t, "ip", "addr", "add", "192.168.0.1/24", "dev", "srv0")
	srv.Run(t, "ip", "addr", "add", "192.168.1.1/24", "dev", "srv0.100")
	startDnsmasq(t, srv, "srv0", "--interface=srv0.100",
		"--dhcp-range=192.168.0.100,192.168.0.150,255.255.255.0,2m",
		"--dhcp-range=192.168.1.100,192.168.1.150,255.255.255.0,2m")
	endpoint := startEtcd(t)
	cfg, err := filepath.Abs("testdata/vip-vlan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg,
		"--etcd-endpoints", endpoint, "--election-ttl", "3s")
	p.waitLine("netd: keeping", 60*time.Second)

	var vl []struct {
		Link     string `json:"link"`
		LinkInfo struct {
			Kind string `json:"info_kind"`
			Data struct {
				Protocol string `json:"protocol"`
				ID       int    `json:"id"`
			} `json:"info_data"`
		} `json:"linkinfo"`
	}
	node.IPJSON(t, &vl, "-d", "link", "show", "dev", "eth0.100")
	if len(vl) != 1 || vl[0].Link != "eth0" || vl[0].LinkInfo.Kind != "vlan" || vl[0].LinkInfo.Data.ID != 100 || vl[0].LinkInfo.Data.Protocol != "802.1Q" {
		t.Fatalf("ip -j -d link show dev eth0.100: %+v, want vlan 802.1Q id 100 on eth0", vl)
	}
	leased := map[string]string{}
	for range 2 {
		l := p.waitLine(": bound ", 60*time.Second)
		var dev string
		if _, err := fmt.Sscanf(l, "dhcp %s", &dev); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		leased[dev[:len(dev)-1]] = leasedAddr(t, l)
	}
	t.Logf("leases: %v", leased)
	for dev, subnet := range map[string]string{"eth0": "192.168.0.", "eth0.100": "192.168.1."} {
		if a := leased[dev]; len(a) < len(subnet) || a[:len(subnet)] != subnet {
			t.Errorf("%s leased %q, want an address of %s0/24", dev, a, subnet)
		}
	}
	vips := map[string]string{"eth0": "192.168.0.15", "eth0.100": "192.168.1.15"}
	nstest.Eventually(t, 60*time.Second, func() error {
		for dev, vip := range vips {
			as := globalAddrs(t, node, dev)
			for _, a := range []string{leased[dev], vip} {
				if _, ok := findAddr(as, a); !ok {
					return fmt.Errorf("%s not on %s: %v", a, dev, as)
				}
			}
		}
		return nil
	})
	code, took := p.stop(syscall.SIGTERM)
	t.Logf("SIGTERM: exit status %d after %v", code, took)
	if code != 0 {
		t.Fatalf("SIGTERM: exit status %d\n%s", code, p.stderr())
	}
	for dev, vip := range vips {
		as := globalAddrs(t, node, dev)
		if _, ok := findAddr(as, vip); ok {
			t.Errorf("shared IP %s still on %s after SIGTERM: %v", vip, dev, as)
		}
		if _, ok := findAddr(as, leased[dev]); !ok {
			t.Errorf("leased %s gone from %s after SIGTERM (the lease is kept): %v", leased[dev], dev, as)
		}
	}
}

// TestBondVLANBridge runs netd on testdata/bond-vlan-bridge.yaml,
// unchanged, with eth0..eth4 veths: bond0 (802.3ad of eth0 and eth1,
// aggregated by LACP with a bond in the server namespace) with DHCP from
// dnsmasq behind that bond and route metric 512, VLAN 100 on the bond
// with a static address and default route, and br0 with STP of eth2 and
// eth3 plus eth4 by bridgePort, with a static address; all checked with
// ip -j -d, and a ping over the bond. The host kernel here lacks bonding
// and 8021q: the test runs on the kernel tier
// (scripts/kerneltest -run TestBondVLANBridge ./examples/netd/).
func TestBondVLANBridge(t *testing.T) {
	needRoot(t)
	nstest.RequireModules(t, "bonding", "8021q")
	node, srv, far := nstest.New(t), nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", srv, "p0")
	nstest.Veth(t, node, "eth1", srv, "p1")
	for i := 2; i <= 4; i++ {
		nstest.Veth(t, node, fmt.Sprintf("eth%d", i), far, fmt.Sprintf("f%d", i))
	}
	srv.Run(t, "ip", "link", "add", "sb0", "type", "bond", "mode", "802.3ad", "lacp_rate", "fast", "miimon", "100")
	for _, p := range []string{"p0", "p1"} {
		srv.Run(t, "ip", "link", "set", p, "down")
		srv.Run(t, "ip", "link", "set", p, "master", "sb0")
	}
	srv.Run(t, "ip", "link", "set", "sb0", "up")
	srv.Run(t, "ip", "addr", "add", "192.168.5.1/24", "dev", "sb0")
	startDnsmasq(t, srv, "sb0", "--dhcp-range=192.168.5.100,192.168.5.150,255.255.255.0,2m",
		"--dhcp-option=option:router,192.168.5.1")
	cfg, err := filepath.Abs("testdata/bond-vlan-bridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
	p.waitLine("netd: keeping", 60*time.Second)
	leased := leasedAddr(t, p.waitLine("dhcp bond0: bound", 90*time.Second))

	type linkJSON struct {
		Name     string   `json:"ifname"`
		Master   string   `json:"master"`
		Link     string   `json:"link"`
		MTU      int      `json:"mtu"`
		Flags    []string `json:"flags"`
		LinkInfo struct {
			Kind      string         `json:"info_kind"`
			Data      map[string]any `json:"info_data"`
			SlaveKind string         `json:"info_slave_kind"`
		} `json:"linkinfo"`
	}
	links := map[string]linkJSON{}
	var all []linkJSON
	node.IPJSON(t, &all, "-d", "link", "show")
	for _, l := range all {
		links[l.Name] = l
	}
	want := func(dev, what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: want %s; ip -j -d link shows %+v", dev, what, links[dev])
		}
	}
	bond := links["bond0"]
	want("bond0", "a bond, 802.3ad, lacp_rate fast, xmit_hash_policy layer3+4, miimon 100, updelay 200, downdelay 200",
		bond.LinkInfo.Kind == "bond" && bond.LinkInfo.Data["mode"] == "802.3ad" && bond.LinkInfo.Data["ad_lacp_rate"] == "fast" &&
			bond.LinkInfo.Data["xmit_hash_policy"] == "layer3+4" && bond.LinkInfo.Data["miimon"] == float64(100) &&
			bond.LinkInfo.Data["updelay"] == float64(200) && bond.LinkInfo.Data["downdelay"] == float64(200) &&
			slices.Contains(bond.Flags, "UP"))
	for _, m := range []string{"eth0", "eth1"} {
		want(m, "a member of bond0", links[m].Master == "bond0" && links[m].LinkInfo.SlaveKind == "bond")
	}
	// LACP: both members of each bond aggregate with the other bond as
	// partner.
	lacp := func(n *nstest.NS, bond, partner string) error {
		var bl []linkJSON
		n.IPJSON(t, &bl, "-d", "link", "show", "dev", bond)
		ad, _ := bl[0].LinkInfo.Data["ad_info"].(map[string]any)
		if ad["partner_mac"] != partner || ad["num_ports"] != float64(2) {
			return fmt.Errorf("%s 802.3ad info %v, want partner %s and 2 ports", bond, ad, partner)
		}
		return nil
	}
	macOf := func(n *nstest.NS, dev string) string {
		var ls []struct {
			Address string `json:"address"`
		}
		n.IPJSON(t, &ls, "link", "show", "dev", dev)
		return ls[0].Address
	}
	nodeMAC, srvMAC := macOf(node, "bond0"), macOf(srv, "sb0")
	nstest.Eventually(t, 30*time.Second, func() error {
		if err := lacp(node, "bond0", srvMAC); err != nil {
			return err
		}
		return lacp(srv, "sb0", nodeMAC)
	})
	v := links["bond0.100"]
	want("bond0.100", "vlan 100 on bond0, mtu 1500, up",
		v.LinkInfo.Kind == "vlan" && v.Link == "bond0" && v.LinkInfo.Data["id"] == float64(100) && v.MTU == 1500 && slices.Contains(v.Flags, "UP"))
	br := links["br0"]
	want("br0", "a bridge with STP, without VLAN filtering, up",
		br.LinkInfo.Kind == "bridge" && br.LinkInfo.Data["stp_state"] != float64(0) && br.LinkInfo.Data["vlan_filtering"] == float64(0) &&
			slices.Contains(br.Flags, "UP"))
	for _, m := range []string{"eth2", "eth3", "eth4"} {
		want(m, "a port of br0", links[m].Master == "br0" && links[m].LinkInfo.SlaveKind == "bridge")
	}
	nstest.Eventually(t, 30*time.Second, func() error {
		for dev, a := range map[string]string{"bond0.100": "192.168.2.10", "br0": "192.168.0.42", "bond0": leased} {
			if _, ok := findAddr(globalAddrs(t, node, dev), a); !ok {
				return fmt.Errorf("%s not on %s: %v", a, dev, globalAddrs(t, node, dev))
			}
		}
		var rs []struct {
			Dst     string `json:"dst"`
			Gateway string `json:"gateway"`
			Dev     string `json:"dev"`
			Metric  int    `json:"metric"`
		}
		node.IPJSON(t, &rs, "-4", "route", "show", "default")
		var got []string
		for _, r := range rs {
			got = append(got, fmt.Sprintf("via %s dev %s metric %d", r.Gateway, r.Dev, r.Metric))
		}
		for _, w := range []string{"via 192.168.2.1 dev bond0.100 metric 1024", "via 192.168.5.1 dev bond0 metric 512"} {
			if !slices.Contains(got, w) {
				return fmt.Errorf("default routes %q lack %q", got, w)
			}
		}
		return nil
	})
	nstest.Eventually(t, 20*time.Second, func() error {
		if _, err := srv.Exec("ping", "-c", "1", "-W", "1", leased); err != nil {
			return fmt.Errorf("ping %s over the bond from its LACP partner: %w", leased, err)
		}
		return nil
	})
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit status %d\n%s", code, p.stderr())
	}
}
