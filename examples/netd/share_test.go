//go:build linux

package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/nstest"
)

// shareVIP is the shared IP of TestSharedVIP's three nodes.
const shareVIP = "10.88.0.50"

// shareConfig is node n's configuration: a static address on eth0 and the
// shared IP.
func shareConfig(n int) string {
	return fmt.Sprintf(`version: v1alpha1
machine:
  network:
    interfaces:
      - interface: eth0
        addresses:
          - 10.88.0.%d/24
        vip:
          ip: %s
`, n, shareVIP)
}

// TestSharedVIP runs three netd processes, each on its own node namespace
// (eth0 a port of bridge br0 in a lan namespace), with the same shared
// IP, elected over one embedded etcd with a TTL of 2 s, while every node's
// addresses are sampled every 2 ms: exactly one node holds the address;
// after SIGTERM of the owner another takes it over, after SIGKILL of the
// next owner the last node takes it over once the election's TTL ran out,
// and the killed node's copy goes by its kernel lifetime; never do two
// nodes hold it at once.
func TestSharedVIP(t *testing.T) {
	needRoot(t)
	lan := nstest.New(t)
	lan.Run(t, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0")
	lan.Run(t, "ip", "link", "set", "br0", "up")
	var nodes []*nstest.NS
	for i := range 3 {
		n := nstest.New(t)
		port := fmt.Sprintf("p%d", i+1)
		nstest.Veth(t, n, "eth0", lan, port)
		lan.Run(t, "ip", "link", "set", port, "master", "br0")
		nodes = append(nodes, n)
	}
	endpoint := startEtcd(t)
	vip := netip.MustParseAddr(shareVIP)
	s := sampleHolders(t, nodes, vip, 2*time.Millisecond)
	procs := make([]*proc, len(nodes))
	for i, n := range nodes {
		procs[i] = startNetd(t, "--netns", n.Name, "--root", t.TempDir(), "-f", writeConfig(t, shareConfig(i+1)),
			"--etcd-endpoints", endpoint, "--election-ttl", "2s")
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
	code, took := procs[owner].stop(syscall.SIGTERM)
	if code != 0 {
		t.Errorf("node %d: SIGTERM: exit status %d, want 0\n%s", owner+1, code, procs[owner].stderr())
	}
	if _, has := findAddr(globalAddrs(t, nodes[owner], "eth0"), shareVIP); has {
		t.Errorf("node %d still holds %s after its exit on SIGTERM", owner+1, vip)
	}
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

	code, _ = procs[last].stop(syscall.SIGTERM)
	if code != 0 {
		t.Errorf("node %d: SIGTERM: exit status %d, want 0\n%s", last+1, code, procs[last].stderr())
	}
	s.check(t)
	for i, n := range nodes {
		if _, ok := findAddr(globalAddrs(t, n, "eth0"), shareVIP); ok {
			t.Errorf("node %d still holds %s after every netd stopped", i+1, vip)
		}
	}
}

// holderSampler reads every node's addresses every interval, one goroutine
// per node namespace (addr.List), and records each stretch in which a node
// was seen holding the address: from its first to its last sighting.
type holderSampler struct {
	mu    sync.Mutex
	spans [][]sighting
	now   []bool // seen holding at the last sample
	errs  []error
	stop  context.CancelFunc
	done  sync.WaitGroup
	once  sync.Once
}

type sighting struct{ from, to time.Time }

func sampleHolders(t testing.TB, nodes []*nstest.NS, ip netip.Addr, every time.Duration) *holderSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &holderSampler{spans: make([][]sighting, len(nodes)), now: make([]bool, len(nodes)), stop: cancel}
	for i, n := range nodes {
		s.done.Go(func() {
			holding := false
			for ctx.Err() == nil {
				as, err := addr.List(ctx, n.Namespace)
				at := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						s.mu.Lock()
						s.errs = append(s.errs, fmt.Errorf("node %d: %w", i+1, err))
						s.mu.Unlock()
					}
					return
				}
				has := false
				for _, a := range as {
					if a.Address.Addr() == ip && a.Link == "eth0" {
						has = true
					}
				}
				s.mu.Lock()
				switch {
				case has && !holding:
					s.spans[i] = append(s.spans[i], sighting{at, at})
				case has:
					s.spans[i][len(s.spans[i])-1].to = at
				}
				s.now[i] = has
				s.mu.Unlock()
				holding = has
				time.Sleep(every)
			}
		})
	}
	t.Cleanup(s.close)
	return s
}

func (s *holderSampler) close() {
	s.once.Do(func() {
		s.stop()
		s.done.Wait()
	})
}

// waitOneHolder waits until exactly one node, none of except, is seen
// holding the address, and returns it.
func (s *holderSampler) waitOneHolder(t testing.TB, except []int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s.mu.Lock()
		var holders []int
		for i, h := range s.now {
			if h {
				holders = append(holders, i)
			}
		}
		errs := s.errs
		s.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("sampling: %v", errs)
		}
		if len(holders) == 1 && !containsInt(except, holders[0]) {
			return holders[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single holder (other than nodes %v) after %v: holders %v", except, within, holders)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// firstSeen is when node i was first seen holding the address after t0.
func (s *holderSampler) firstSeen(i int, t0 time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range s.spans[i] {
		if sp.from.After(t0) {
			return sp.from
		}
	}
	return time.Time{}
}

// lastSeen is when node i was last seen holding the address.
func (s *holderSampler) lastSeen(i int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.spans[i]); n > 0 {
		return s.spans[i][n-1].to
	}
	return time.Time{}
}

// check stops sampling and fails the test on sampling errors and on any
// two nodes seen holding the address at overlapping times.
func (s *holderSampler) check(t testing.TB) {
	t.Helper()
	s.close()
	for _, err := range s.errs {
		t.Errorf("sampling: %v", err)
	}
	for a := range s.spans {
		for b := a + 1; b < len(s.spans); b++ {
			for _, x := range s.spans[a] {
				for _, y := range s.spans[b] {
					if !x.to.Before(y.from) && !y.to.Before(x.from) {
						t.Errorf("two holders at once: node %d [%s, %s] and node %d [%s, %s]",
							a+1, x.from.Format("15:04:05.000"), x.to.Format("15:04:05.000"),
							b+1, y.from.Format("15:04:05.000"), y.to.Format("15:04:05.000"))
					}
				}
			}
		}
	}
}
