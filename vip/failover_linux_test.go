package vip_test

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/vip"
)

// failoverTTL is the election TTL of the failover tests: vip.MinTTL's 3 s
// leave the address a 1 s lifetime refreshed every 0.75 s; 4 s leave 2 s,
// so a renewal late on a loaded machine does not make the owner's address
// lapse.
const failoverTTL = 4 * time.Second

// trials is how many graceful and crash failovers TestFailover runs:
// NETPRIM_VIP_TRIALS=graceful,crash (default 10,3).
func trials(t *testing.T) (graceful, crash int) {
	graceful, crash = 10, 3
	if v := os.Getenv("NETPRIM_VIP_TRIALS"); v != "" {
		var err error
		if _, err = fmt.Sscanf(v, "%d,%d", &graceful, &crash); err != nil {
			t.Fatalf("NETPRIM_VIP_TRIALS=%q: want GRACEFUL,CRASH: %v", v, err)
		}
	}
	return graceful, crash
}

// waitHolder waits until exactly one node holds ip and it is not the
// node except (-1: any), and returns it.
func (l *lab) waitHolder(ip netip.Addr, except int, within time.Duration) int {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := l.holders(ip)
		if len(h) == 1 && h[0] != except {
			return h[0]
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("holders of %s after %v: %v (want one, not node %d)", ip, within, h, except)
		}
		time.Sleep(time.Millisecond)
	}
}

// neighbour returns the client's neighbour entry for ip: MAC and state.
func (l *lab) neighbour(ip netip.Addr) (mac, state string) {
	l.t.Helper()
	var entries []struct {
		Dst    string   `json:"dst"`
		Lladdr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	l.client.IPJSON(l.t, &entries, "neigh", "show", "dev", nodeLink)
	for _, e := range entries {
		if e.Dst == ip.String() {
			s := ""
			if len(e.State) > 0 {
				s = e.State[0]
			}
			return e.Lladdr, s
		}
	}
	return "", ""
}

// mac is node i's link MAC as ip(8) shows it.
func (l *lab) mac(i int) string {
	l.t.Helper()
	var links []struct {
		Address string `json:"address"`
	}
	l.nodes[i].IPJSON(l.t, &links, "link", "show", nodeLink)
	if len(links) != 1 {
		l.t.Fatalf("node %d: ip link show %s: %v", i, nodeLink, links)
	}
	return links[0].Address
}

// pingVIP pings ip once from the client with ping(8).
func (l *lab) pingVIP(ip netip.Addr) error {
	_, err := l.client.Exec("ping", "-c", "1", "-W", "2", ip.String())
	return err
}

// TestFailover runs graceful stops (SIGTERM) and crashes (SIGKILL) of
// the owner among three node processes with an etcd election (TTL 4 s),
// for IPv4 and IPv6, while every node's addresses are sampled every 2 ms:
// never two owners; after each takeover the client's existing (stale)
// neighbour entry points at the new owner and a ping answers; a restarted
// former owner does not take the address back.
func TestFailover(t *testing.T) {
	graceful, crash := trials(t)
	for _, ip := range []netip.Addr{netip.MustParseAddr(vip4), netip.MustParseAddr(vip6)} {
		t.Run(fmt.Sprintf("IPv%d", map[bool]int{true: 4, false: 6}[ip.Is4()]), func(t *testing.T) {
			if ip.Is6() {
				graceful, crash = max(graceful/2, 1), max(crash/2, 1)
			}
			hang := 1
			if ip.Is6() {
				hang = 0
			}
			testFailover(t, ip, graceful, crash, hang)
		})
	}
}

// A hang trial stops the owner (SIGSTOP): the kernel drops its address by
// the lifetime before another node wins; continued (SIGCONT) after the
// takeover, the old owner must not put the address back.
func testFailover(t *testing.T, ip netip.Addr, graceful, crash, hang int) {
	l := newLab(t, 3)
	nc := nodeConfig{TTL: failoverTTL, VIP: ip}
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = l.startNode(i, nc)
	}
	owner := l.waitHolder(ip, -1, 15*time.Second)
	if err := l.pingVIP(ip); err != nil {
		t.Fatalf("ping %s before any failover: %v", ip, err)
	}
	s := l.sample(ip, 2*time.Millisecond)
	var took []time.Duration
	for k := range graceful + crash + hang {
		kind := "graceful"
		switch {
		case k >= graceful+crash:
			kind = "hang"
		case k >= graceful:
			kind = "crash"
		}
		// The client's entry is stale, as after a while without traffic:
		// only an announcement can move it.
		l.client.Run(t, "ip", "neigh", "replace", ip.String(), "lladdr", l.mac(owner), "nud", "stale", "dev", nodeLink)
		start := time.Now()
		switch kind {
		case "graceful":
			nodes[owner].stop()
		case "crash":
			nodes[owner].kill()
		case "hang":
			nodes[owner].cmd.Process.Signal(syscall.SIGSTOP)
		}
		next := l.waitHolder(ip, owner, 3*nc.TTL+5*time.Second)
		took = append(took, time.Since(start))
		if kind == "hang" {
			nodes[owner].cmd.Process.Signal(syscall.SIGCONT)
			nodes[owner].waitEvent(vip.Lost, 10*time.Second)
			time.Sleep(500 * time.Millisecond)
			if h := l.holders(ip); !slices.Equal(h, []int{next}) {
				t.Fatalf("hang %d: node %d continued, holders now %v, want [%d]", k, owner, h, next)
			}
			nodes[owner].kill()
		}
		want := l.mac(next)
		nstest.Eventually(t, 3*time.Second, func() error {
			if mac, state := l.neighbour(ip); mac != want {
				return fmt.Errorf("%s failover %d: client's neighbour entry for %s: %s (%s), want node %d's %s", kind, k, ip, mac, state, next, want)
			}
			return nil
		})
		if err := l.pingVIP(ip); err != nil {
			t.Fatalf("%s failover %d: ping %s (owner node %d): %v", kind, k, ip, next, err)
		}
		// The former owner comes back and must not take the address.
		nodes[owner] = l.startNode(owner, nc)
		waitCandidate(t, l, owner)
		if h := l.holders(ip); !slices.Equal(h, []int{next}) {
			t.Fatalf("%s failover %d: node %d restarted, holders now %v, want [%d]", kind, k, owner, h, next)
		}
		owner = next
	}
	s.check(t)
	t.Logf("takeovers (graceful, crash, hang; from the signal to the successor holding %s): %v", ip, took)
}

