package vip_test

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim/vip"
)

// benchTTL is the election TTL of the benchmark's netprim nodes.
const benchTTL = vip.MinTTL

// BenchmarkFailover measures takeovers of an IPv4 shared IP among three
// node namespaces on a bridge, each iteration one graceful stop (SIGTERM)
// and one crash (SIGKILL) of the owner with netprim nodes (vip.Controller,
// etcd election, TTL vip.MinTTL = 3 s), then the same with keepalived (VRRP, advert_int
// 1) in a lab of its own, as the anchor.
//
// A takeover lasts from the signal to the first gratuitous ARP of the
// successor that the client's link receives (kernel receive timestamp);
// for a keepalived crash the signal is the SIGKILL of its VRRP child.
// Metrics: graceful-p50-ms, graceful-p99-ms, crash-p50-ms, crash-p99-ms,
// acquire-to-frame-p99-ms (the successor's Acquired event to that frame),
// overlaps (pairs of nodes seen holding the address at once, sampled every
// 2 ms; the benchmark fails on any), the keepalived-* counterparts
// (keepalived-overlaps only reported: a crashed keepalived leaves its
// address on the link until it starts again), and
// x-graceful-vs-keepalived and x-crash-vs-keepalived, keepalived's p99
// over netprim's. Without keepalived the anchor's half is skipped, saying
// why, and netprim's metrics are still reported.
func BenchmarkFailover(b *testing.B) {
	ip := netip.MustParseAddr(vip4)
	np := newNetprimRig(b, ip)
	bin, reason := findKeepalived()
	if reason == "" {
		if err := adopt(b); err != nil {
			reason = "cannot reap keepalived's VRRP child after a crash: " + err.Error()
		}
	}
	var ka *vrrpRig
	if reason == "" {
		ka = newVRRPRig(b, bin, ip)
	} else {
		b.Logf("keepalived half skipped: %s", reason)
	}

	var m failoverMetrics
	b.ResetTimer()
	for range b.N {
		for _, crash := range []bool{false, true} {
			s := np.l.sample(ip, 2*time.Millisecond)
			took, acq := np.failover(crash)
			m.add(crash, took)
			m.acquireToFrame = append(m.acquireToFrame, acq)
			m.overlaps += np.overlaps(s)
		}
		if ka == nil {
			continue
		}
		for _, crash := range []bool{false, true} {
			s := ka.l.sample(ip, 2*time.Millisecond)
			took := ka.failover(crash)
			m.addVRRP(crash, took, sampledOverlaps(b, s))
		}
	}
	b.StopTimer()
	m.report(b, ka != nil)
}

// failoverMetrics collects the benchmark's takeovers.
type failoverMetrics struct {
	graceful, crash, acquireToFrame []time.Duration
	kaGraceful, kaCrash             []time.Duration
	overlaps                        int
	// Two keepalived owners at once, in graceful and crash trials.
	kaOverlapsGraceful, kaOverlapsCrash []string
}

func (m *failoverMetrics) add(crash bool, d time.Duration) {
	if crash {
		m.crash = append(m.crash, d)
	} else {
		m.graceful = append(m.graceful, d)
	}
}

func (m *failoverMetrics) addVRRP(crash bool, d time.Duration, overlaps []string) {
	if crash {
		m.kaCrash = append(m.kaCrash, d)
		m.kaOverlapsCrash = append(m.kaOverlapsCrash, overlaps...)
	} else {
		m.kaGraceful = append(m.kaGraceful, d)
		m.kaOverlapsGraceful = append(m.kaOverlapsGraceful, overlaps...)
	}
}

