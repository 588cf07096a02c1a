package link

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// BenchmarkList100 lists a namespace holding 100 veth links (50 pairs)
// and reports how many times faster than "ip -j -d link show" (the same
// namespace, measured in the same run) List is: x-vs-ip.
func BenchmarkList100(b *testing.B) {
	n := nstest.New(b)
	var batch strings.Builder
	for i := range 50 {
		fmt.Fprintf(&batch, "link add a%d type veth peer name b%d\n", i, i)
	}
	cmd := exec.Command("ip", "-n", n.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ip -batch: %v: %s", err, out)
	}
	ipTime := func() time.Duration {
		const runs = 20
		start := time.Now()
		for range runs {
			if out, err := exec.Command("ip", "-n", n.Name, "-j", "-d", "link", "show").Output(); err != nil || len(out) == 0 {
				b.Fatalf("ip -j -d link show: %v", err)
			}
		}
		return time.Since(start) / runs
	}
	for _, bc := range []struct {
		name string
		opts []ListOption
	}{
		{"ethtool", nil},
		{"noethtool", []ListOption{WithoutEthtool()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			links, err := List(b.Context(), n.Namespace, bc.opts...)
			if err != nil || len(links) != 101 {
				b.Fatalf("List: %d links, %v", len(links), err)
			}
			anchor := ipTime()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := List(b.Context(), n.Namespace, bc.opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ours := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(anchor)/float64(ours), "x-vs-ip")
			b.ReportMetric(float64(anchor.Microseconds()), "ip-µs/op")
		})
	}
}

// BenchmarkLinkApply200 applies 200 logical links (100 veth pairs: 100
// owned specs, 200 devices) from empty into a fresh namespace per
// iteration, and reports how many times faster than "ip -n NS -batch FILE"
// creating the same pairs it is: x-vs-ip-batch (ip's time measured in the
// same run, on fresh namespaces too). The noop sub-benchmark re-applies
// the same specs and reports the write requests it sent (writes/op, 0).
func BenchmarkLinkApply200(b *testing.B) {
	const pairs = 100
	want := make([]Spec, 0, pairs)
	var batch strings.Builder
	for i := range pairs {
		want = append(want, Spec{Name: fmt.Sprintf("a%d", i), Veth: &Veth{Peer: fmt.Sprintf("b%d", i)}})
		fmt.Fprintf(&batch, "link add a%d type veth peer name b%d\n", i, i)
	}
	ipTime := func() time.Duration {
		const runs = 5
		var total time.Duration
		for range runs {
			n := nstest.New(b)
			cmd := exec.Command("ip", "-n", n.Name, "-batch", "-")
			cmd.Stdin = strings.NewReader(batch.String())
			start := time.Now()
			out, err := cmd.CombinedOutput()
			total += time.Since(start)
			if err != nil {
				b.Fatalf("ip -batch: %v: %s", err, out)
			}
		}
		return total / runs
	}
	b.Run("create", func(b *testing.B) {
		anchor := ipTime()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			n := nstest.New(b)
			b.StartTimer()
			if _, err := Apply(b.Context(), n.Namespace, want); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		ours := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(anchor)/float64(ours), "x-vs-ip-batch")
		b.ReportMetric(float64(anchor.Microseconds()), "ip-µs/op")
	})
	b.Run("noop", func(b *testing.B) {
		n := nstest.New(b)
		if _, err := Apply(b.Context(), n.Namespace, want); err != nil {
			b.Fatal(err)
		}
		var writes int64
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := Apply(b.Context(), n.Namespace, want, netprim.WithWriteCounter(&writes)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	})
}