// waitCandidate waits until node i's identity has a key under the
// election prefix, i.e. it is campaigning.
func waitCandidate(t testing.TB, l *lab, i int) {
	t.Helper()
	if l.cli == nil {
		l.cli = l.etcd.ClientIn(t, l.lan.Namespace)
	}
	cli := l.cli
	nstest.Eventually(t, 10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		r, err := cli.Get(ctx, l.prefix, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		for _, kv := range r.Kvs {
			if string(kv.Value) == "node"+strconv.Itoa(i) {
				return nil
			}
		}
		return fmt.Errorf("node %d is not campaigning under %s", i, l.prefix)
	})
}

// TestPartition cuts the owner off etcd with nftables in its own
// namespace: it gives the address up when its lease can no longer be
// proven, before another node wins; once the cut is lifted it stands again
// and does not take the address back.
func TestPartition(t *testing.T) {
	nstest.RequireFeature(t, "nftables", true)
	l := newLab(t, 3)
	ip := netip.MustParseAddr(vip4)
	nc := nodeConfig{TTL: failoverTTL, VIP: ip}
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = l.startNode(i, nc)
	}
	owner := l.waitHolder(ip, -1, 15*time.Second)
	s := l.sample(ip, 2*time.Millisecond)
	u, err := url.Parse(l.endpoint())
	if err != nil {
		t.Fatal(err)
	}
	ruleset := fmt.Sprintf(`table inet cut {
	chain out { type filter hook output priority 0; ip daddr %s tcp dport %s drop; }
	chain in { type filter hook input priority 0; ip saddr %s tcp sport %s drop; }
}
`, u.Hostname(), u.Port(), u.Hostname(), u.Port())
	f := filepath.Join(t.TempDir(), "cut.nft")
	if err := os.WriteFile(f, []byte(ruleset), 0o600); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	l.nodes[owner].Run(t, "nft", "-f", f)
	lost := nodes[owner].waitEvent(vip.Lost, 3*nc.TTL)
	next := l.waitHolder(ip, owner, 3*nc.TTL+5*time.Second)
	var won nodeEvent
	for won.Kind != vip.Acquired {
		won = nodes[next].waitEvent(vip.Acquired, 5*time.Second)
	}
	if !lost.Time.Before(won.Time) {
		t.Fatalf("the cut-off owner (node %d) gave the address up at %s, after node %d won at %s",
			owner, lost.Time.Format("15:04:05.000"), next, won.Time.Format("15:04:05.000"))
	}
	t.Logf("cut at %s; node %d lost (%s) at +%v; node %d acquired at +%v", cut.Format("15:04:05.000"), owner, lost.Reason,
		lost.Time.Sub(cut).Round(time.Millisecond), next, won.Time.Sub(cut).Round(time.Millisecond))
	l.nodes[owner].Run(t, "nft", "delete", "table", "inet", "cut")
	waitCandidate(t, l, owner)
	time.Sleep(500 * time.Millisecond)
	if h := l.holders(ip); !slices.Equal(h, []int{next}) {
		t.Fatalf("after the cut was lifted: holders %v, want [%d]", h, next)
	}
	s.check(t)
}
