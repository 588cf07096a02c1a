//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// staticConfig is a Talos configuration with static addressing of eth0,
// a route, an MTU, resolvers and hosts.
const staticConfig = `version: v1alpha1
machine:
  network:
    hostname: node-1
    nameservers: [192.0.2.53]
    searchDomains: [example.org]
    extraHostEntries:
      - ip: 192.0.2.80
        aliases: [api.example.org]
    interfaces:
      - interface: eth0
        mtu: 1400
        addresses: [192.0.2.10/24]
        routes:
          - network: 198.51.100.0/24
            gateway: 192.0.2.1
            metric: 50
cluster:
  controlPlane:
    endpoint: https://192.0.2.80:6443
`

// netdNS is a namespace with eth0 (a veth whose peer is in a second
// namespace) for netd to manage.
func netdNS(t *testing.T) (n, peer *nstest.NS) {
	t.Helper()
	needRoot(t)
	n, peer = nstest.New(t), nstest.New(t)
	nstest.Veth(t, n, "eth0", peer, "peer0")
	return n, peer
}

func mtu(t *testing.T, n *nstest.NS, dev string) int {
	t.Helper()
	var links []struct {
		MTU int `json:"mtu"`
	}
	n.IPJSON(t, &links, "link", "show", "dev", dev)
	if len(links) != 1 {
		t.Fatalf("ip link show %s: %v", dev, links)
	}
	return links[0].MTU
}

func hasRoute(t *testing.T, n *nstest.NS, dst, via string, metric int) bool {
	t.Helper()
	var routes []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
		Metric  int    `json:"metric"`
	}
	n.IPJSON(t, &routes, "route", "show")
	for _, r := range routes {
		if r.Dst == dst && r.Gateway == via && r.Metric == metric {
			return true
		}
	}
	return false
}

