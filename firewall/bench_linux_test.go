package firewall

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// spec10k has 10,000 rules, each a TCP or UDP port from its own /24 (IPv4)
// or /64 (IPv6), every tenth with a port range and an except subnet.
func spec10k() Spec {
	s := Spec{Table: "bench", DefaultAction: DefaultBlock}
	for i := range 10000 {
		r := Rule{Name: fmt.Sprintf("r%05d", i), Protocol: TCP, Ports: []string{fmt.Sprint(1024 + i)}, Action: Accept}
		if i%2 == 1 {
			r.Protocol = UDP
		}
		if i%3 == 0 {
			r.Subnets = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, byte(i >> 8), byte(i)}), 64)}
		} else {
			r.Subnets = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)}
		}
		if i%10 == 0 {
			r.Ports = append(r.Ports, fmt.Sprintf("%d-%d", 40000+i, 40001+i))
			a := r.Subnets[0].Addr().AsSlice()
			a[len(a)-1] = 7
			addr, _ := netip.AddrFromSlice(a)
			r.Except = []netip.Prefix{netip.PrefixFrom(addr, addr.BitLen())}
		}
		if i%7 == 0 {
			r.Action = Drop
		}
		s.Rules = append(s.Rules, r)
	}
	return s
}

// BenchmarkFirewallApply10k loads 10,000 rules into a fresh namespace and
// compares with "nft -f" loading the same ruleset (Render's text) into
// another fresh namespace: x-vs-nft = nft time / our time (higher is
// better for us). It then re-applies the same Spec, which must send
// nothing (writes/op = 0): without a Cache (noop-ms, reads the table)
// and with one (cached-noop-ms, after a first Apply that records the
// generation). noop-of-nft and cached-noop-of-nft are those times as a
// fraction of nft-ms (lower is better).
func BenchmarkFirewallApply10k(b *testing.B) {
	ctx := context.Background()
	spec := spec10k()
	text, err := Render(spec)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "ruleset.nft")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	var ours, nft, noop, cached time.Duration
	var writes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		n1, n2 := nstest.New(b), nstest.New(b)
		if i == 0 {
			requireNftables(b, n1)
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := Apply(ctx, n1.Namespace, spec); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(t0)
		b.StopTimer()

		t0 = time.Now()
		n2.Run(b, "nft", "-f", file)
		nft += time.Since(t0)

		t0 = time.Now()
		if _, err := Apply(ctx, n1.Namespace, spec, netprim.WithWriteCounter(&writes)); err != nil {
			b.Fatal(err)
		}
		noop += time.Since(t0)

		var cache Cache
		if _, err := Apply(ctx, n1.Namespace, spec, WithCache(&cache), netprim.WithWriteCounter(&writes)); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := Apply(ctx, n1.Namespace, spec, WithCache(&cache), netprim.WithWriteCounter(&writes)); err != nil {
			b.Fatal(err)
		}
		cached += time.Since(t0)
		if i == 0 {
			stats := &readStats{}
			if _, err := Apply(ctx, n1.Namespace, spec, WithCache(&cache), withReadStats(stats)); err != nil || !onlyGeneration(stats.snapshot()) {
				b.Fatalf("cached Apply read %v (%v); want only the generation", stats.snapshot(), err)
			}
			// Both loaded the same ruleset.
			a := n1.Run(b, "nft", "list", "table", "inet", "bench")
			c := n2.Run(b, "nft", "list", "table", "inet", "bench")
			if string(a) != string(c) {
				b.Fatalf("Apply and nft -f loaded different rulesets (%d vs %d bytes)", len(a), len(c))
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(nft)/float64(ours), "x-vs-nft")
	b.ReportMetric(ms(ours)/float64(b.N), "apply-ms")
	b.ReportMetric(ms(nft)/float64(b.N), "nft-ms")
	b.ReportMetric(ms(noop)/float64(b.N), "noop-ms")
	b.ReportMetric(ms(cached)/float64(b.N), "cached-noop-ms")
	b.ReportMetric(float64(noop)/float64(nft), "noop-of-nft")
	b.ReportMetric(float64(cached)/float64(nft), "cached-noop-of-nft")
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
