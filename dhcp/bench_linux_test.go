package dhcp_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
)

// BenchmarkAcquire measures DISCOVER → bound against dnsmasq (--no-ping)
// on a veth pair: a new client each time (sockets opened in the
// namespace, DISCOVER, OFFER, REQUEST, ACK), stopped once bound. The
// anchor, in the same run on the same pair, is Debian's udhcpc acquiring
// a lease and exiting (udhcpc -q), its process start included, as a user
// sees it. Reported: acquire-p50-ms, udhcpc-ms (its p50) and x-vs-udhcpc
// (how many times faster than udhcpc). ns/op also counts stopping the
// client: closing a packet socket waits for an RCU grace period in the
// kernel (≈ 10 ms here).
func BenchmarkAcquire(b *testing.B) {
	if nstest.InKernelTier() {
		b.Skip("runs on the host kernel tier")
	}
	udhcpc := needTool(b, "udhcpc")
	l := newLab(b)
	l.dnsmasq(b, "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m", "--dhcp-option=option:router,10.77.0.1")

	acquire := func() time.Duration {
		bound := make(chan struct{}, 1)
		start := time.Now()
		c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, OnEvent: func(e dhcp.Event) {
			if e.Kind == dhcp.EventBound {
				bound <- struct{}{}
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		select {
		case <-bound:
		case err := <-done:
			b.Fatalf("Run: %v", err)
		case <-time.After(10 * time.Second):
			b.Fatal("no lease after 10 s")
		}
		d := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		return d
	}
	acquire() // dnsmasq's first lease for this client: not timed

	var ours []time.Duration
	b.ResetTimer()
	for b.Loop() {
		ours = append(ours, acquire())
	}
	b.StopTimer()

	// The anchor: udhcpc, as many runs (at most 20), same pair, same
	// server. -q exits once bound, -f stays in the foreground, -n fails
	// instead of retrying forever, -s /bin/true configures nothing.
	var theirs []time.Duration
	for range min(len(ours), 20) {
		start := time.Now()
		if out, err := l.C.Exec(udhcpc, "-i", clientLink, "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", "/bin/true"); err != nil {
			b.Fatalf("udhcpc: %v: %s", err, out)
		}
		theirs = append(theirs, time.Since(start))
	}
	p50 := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2]) / float64(time.Millisecond)
	}
	b.ReportMetric(p50(ours), "acquire-p50-ms")
	b.ReportMetric(p50(theirs), "udhcpc-ms")
	b.ReportMetric(p50(theirs)/p50(ours), "x-vs-udhcpc")
}