func (m *failoverMetrics) report(b *testing.B, keepalived bool) {
	b.ReportMetric(quantileMS(m.graceful, 0.50), "graceful-p50-ms")
	b.ReportMetric(quantileMS(m.graceful, 0.99), "graceful-p99-ms")
	b.ReportMetric(quantileMS(m.crash, 0.50), "crash-p50-ms")
	b.ReportMetric(quantileMS(m.crash, 0.99), "crash-p99-ms")
	b.ReportMetric(quantileMS(m.acquireToFrame, 0.99), "acquire-to-frame-p99-ms")
	b.ReportMetric(float64(m.overlaps), "overlaps")
	b.Logf("netprim takeovers (ms), graceful: %s; crash: %s; acquisition to first frame: %s",
		msList(m.graceful), msList(m.crash), msList(m.acquireToFrame))
	if !keepalived {
		return
	}
	b.ReportMetric(quantileMS(m.kaGraceful, 0.99), "keepalived-graceful-p99-ms")
	b.ReportMetric(quantileMS(m.kaCrash, 0.99), "keepalived-crash-p99-ms")
	b.ReportMetric(float64(len(m.kaOverlapsGraceful)+len(m.kaOverlapsCrash)), "keepalived-overlaps")
	b.ReportMetric(quantileMS(m.kaGraceful, 0.99)/quantileMS(m.graceful, 0.99), "x-graceful-vs-keepalived")
	b.ReportMetric(quantileMS(m.kaCrash, 0.99)/quantileMS(m.crash, 0.99), "x-crash-vs-keepalived")
	b.Logf("keepalived takeovers (ms), graceful: %s; crash: %s", msList(m.kaGraceful), msList(m.kaCrash))
	b.Logf("keepalived overlaps: %d in graceful trials, %d in crash trials%s", len(m.kaOverlapsGraceful), len(m.kaOverlapsCrash),
		firstOf(": first ", slices.Concat(m.kaOverlapsGraceful, m.kaOverlapsCrash)))
}

// firstOf returns prefix and the first of s, or "" when s is empty.
func firstOf(prefix string, s []string) string {
	if len(s) == 0 {
		return ""
	}
	return prefix + s[0]
}

// quantileMS is the q-quantile of ds in milliseconds, by nearest rank.
func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(ds))
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}

func msList(ds []time.Duration) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f", float64(d)/float64(time.Millisecond))
	}
	return b.String()
}

// nodeMACs returns the MACs of the lab's nodes and a map back to indexes.
func nodeMACs(l *lab) ([]string, map[string]int) {
	macs, index := make([]string, len(l.nodes)), make(map[string]int, len(l.nodes))
	for i := range l.nodes {
		macs[i] = l.mac(i)
		index[macs[i]] = i
	}
	return macs, index
}

// firstGARP waits for the first gratuitous ARP for ip that the capture
// received after t0 from a MAC other than not; it fails the test after
// within (no takeover at all).
func firstGARP(tb testing.TB, c *capture, ip netip.Addr, t0 time.Time, not string, within time.Duration) announcement {
	tb.Helper()
	garp := aboutIP(ip, kindGARPRequest, kindGARPReply)
	return c.wait(tb, within, 1, func(a announcement) bool {
		return garp(a) && a.At.After(t0) && a.SenderMAC.String() != not
	})[0]
}

// sampledOverlaps stops a sampler and returns how many overlaps it saw,
// failing the test on sampling errors.
func sampledOverlaps(tb testing.TB, s *sampler) []string {
	tb.Helper()
	s.close()
	for _, err := range s.errs {
		tb.Errorf("sampling: %v", err)
	}
	return s.overlaps()
}

// netprimRig is three netprim node processes in a lab, one owning ip.
type netprimRig struct {
	b     *testing.B
	l     *lab
	c     *capture // on the client's link
	ip    netip.Addr
	nc    nodeConfig
	nodes []*node
	macs  []string
	index map[string]int // by MAC
	owner int
}

func newNetprimRig(b *testing.B, ip netip.Addr) *netprimRig {
	b.Helper()
	r := &netprimRig{b: b, l: newLab(b, 3), ip: ip, nc: nodeConfig{TTL: benchTTL, VIP: ip}}
	r.c = startCapture(b, r.l.client, nodeLink)
	r.macs, r.index = nodeMACs(r.l)
	for i := range r.l.nodes {
		r.nodes = append(r.nodes, r.l.startNode(i, r.nc))
	}
	r.owner = r.l.waitHolder(ip, -1, 15*time.Second)
	for i := range r.nodes {
		if i != r.owner {
			waitCandidate(b, r.l, i)
		}
	}
	return r
}