// readFile returns the content of path, "" when it does not exist.
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// TestStatic runs netd on a static configuration: addresses, route, MTU
// and files are applied; a deleted address and an overwritten resolv.conf
// are repaired; SIGHUP applies a changed file and keeps the configuration
// on an invalid one; SIGTERM exits 0 and leaves everything in place.
func TestStatic(t *testing.T) {
	n, _ := netdNS(t)
	root := t.TempDir()
	cfg := writeConfig(t, staticConfig)
	p := startNetd(t, "-f", cfg, "--netns", n.Name, "--root", root, "--resync", "1h")
	p.waitLine("netd: keeping", 30*time.Second)

	if !hasAddr(t, n, "eth0", "192.0.2.10/24") {
		t.Fatalf("eth0 addresses %v, want 192.0.2.10/24", globalAddrs(t, n, "eth0"))
	}
	if m := mtu(t, n, "eth0"); m != 1400 {
		t.Fatalf("eth0 mtu %d, want 1400", m)
	}
	if !hasRoute(t, n, "198.51.100.0/24", "192.0.2.1", 50) {
		t.Fatal("route 198.51.100.0/24 via 192.0.2.1 metric 50 missing")
	}
	resolvConf := filepath.Join(root, "etc/resolv.conf")
	if rc := readFile(t, resolvConf); !strings.Contains(rc, "nameserver 192.0.2.53") || !strings.Contains(rc, "search example.org") {
		t.Fatalf("resolv.conf:\n%s", rc)
	}
	if h := readFile(t, filepath.Join(root, "etc/hosts")); !strings.Contains(h, "192.0.2.80") || !strings.Contains(h, "api.example.org") {
		t.Fatalf("hosts:\n%s", h)
	}
	if h := strings.TrimSpace(readFile(t, filepath.Join(root, "etc/hostname"))); h != "node-1" {
		t.Fatalf("hostname file %q, want node-1", h)
	}

	// Drift: an address deleted by hand comes back at once, a resolv.conf
	// edited by hand within a second (the test allows more on a busy
	// machine; the repair time is logged).
	start := time.Now()
	n.Run(t, "ip", "addr", "del", "192.0.2.10/24", "dev", "eth0")
	nstest.Eventually(t, 5*time.Second, func() error {
		if !hasAddr(t, n, "eth0", "192.0.2.10/24") {
			return errors.New("address 192.0.2.10/24 not restored")
		}
		return nil
	})
	t.Logf("deleted address restored after %v", time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(resolvConf, []byte("nameserver 203.0.113.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	nstest.Eventually(t, 5*time.Second, func() error {
		if rc := readFile(t, resolvConf); !strings.Contains(rc, "nameserver 192.0.2.53") {
			return fmt.Errorf("resolv.conf not restored:\n%s", rc)
		}
		return nil
	})
	t.Logf("edited resolv.conf restored after %v", time.Since(start).Round(time.Millisecond))

	// SIGHUP with a changed file: the difference is applied.
	rewrite(t, cfg, strings.Replace(staticConfig, "addresses: [192.0.2.10/24]", "addresses: [192.0.2.10/24, 192.0.2.11/24]", 1))
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine("netd: reloaded", 10*time.Second)
	nstest.Eventually(t, 5*time.Second, func() error {
		if !hasAddr(t, n, "eth0", "192.0.2.11/24") {
			return errors.New("192.0.2.11/24 not added after SIGHUP")
		}
		return nil
	})
	// SIGHUP with an invalid file: reported, the configuration stays.
	rewrite(t, cfg, strings.Replace(staticConfig, "mtu: 1400", "mtu: 1400\n        bogus: 1", 1))
	p.cmd.Process.Signal(syscall.SIGHUP)
	line := p.waitLine("the previous configuration stays in force", 10*time.Second)
	if !strings.Contains(line, "machine.network.interfaces[0].bogus") {
		t.Errorf("reload error does not name the bad key: %s", line)
	}
	n.Run(t, "ip", "addr", "del", "192.0.2.11/24", "dev", "eth0")
	nstest.Eventually(t, 5*time.Second, func() error {
		if !hasAddr(t, n, "eth0", "192.0.2.11/24") {
			return errors.New("after an invalid reload the previous configuration is not kept applied")
		}
		return nil
	})

	code, took := p.stop(syscall.SIGTERM)
	if code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	t.Logf("exit %v after SIGTERM", took.Round(time.Millisecond))
	if !hasAddr(t, n, "eth0", "192.0.2.10/24") || mtu(t, n, "eth0") != 1400 {
		t.Fatal("the configuration did not stay in place after SIGTERM")
	}
}

// TestInvalidStart: an invalid file exits 1 with the error and changes
// nothing.
func TestInvalidStart(t *testing.T) {
	n, _ := netdNS(t)
	before := n.Run(t, "ip", "-j", "-d", "addr")
	for _, c := range []struct{ yaml, want string }{
		{strings.Replace(staticConfig, "mtu: 1400", "mtu: 1400\n        bogus: 1", 1), "machine.network.interfaces[0].bogus"},
		{strings.Replace(staticConfig, "192.0.2.10/24", "192.0.2.300/24", 1), "machine.network.interfaces[0].addresses[0]"},
		{"version: v1alpha1\nmachine:\n  network:\n    kubespan:\n      enabled: true\n", "kubespan"},
	} {
		p := startNetd(t, "-f", writeConfig(t, c.yaml), "--netns", n.Name, "--root", t.TempDir())
		if code := p.wait(30 * time.Second); code != 1 {
			t.Fatalf("exit status %d, want 1", code)
		}
		if !strings.Contains(p.stderr(), c.want) {
			t.Fatalf("stderr does not name %q:\n%s", c.want, p.stderr())
		}
	}
	if after := n.Run(t, "ip", "-j", "-d", "addr"); string(after) != string(before) {
		t.Fatalf("addresses changed by a refused start:\nbefore %s\nafter  %s", before, after)
	}
	if mtu(t, n, "eth0") == 1400 {
		t.Fatal("MTU changed by a refused start")
	}
}

// TestDryRun prints the plan and changes nothing.
func TestDryRun(t *testing.T) {
	n, _ := netdNS(t)
	p := startNetd(t, "-f", writeConfig(t, staticConfig), "--netns", n.Name, "--root", t.TempDir(), "--dry-run")
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit status %d:\n%s", code, p.stderr())
	}
	out := p.stdout()
	for _, want := range []string{"~ link eth0 mtu 1500 -> 1400", "+ address 192.0.2.10/24 dev eth0", "+ route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 50"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if hasAddr(t, n, "eth0", "192.0.2.10/24") || mtu(t, n, "eth0") == 1400 {
		t.Fatal("--dry-run changed the namespace")
	}
	p = startNetd(t, "-f", writeConfig(t, "version: v1alpha1\nmachine:\n  network:\n    bogus: 1\n"), "--netns", n.Name, "--dry-run")
	if code := p.wait(30 * time.Second); code != 1 {
		t.Fatalf("--dry-run of an invalid file: exit status %d, want 1", code)
	}
}

// TestFlags: usage errors exit 2.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-f", "x.yaml", "--owner", "2"}, {"-f", "x.yaml", "--election-ttl", "1s"},
		{"-f", "x.yaml", "--etcd-endpoints", "http://127.0.0.1:2379", "--kubeconfig", "k"}, {"-f", "x.yaml", "extra"}} {
		if _, err := parseFlags(args, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"-f", "c.yaml", "--etcd-endpoints", "http://a:2379,http://b:2379", "--election-ttl", "3s"}, &strings.Builder{})
	if err != nil || len(o.etcdEndpoints) != 2 || o.electionTTL != 3*time.Second || o.root != "/" {
		t.Fatalf("parseFlags: %+v, %v", o, err)
	}

}
