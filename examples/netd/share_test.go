//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// shareVIP is the shared IP of TestSharedVIP's three nodes.
const shareVIP = "10.88.0.50"

// sharedIPConfig is node n's configuration in a test of a shared IP: on
// eth0 a static address, the n-th of vip's /24, and the shared IP vip.
func sharedIPConfig(vip string, n int) string {
	a := netip.MustParseAddr(vip).As4()
	a[3] = byte(n)
	return fmt.Sprintf(`version: v1alpha1
machine:
  network:
    interfaces:
      - interface: eth0
        addresses:
          - %s/24
        vip:
          ip: %s
`, netip.AddrFrom4(a), vip)
}

// sharedIPNodes makes count node namespaces, each with an eth0 whose peer
// is a port of bridge br0 in a lan namespace.
func sharedIPNodes(t *testing.T, count int) []*nstest.NS {
	t.Helper()
	needRoot(t)
	lan := nstest.New(t)
	lan.Run(t, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0")
	lan.Run(t, "ip", "link", "set", "br0", "up")
	var nodes []*nstest.NS
	for i := range count {
		n := nstest.New(t)
		port := fmt.Sprintf("p%d", i+1)
		nstest.Veth(t, n, "eth0", lan, port)
		lan.Run(t, "ip", "link", "set", port, "master", "br0")
		nodes = append(nodes, n)
	}
	return nodes
}

// TestSharedVIP runs three netd processes, each on its own node namespace
// (eth0 a port of bridge br0 in a lan namespace), with the same shared
// IP, elected over one embedded etcd with a TTL of 3 s, while every node's
// addresses are sampled every 2 ms: exactly one node holds the address;
// after SIGTERM of the owner another takes it over, after SIGKILL of the
// next owner the last node takes it over once the election's TTL ran out,
// and the killed node's copy goes by its kernel lifetime; never do two
// nodes hold it at once.
func TestSharedVIP(t *testing.T) {
	nodes := sharedIPNodes(t, 3)
	endpoint := startEtcd(t)
	vip := netip.MustParseAddr(shareVIP)
	s := sampleHolders(t, nodes, "eth0", vip, 2*time.Millisecond)
	procs := make([]*proc, len(nodes))
	for i, n := range nodes {
		procs[i] = startNetd(t, "--netns", n.Name, "--root", t.TempDir(), "-f", writeConfig(t, sharedIPConfig(shareVIP, i+1)),
			"--etcd-endpoints", endpoint, "--election-ttl", "3s")
	}
	for _, p := range procs {
		p.waitLine("netd: keeping", 30*time.Second)
	}

	// One owner.
	owner := s.waitOneHolder(t, nil, 30*time.Second)
	t.Logf("node %d holds %s", owner+1, vip)
	procs[owner].waitLine("vip "+shareVIP+": acquired", 10*time.Second)

	// SIGTERM of the owner: another takes over.
	stopped := time.Now()
	took := stopHolder(t, procs[owner], nodes[owner], owner, shareVIP)
	next := s.waitOneHolder(t, []int{owner}, 30*time.Second)
	t.Logf("SIGTERM of node %d: exit after %v; node %d acquired %v after the signal",
		owner+1, took, next+1, s.firstSeen(next, stopped).Sub(stopped))
	procs[next].waitLine("vip "+shareVIP+": acquired", 10*time.Second)

	// SIGKILL of the new owner: the last node takes over once the TTL ran
	// out; the killed node's copy goes by its kernel lifetime.
	killed := time.Now()
	procs[next].stop(syscall.SIGKILL)
	last := s.waitOneHolder(t, []int{owner, next}, 30*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		if _, has := findAddr(globalAddrs(t, nodes[next], "eth0"), shareVIP); has {
			return fmt.Errorf("node %d (killed) still holds %s", next+1, vip)
		}
		return nil
	})
	t.Logf("SIGKILL of node %d: its copy last seen %v after the kill; node %d acquired %v after the kill",
		next+1, s.lastSeen(next).Sub(killed), last+1, s.firstSeen(last, killed).Sub(killed))
	procs[last].waitLine("vip "+shareVIP+": acquired", 10*time.Second)

	stopHolder(t, procs[last], nodes[last], last, shareVIP)
	s.check(t)
	checkNoHolder(t, nodes, shareVIP)
}

// stopHolder stops node i's netd, p, with SIGTERM and fails the test
// unless it exits 0 and leaves the shared IP vip off the node's eth0. It
// returns how long the exit took.
func stopHolder(t *testing.T, p *proc, node *nstest.NS, i int, vip string) time.Duration {
	t.Helper()
	code, took := p.stop(syscall.SIGTERM)
	if code != 0 {
		t.Errorf("node %d: SIGTERM: exit status %d, want 0\n%s", i+1, code, p.stderr())
	}
	if _, has := findAddr(globalAddrs(t, node, "eth0"), vip); has {
		t.Errorf("node %d still holds %s after its exit on SIGTERM", i+1, vip)
	}
	return took
}

// checkNoHolder fails the test if any of nodes holds the shared IP vip on
// eth0, once every netd stopped.
func checkNoHolder(t *testing.T, nodes []*nstest.NS, vip string) {
	t.Helper()
	for i, n := range nodes {
		if _, ok := findAddr(globalAddrs(t, n, "eth0"), vip); ok {
			t.Errorf("node %d still holds %s after every netd stopped", i+1, vip)
		}
	}
}
