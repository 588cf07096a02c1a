package route

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/nstest"
)

const benchRoutes = 10000

// benchSpecs are 10,000 IPv4 routes 10.x.y.0/24 via 192.0.2.2 dev va
// metric 100.
func benchSpecs() []Spec {
	out := make([]Spec, benchRoutes)
	for i := range out {
		out[i] = Spec{
			Destination: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
			Gateway:     netip.AddrFrom4([4]byte{192, 0, 2, 2}), Link: "va", Metric: 100,
		}
	}
	return out
}

// benchNS is a fresh namespace with veth va (192.0.2.1/24) and its peer,
// both up.
func benchNS(b *testing.B) *nstest.NS {
	n := nstest.New(b)
	n.Run(b, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	n.Run(b, "ip", "link", "set", "va", "up")
	n.Run(b, "ip", "link", "set", "vb", "up")
	n.Run(b, "ip", "addr", "add", "192.0.2.1/24", "dev", "va")
	return n
}

// BenchmarkRouteApply10k applies 10,000 routes into a fresh namespace per
// iteration and measures, in the same run and on the same route set, the
// anchors: "ip -batch" and a loop of vishvananda Handle.RouteAdd, each into
// a fresh namespace too, and the kernel's own cost of the same requests
// sent as one raw batch with no dump and no diff (x-of-raw-batch is our
// time over that floor). Namespaces are made outside the timer.
func BenchmarkRouteApply10k(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to create namespaces")
	}
	want := benchSpecs()
	file := filepath.Join(b.TempDir(), "routes.batch")
	writeBatchFile(b, file, want)
	ctx := context.Background()
	var ours, ipBatch, loop, raw time.Duration
	var bytes, allocs uint64
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		// Four fresh namespaces, then the four measurements in an order
		// that rotates, so that none is favoured by going first.
		nss := [4]*nstest.NS{benchNS(b), benchNS(b), benchNS(b), benchNS(b)}
		for k := range 4 {
			n := nss[k]
			runtime.GC()
			switch (i + k) % 4 {
			case 0:
				var writes int64
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				start := time.Now()
				b.StartTimer()
				_, err := Apply(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes))
				b.StopTimer()
				ours += time.Since(start)
				runtime.ReadMemStats(&m1)
				bytes += m1.TotalAlloc - m0.TotalAlloc
				allocs += m1.Mallocs - m0.Mallocs
				if err != nil || writes != benchRoutes {
					b.Fatalf("Apply: %v, %d writes", err, writes)
				}
			case 1:
				start := time.Now()
				if out, err := exec.Command("ip", "-n", n.Name, "-batch", file).CombinedOutput(); err != nil {
					b.Fatalf("ip -batch: %v: %s", err, out)
				}
				ipBatch += time.Since(start)
			case 2:
				loop += routeAddLoop(b, n, want)
			case 3:
				raw += rawBatch(b, n, want)
			}
		}
	}
	b.ReportMetric(float64(ipBatch)/float64(ours), "x-vs-ip-batch")
	b.ReportMetric(float64(loop)/float64(ours), "x-vs-loop")
	b.ReportMetric(float64(ours)/float64(raw), "x-of-raw-batch")
	// What a client with no overhead at all would reach: the anchors over
	// the raw batch.
	b.ReportMetric(float64(ipBatch)/float64(raw), "raw-x-vs-ip-batch")
	b.ReportMetric(float64(loop)/float64(raw), "raw-x-vs-loop")
	b.ReportMetric(float64(bytes)/float64(b.N)/benchRoutes, "B/route")
	b.ReportMetric(float64(allocs)/float64(b.N)/benchRoutes, "allocs/route")
}

// BenchmarkRouteApplyNoop10k applies the same 10,000 routes again to a
// namespace that has them: no writes, one route dump (and one link dump).
func BenchmarkRouteApplyNoop10k(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to create namespaces")
	}
	want := benchSpecs()
	n := benchNS(b)
	ctx := context.Background()
	if _, err := Apply(ctx, n.Namespace, want); err != nil {
		b.Fatal(err)
	}
	var writes, dumps, linkDumps int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plan, err := Apply(ctx, n.Namespace, want, netprim.WithPrune(),
			netprim.WithWriteCounter(&writes), withDumpCounter(&dumps, &linkDumps))
		if err != nil || !plan.Empty() {
			b.Fatalf("%v\n%v", err, plan)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	b.ReportMetric(float64(dumps)/float64(b.N), "dumps/op")
	b.ReportMetric(float64(linkDumps)/float64(b.N), "link-dumps/op")
}

func writeBatchFile(b *testing.B, path string, want []Spec) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range want {
		w.WriteString("route add ")
		w.WriteString(want[i].Destination.String())
		w.WriteString(" via 192.0.2.2 dev va metric 100 proto 78\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// routeAddLoop adds the routes one Handle.RouteAdd at a time and returns
// the time the loop took.
func routeAddLoop(b *testing.B, n *nstest.NS, want []Spec) time.Duration {
	h, err := nl.Handle(n.Namespace)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName("va")
	if err != nil {
		b.Fatal(err)
	}
	idx := link.Attrs().Index
	start := time.Now()
	for i := range want {
		s := &want[i]
		dst := &net.IPNet{IP: s.Destination.Addr().AsSlice(), Mask: net.CIDRMask(s.Destination.Bits(), 32)}
		r := &netlink.Route{Dst: dst, Gw: s.Gateway.AsSlice(), LinkIndex: idx, Priority: int(s.Metric), Protocol: 78}
		if err := h.RouteAdd(r); err != nil {
			b.Fatalf("RouteAdd %v: %v", s.Destination, err)
		}
	}
	return time.Since(start)
}

// rawBatch sends the same RTM_NEWROUTE requests with no dump and no diff,
// the kernel's own cost of the writes, and returns the time it took.
func rawBatch(b *testing.B, n *nstest.NS, want []Spec) time.Duration {
	c, err := nl.DialRoute(n.Namespace)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	l, err := dumpLinks(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	norm, err := prepare(want)
	if err != nil {
		b.Fatal(err)
	}
	var batch nl.Batch
	for i := range norm {
		encodeRoute(&batch, unix.NLM_F_CREATE|unix.NLM_F_EXCL, &norm[i], &l, 78)
	}
	start := time.Now()
	errs, err := c.Exec(context.Background(), &batch)
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range errs {
		if e != nil {
			b.Fatal(e)
		}
	}
	return d
}
