//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
)

// TestRestartKeepsLease: a lease kept by SIGTERM survives netd's restart
// while the DHCP server is gone: the first pass of the new run does not
// prune the leased address (the DHCP source is made before it and holds
// pruning back until the client has taken the lease up again from its
// lease file).
func TestRestartKeepsLease(t *testing.T) {
	node, dm := startLab(t)
	cfg := writeConfig(t, "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n        dhcp: true\n")
	root := t.TempDir()
	args := []string{"--netns", node.Name, "--root", root, "-f", cfg}

	p := startNetd(t, args...)
	leased := leasedAddr(t, p.waitLine("dhcp eth0: bound", 30*time.Second))
	nstest.Eventually(t, 10*time.Second, func() error {
		if _, ok := findAddr(globalAddrs(t, node, "eth0"), leased); !ok {
			return errors.New("leased address not on eth0")
		}
		return nil
	})
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
	// The server goes away: the new run cannot renew at once.
	syscall.Kill(dm.cmd.Process.Pid, syscall.SIGTERM)
	<-dm.done

	p = startNetd(t, args...)
	p.waitLine("netd: keeping", 30*time.Second)
	if strings.Contains(p.stdout(), "- address "+leased) {
		t.Fatalf("the restart's first pass removed the kept lease:\n%s", p.stdout())
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := findAddr(globalAddrs(t, node, "eth0"), leased); !ok {
			t.Fatalf("leased %s gone from eth0 %v after the restart without a server:\n%s", leased,
				time.Until(deadline)+3*time.Second, p.stdout())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
}

// TestRestartKeepsLease6: the same for a DHCPv6 lease from dnsmasq (the
// client identified by the configuration's duidv6, as dnsmasq logs), with
// the server up: the new run takes the kept lease up with a Rebind
// (dnsmasq logs DHCPREBIND), not a Solicit, and `ip monitor address` in
// the node's namespace shows the address never removed across the restart.
func TestRestartKeepsLease6(t *testing.T) {
	needRoot(t)
	srv, node := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", srv, "srv0")
	srv.Run(t, "ip", "addr", "add", "fd77::1/64", "dev", "srv0", "nodad")
	dm := startDnsmasq(t, srv, "srv0", "--dhcp-range=fd77::100,fd77::1ff,64,2m", "--dhcp-rapid-commit")
	const duid = "00:04:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab" // a DUID-UUID
	cfg := writeConfig(t, "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n"+
		"        dhcp: true\n        dhcpOptions: {ipv4: false, ipv6: true, duidv6: \""+duid+"\"}\n")
	args := []string{"--netns", node.Name, "--root", t.TempDir(), "-f", cfg}

	p := startNetd(t, args...)
	m := regexp.MustCompile(`dhcp6 eth0: bound (\S+), valid `).FindStringSubmatch(p.waitLine("dhcp6 eth0: bound", 30*time.Second))
	if m == nil {
		t.Fatalf("no leased address in the output:\n%s", p.stdout())
	}
	leased := m[1]
	nstest.Eventually(t, 10*time.Second, func() error {
		if _, ok := findAddr(globalAddrs(t, node, "eth0"), leased); !ok {
			return fmt.Errorf("leased %s not on eth0: %v", leased, globalAddrs(t, node, "eth0"))
		}
		// dnsmasq's log reaches the test on its own: wait for the
		// reply that gave the lease (its Solicit is logged before).
		out := dm.output()
		if !strings.Contains(out, "DHCPREPLY(srv0) "+leased) {
			return fmt.Errorf("dnsmasq has not logged its reply yet:\n%s", out)
		}
		if !strings.Contains(out, duid) {
			return fmt.Errorf("dnsmasq did not log the configured DUID %s:\n%s", duid, out)
		}
		return nil
	})
	mon := monitorAddresses(t, node)
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
	solicits := strings.Count(dm.output(), "DHCPSOLICIT")

	p = startNetd(t, args...)
	line := p.waitLine("dhcp6 eth0: bound", 30*time.Second)
	if !strings.Contains(line, "bound "+leased+",") {
		t.Errorf("after the restart: %q, want the kept %s", line, leased)
	}
	nstest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(dm.output(), "DHCPREBIND") {
			return errors.New("dnsmasq logged no DHCPREBIND")
		}
		return nil
	})
	if n := strings.Count(dm.output(), "DHCPSOLICIT"); n != solicits {
		t.Errorf("the restart solicited (%d Solicits before, %d after):\n%s", solicits, n, dm.output())
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
	if out := mon(); regexp.MustCompile(`(?m)^Deleted .* ` + regexp.QuoteMeta(leased) + `/`).MatchString(out) {
		t.Errorf("the restart removed %s:\n%s", leased, out)
	}
}

// monitorAddresses runs `ip monitor address` in n; the function returned
// stops it (by PID, also when the test ends) and returns what it printed.
func monitorAddresses(t *testing.T, n *nstest.NS) func() string {
	t.Helper()
	var out lockedBuffer
	cmd := exec.Command("ip", "-n", n.Name, "monitor", "address")
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() string {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		return out.String()
	}
	t.Cleanup(func() { stop() })
	// ip subscribes before it prints anything; give it that moment.
	time.Sleep(100 * time.Millisecond)
	return stop
}

// TestRestartKeptLeaseRanOut: a DHCPv6 lease kept by an earlier run ran out
// while netd was stopped, and no server answers. The client reports it
// expired, which clears its source: it no longer holds pruning back (a
// static address removed by SIGHUP goes), and resolv.conf, which the kept
// lease (without DNS servers) never wrote, keeps its own nameserver.
func TestRestartKeptLeaseRanOut(t *testing.T) {
	n, _ := netdNS(t) // no DHCPv6 server
	root := t.TempDir()
	resolvConf := filepath.Join(root, "etc", "resolv.conf")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(resolvConf, []byte("nameserver 9.9.9.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kept, err := json.Marshal(map[string]any{"version": 1, "lease6": dhcp.Lease6{
		Link: "eth0", Address: netip.MustParseAddr("fd77::99"), ServerID: []byte{0, 3, 0, 1, 2, 0, 0, 0, 0, 1},
		ValidLifetime: time.Hour, PreferredLifetime: time.Hour, T1: 30 * time.Minute, T2: 48 * time.Minute,
		BoundAt: time.Now().Add(-2 * time.Hour),
	}})
	if err != nil {
		t.Fatal(err)
	}
	leaseDir := filepath.Join(root, "var", "lib", "netd")
	if err := os.MkdirAll(leaseDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(leaseDir, "dhcp6-eth0.json"), kept, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := func(addrs string) string {
		return "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n" +
			"        dhcp: true\n        dhcpOptions: {ipv4: false, ipv6: true}\n        addresses: [" + addrs + "]\n"
	}
	cfg := writeConfig(t, conf("10.9.0.1/24, 10.9.0.2/24"))
	p := startNetd(t, "-f", cfg, "--netns", n.Name, "--root", root, "--resync", "1h")
	p.waitLine("dhcp6 eth0: expired", 30*time.Second)
	reloadDropsAddr(t, p, n, cfg, conf)
	if b, err := os.ReadFile(resolvConf); err != nil || string(b) != "nameserver 9.9.9.9\n" {
		t.Errorf("resolv.conf = %q, %v; want the machine's own, untouched", b, err)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
}