// failover stops or kills the owner and returns the takeover time and the
// time from the successor's Acquired event to its first frame. The former
// owner is restarted and campaigning when it returns.
func (r *netprimRig) failover(crash bool) (took, acquireToFrame time.Duration) {
	b := r.b
	b.Helper()
	old := r.owner
	t0 := time.Now()
	if crash {
		r.nodes[old].kill()
	} else {
		r.nodes[old].stop()
	}
	f := firstGARP(b, r.c, r.ip, t0, r.macs[old], 3*benchTTL+5*time.Second)
	next, ok := r.index[f.SenderMAC.String()]
	if !ok {
		b.Fatalf("gratuitous ARP for %s from %s, not a node's MAC", r.ip, f.SenderMAC)
	}
	ev := r.nodes[next].waitEvent(vip.Acquired, 10*time.Second)
	if ev.Time.Before(t0) {
		b.Fatalf("node %d acquired %s at %s, before node %d was stopped at %s", next, r.ip, ev.Time.Format(time.StampMicro), old, t0.Format(time.StampMicro))
	}
	r.nodes[old] = r.l.startNode(old, r.nc)
	waitCandidate(b, r.l, old)
	if h := r.l.waitHolder(r.ip, -1, 5*time.Second); h != next {
		b.Fatalf("node %d announced %s, but node %d holds it", next, r.ip, h)
	}
	r.owner = next
	return f.At.Sub(t0), f.At.Sub(ev.Time)
}

// overlaps returns the sampler's count of two owners at once; any is an
// error: never two owners is the package's promise.
func (r *netprimRig) overlaps(s *sampler) int {
	o := sampledOverlaps(r.b, s)
	if len(o) > 0 {
		r.b.Errorf("netprim: two owners at once:\n%s", strings.Join(o, "\n"))
	}
	return len(o)
}

// vrrpRig is keepalived on three nodes of a lab of its own, one master.
type vrrpRig struct {
	b     *testing.B
	l     *lab
	c     *capture // on the client's link
	ip    netip.Addr
	nodes []*vrrpNode
	macs  []string
	index map[string]int // by MAC
	owner int
}

func newVRRPRig(b *testing.B, bin string, ip netip.Addr) *vrrpRig {
	b.Helper()
	r := &vrrpRig{b: b, l: newLab(b, 3), ip: ip}
	r.c = startCapture(b, r.l.client, nodeLink)
	r.macs, r.index = nodeMACs(r.l)
	for i := range r.l.nodes {
		r.nodes = append(r.nodes, r.l.startVRRP(i, bin, ip.String()))
	}
	for _, n := range r.nodes {
		n.waitLog("Entering BACKUP STATE", 10*time.Second)
	}
	// All start as BACKUP: the first master appears after 3 advert_int
	// and a skew.
	r.owner = r.l.waitHolder(ip, -1, 15*time.Second)
	return r
}

// failover stops or crashes the master and returns the takeover time;
// the former master is restarted as a backup when it returns (a restart
// also removes the address a crash left on its link).
func (r *vrrpRig) failover(crash bool) time.Duration {
	b := r.b
	b.Helper()
	old := r.owner
	var t0 time.Time
	if crash {
		t0 = r.nodes[old].crash()
	} else {
		t0 = r.nodes[old].stop()
	}
	f := firstGARP(b, r.c, r.ip, t0, r.macs[old], 15*time.Second)
	next, ok := r.index[f.SenderMAC.String()]
	if !ok {
		b.Fatalf("keepalived: gratuitous ARP for %s from %s, not a node's MAC", r.ip, f.SenderMAC)
	}
	r.nodes[old].start()
	r.nodes[old].waitLog("Entering BACKUP STATE", 10*time.Second)
	if h := r.l.waitHolder(r.ip, -1, 5*time.Second); h != next {
		b.Fatalf("keepalived: node %d announced %s, but node %d holds it", next, r.ip, h)
	}
	r.owner = next
	return f.At.Sub(t0)
}
