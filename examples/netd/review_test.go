//go:build linux

package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// TestReviewReloadRemovesWhileDHCPWaits: SIGHUP applies the difference,
// a removed static address included, also while a DHCP client of the
// configuration has no lease (its server is down, or a DHCPv6 client on
// a network without DHCPv6). The control has no DHCP entry.
func TestReviewReloadRemovesWhileDHCPWaits(t *testing.T) {
	for _, c := range []struct {
		name, dhcp string
		lab        bool // dnsmasq (DHCPv4 only) serves eth0
	}{
		{"static-only", "", false},
		{"dhcp-without-server", "        dhcp: true\n", false},
		{"dhcpv4-bound-dhcpv6-without-server", "        dhcp: true\n        dhcpOptions: {ipv4: true, ipv6: true}\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var n *nstest.NS
			if c.lab {
				n, _ = startLab(t)
			} else {
				n, _ = netdNS(t) // eth0's peer runs no DHCP server
			}
			conf := func(addrs string) string {
				return "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n" +
					c.dhcp + "        addresses: [" + addrs + "]\n"
			}
			cfg := writeConfig(t, conf("10.9.0.1/24, 10.9.0.2/24"))
			p := startNetd(t, "-f", cfg, "--netns", n.Name, "--root", t.TempDir(), "--resync", "1h")
			p.waitLine("netd: keeping", 30*time.Second)
			if c.lab {
				p.waitLine("dhcp eth0: bound", 30*time.Second)
			}
			reloadDropsAddr(t, p, n, cfg, conf)
			if code, _ := p.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("SIGTERM: exit status %d", code)
			}
		})
	}
}

// reloadDropsAddr checks that eth0 in n has 10.9.0.2/24, then rewrites cfg
// with conf("10.9.0.1/24"), sends p SIGHUP and checks that the address
// goes.
func reloadDropsAddr(t *testing.T, p *proc, n *nstest.NS, cfg string, conf func(addrs string) string) {
	t.Helper()
	nstest.Eventually(t, 10*time.Second, func() error {
		if !hasAddr(t, n, "eth0", "10.9.0.2/24") {
			return fmt.Errorf("10.9.0.2/24 not on eth0: %v", globalAddrs(t, n, "eth0"))
		}
		return nil
	})
	rewrite(t, cfg, conf("10.9.0.1/24"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine("netd: reloaded", 10*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		if hasAddr(t, n, "eth0", "10.9.0.2/24") {
			return fmt.Errorf("10.9.0.2/24, removed from the file, still on eth0 after SIGHUP: %v", globalAddrs(t, n, "eth0"))
		}
		return nil
	})
}

// TestReviewLeaseMTUBridge: README: "A DHCPv4 lease's MTU (option 26) is
// applied to an interface whose entry sets no mtu, as in Talos". The
// interface here is a bridge.
func TestReviewLeaseMTUBridge(t *testing.T) {
	node := mtuLab(t)
	cfg := writeConfig(t, "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n"+
		"      - interface: br0\n        dhcp: true\n        bridge:\n          interfaces: [eth0]\n")
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
	p.waitLine("dhcp br0: bound", 30*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		if m := mtu(t, node, "br0"); m != 1400 {
			return fmt.Errorf("br0 mtu %d, want the lease's 1400", m)
		}
		return nil
	})
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
}

// TestReviewLeaseMTUAfterDHCPRemoved: once a reload removes the DHCP
// entry of an interface whose entry sets no mtu, netd no longer manages
// its MTU: the lease's MTU is not enforced against a change by hand.
func TestReviewLeaseMTUAfterDHCPRemoved(t *testing.T) {
	node := mtuLab(t)
	const head = "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n"
	cfg := writeConfig(t, head+"        dhcp: true\n")
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
	p.waitLine("dhcp eth0: bound", 30*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		if m := mtu(t, node, "eth0"); m != 1400 {
			return fmt.Errorf("eth0 mtu %d, want the lease's 1400", m)
		}
		return nil
	})
	rewrite(t, cfg, head+"        addresses: [192.168.0.9/24]\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine("netd: reloaded", 10*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		if !hasAddr(t, node, "eth0", "192.168.0.9/24") {
			return errors.New("192.168.0.9/24 not on eth0 after the reload")
		}
		return nil
	})
	// One change by hand: MTU 1500 and down. netd brings eth0 up (up:
	// true) in the pass that sees the change; once it is up, that pass has
	// judged the MTU too.
	node.Run(t, "ip", "link", "set", "dev", "eth0", "down", "mtu", "1500")
	nstest.Eventually(t, 10*time.Second, func() error {
		var links []struct {
			Flags []string `json:"flags"`
		}
		node.IPJSON(t, &links, "link", "show", "dev", "eth0")
		for _, f := range links[0].Flags {
			if f == "UP" {
				return nil
			}
		}
		return errors.New("eth0 not brought up again")
	})
	if m := mtu(t, node, "eth0"); m != 1500 {
		t.Errorf("eth0 mtu %d after it was set to 1500 by hand: the configuration has no mtu and no dhcp any more, yet netd enforces the old lease's MTU", m)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
}

// TestReviewVIPOwnerNextToOwner: README: "The address is marked with an
// owner id next to --owner's".
func TestReviewVIPOwnerNextToOwner(t *testing.T) {
	for _, owner := range []uint{78, 100, 200} {
		got := uint(vipOwner(owner).ID)
		if got != owner+1 && got+1 != owner {
			t.Errorf("--owner %d: the shared IP's owner id is %d, not next to it", owner, got)
		}
	}
}
