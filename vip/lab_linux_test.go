package vip_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/internal/etcdtest"
	"github.com/netprim/netprim/nstest"
)

// The lab's network: a bridge br0 in namespace lan joins the nodes (eth0,
// 10.88.0.N/24 and fd88::N/64) and a client (10.88.0.100); etcd listens on
// the bridge's own address, so each node reaches it over its link and a
// node can be cut off by its own firewall.
const (
	labSubnet4 = "10.88.0."
	labSubnet6 = "fd88::"
	etcdIP     = "10.88.0.254"
	clientIP   = "10.88.0.100"
	vip4       = "10.88.0.50"
	vip6       = "fd88::50"
	nodeLink   = "eth0"
)

type lab struct {
	t      testing.TB
	lan    *nstest.NS
	client *nstest.NS
	nodes  []*nstest.NS
	etcd   *etcdtest.Server
	cli    *clientv3.Client // made by waitCandidate
	// prefix is the election prefix, unique per lab.
	prefix string
}

// newLab builds the bridge, n node namespaces, a client namespace and an
// embedded etcd listening inside the lan namespace.
func newLab(t testing.TB, n int) *lab {
	t.Helper()
	nstest.RequireModules(t, "ipv6", "bridge")
	l := &lab{t: t, lan: nstest.New(t), client: nstest.New(t), prefix: "/netprim-test/" + t.Name()}
	l.lan.Run(t, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0")
	l.lan.Run(t, "ip", "addr", "add", etcdIP+"/24", "dev", "br0")
	l.lan.Run(t, "ip", "link", "set", "br0", "up")
	join := func(ns *nstest.NS, port, ip4, ip6 string) {
		nstest.Veth(t, ns, nodeLink, l.lan, port)
		l.lan.Run(t, "ip", "link", "set", port, "master", "br0")
		ns.Run(t, "ip", "addr", "add", ip4+"/24", "dev", nodeLink)
		ns.Run(t, "ip", "addr", "add", ip6+"/64", "dev", nodeLink, "nodad")
	}
	for i := range n {
		ns := nstest.New(t)
		join(ns, fmt.Sprintf("p%d", i+1), fmt.Sprintf("%s%d", labSubnet4, i+1), fmt.Sprintf("%s%d", labSubnet6, i+1))
		l.nodes = append(l.nodes, ns)
	}
	join(l.client, "pc", clientIP, labSubnet6+"100")
	for _, ns := range append([]*nstest.NS{l.lan, l.client}, l.nodes...) {
		nstest.Settle(t, ns)
	}
	l.etcd = etcdtest.Start(t, etcdtest.InNamespace(l.lan.Namespace, netip.MustParseAddr(etcdIP)))
	return l
}

// endpoint is etcd's client URL.
func (l *lab) endpoint() string { return l.etcd.Endpoints()[0] }

// holders returns the indexes of the nodes that have ip on their link.
func (l *lab) holders(ip netip.Addr) []int {
	var out []int
	for i, ns := range l.nodes {
		as, err := addr.List(context.Background(), ns.Namespace)
		if err != nil {
			l.t.Errorf("node %d: %v", i, err)
			continue
		}
		for _, a := range as {
			if a.Address.Addr() == ip && a.Link == nodeLink {
				out = append(out, i)
			}
		}
	}
	return out
}

// sampler reads every node's addresses every interval, one goroutine per
// node, and records when each node was seen holding the address.
type sampler struct {
	mu    sync.Mutex
	spans [][]span // per node
	stop  context.CancelFunc
	done  sync.WaitGroup
	errs  []error
}

// span is a stretch in which a node was seen holding the address: first
// and last sighting.
type span struct{ from, to time.Time }

func (l *lab) sample(ip netip.Addr, every time.Duration) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{spans: make([][]span, len(l.nodes)), stop: cancel}
	for i, ns := range l.nodes {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			holding := false
			for ctx.Err() == nil {
				as, err := addr.List(ctx, ns.Namespace)
				now := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						s.mu.Lock()
						s.errs = append(s.errs, err)
						s.mu.Unlock()
					}
					return
				}
				has := false
				for _, a := range as {
					if a.Address.Addr() == ip && a.Link == nodeLink {
						has = true
					}
				}
				s.mu.Lock()
				switch {
				case has && !holding:
					s.spans[i] = append(s.spans[i], span{now, now})
				case has:
					s.spans[i][len(s.spans[i])-1].to = now
				}
				s.mu.Unlock()
				holding = has
				time.Sleep(every)
			}
		}()
	}
	l.t.Cleanup(s.close)
	return s
}

func (s *sampler) close() {
	s.stop()
	s.done.Wait()
}

// overlaps returns every pair of sightings of two nodes that overlap in
// time: two owners at once.
func (s *sampler) overlaps() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for a := range s.spans {
		for b := a + 1; b < len(s.spans); b++ {
			for _, x := range s.spans[a] {
				for _, y := range s.spans[b] {
					if !x.to.Before(y.from) && !y.to.Before(x.from) {
						out = append(out, fmt.Sprintf("node %d [%s, %s] and node %d [%s, %s]", a, x.from.Format("15:04:05.000"), x.to.Format("15:04:05.000"), b, y.from.Format("15:04:05.000"), y.to.Format("15:04:05.000")))
					}
				}
			}
		}
	}
	return out
}

// check fails the test on sampling errors or overlaps.
func (s *sampler) check(t testing.TB) {
	t.Helper()
	s.close()
	for _, err := range s.errs {
		t.Errorf("sampling: %v", err)
	}
	if o := s.overlaps(); len(o) > 0 {
		t.Errorf("two owners at once:\n%s", strings.Join(o, "\n"))
	}
}
