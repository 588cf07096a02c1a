//go:build linux

package addr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/nstest"
)

// benchLinks are the veth links the benchmark addresses go on (peers
// "p0".."p3", all up).
var benchLinks = []string{"v0", "v1", "v2", "v3"}

// benchSpecs: 500 IPv4 addresses (one /16 per link) and 500 IPv6 nodad
// addresses (one /64 per link), spread evenly over benchLinks.
func benchSpecs() []Spec { return bulkSpecs(benchLinks, 500, 500) }

func benchNS(b *testing.B) *nstest.NS {
	b.Helper()
	nstest.RequireModules(b, "ipv6")
	n := nstest.New(b)
	// Link-local addresses skip duplicate address detection, so that
	// their timers do not fire during a measurement.
	n.Run(b, "sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0")
	for i, l := range benchLinks {
		nstest.Veth(b, n, l, n, fmt.Sprintf("p%d", i))
	}
	return n
}

// ipBatchFile writes the specs as an "ip -batch" file.
func ipBatchFile(b *testing.B, specs []Spec) string {
	var sb strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&sb, "address add %s dev %s", s.Address, s.Link)
		for _, f := range s.Flags {
			sb.WriteString(" " + f)
		}
		sb.WriteByte('\n')
	}
	p := filepath.Join(b.TempDir(), "addresses.batch")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// loopAdd adds the specs one request at a time with vishvananda netlink,
// resolving each link once.
func loopAdd(n *nstest.NS, specs []Spec) error {
	h, err := nl.Handle(n.Namespace)
	if err != nil {
		return err
	}
	defer h.Close()
	links := map[string]netlink.Link{}
	for _, s := range specs {
		l, ok := links[s.Link]
		if !ok {
			if l, err = h.LinkByName(s.Link); err != nil {
				return err
			}
			links[s.Link] = l
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: s.Address.Addr().AsSlice(), Mask: net.CIDRMask(s.Address.Bits(), s.Address.Addr().BitLen())}}
		if len(s.Flags) > 0 {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// BenchmarkAddrApply1k applies 1,000 addresses (500 IPv4, 500 IPv6 nodad,
// on four veth links) to a fresh namespace per iteration, and measures in
// the same run "ip -n NS -batch FILE" with the same addresses and a loop of
// vishvananda Handle.AddrAdd, each into its own fresh namespace. Namespace
// set-up is outside the timer; so is the time the kernel needs afterwards
// to finish its own background work (IPv6 multicast joins), which every
// method triggers alike and which is waited for before the next
// measurement.
//
// kernel-ms/op is the time of the batched requests alone, the kernel's own
// work that any tool pays; x-ceiling = ip-batch / kernel is the best ratio
// any client could reach. The IPv6 addresses are ::1 of a /64 each: with
// hundreds of distinct interface ids on one link the kernel's multicast
// bookkeeping (one solicited-node group each) grows quadratically and
// dominates every method alike.
func BenchmarkAddrApply1k(b *testing.B) {
	specs := benchSpecs()
	batch := ipBatchFile(b, specs)
	var ours, ipb, loop, floor time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		n := benchNS(b)
		quiesce(b, n, nil)
		b.StartTimer()
		start := time.Now()
		_, err := Apply(context.Background(), n.Namespace, specs)
		ours += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		quiesce(b, n, specs)

		n = benchNS(b)
		quiesce(b, n, nil)
		start = time.Now()
		out, err := exec.Command("ip", "-n", n.Name, "-batch", batch).CombinedOutput()
		ipb += time.Since(start)
		if err != nil {
			b.Fatalf("ip -batch: %v: %s", err, out)
		}
		quiesce(b, n, specs)

		n = benchNS(b)
		quiesce(b, n, nil)
		start = time.Now()
		err = loopAdd(n, specs)
		loop += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		quiesce(b, n, specs)

		// The floor: only the batched requests, planned and encoded
		// beforehand, on a socket opened beforehand.
		n = benchNS(b)
		quiesce(b, n, nil)
		st, err := prepare(context.Background(), n.Namespace, specs, nil)
		if err != nil {
			b.Fatal(err)
		}
		var batch nl.Batch
		for i := range st.res.ops {
			encode(&batch, &st.res.ops[i])
		}
		start = time.Now()
		res, err := st.conn.Exec(context.Background(), &batch)
		floor += time.Since(start)
		st.conn.Close()
		if err = errors.Join(append(res, err)...); err != nil {
			b.Fatal(err)
		}
		quiesce(b, n, specs)
		b.StartTimer()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / 1000 }
	b.ReportMetric(float64(ipb)/float64(ours), "x-vs-ip-batch")
	b.ReportMetric(float64(loop)/float64(ours), "x-vs-loop")
	b.ReportMetric(ms(ipb), "ip-batch-ms/op")
	b.ReportMetric(ms(loop), "loop-ms/op")
	b.ReportMetric(ms(floor), "kernel-ms/op")
	b.ReportMetric(float64(ipb)/float64(floor), "x-ceiling")
}

// BenchmarkAddrApplyNoop1k applies the same 1,000 addresses to a namespace
// that already has them: one link dump, one address dump, no write.
func BenchmarkAddrApplyNoop1k(b *testing.B) {
	specs := benchSpecs()
	n := benchNS(b)
	if _, err := Apply(context.Background(), n.Namespace, specs); err != nil {
		b.Fatal(err)
	}
	quiesce(b, n, specs)
	var writes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Apply(context.Background(), n.Namespace, specs, netprim.WithWriteCounter(&writes))
		if err != nil || !p.Empty() {
			b.Fatalf("%v\n%s", err, p)
		}
	}
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}

// quiesce waits, outside the timer, until the links have carrier (their
// link-local address exists) and the kernel's background work for the
// wanted addresses is done: no address is tentative and every IPv6 address
// has joined its solicited-node multicast group.
func quiesce(b *testing.B, n *nstest.NS, specs []Spec) {
	b.Helper()
	groups := map[string]bool{}
	for _, s := range specs {
		if a := s.Address.Addr(); a.Is6() {
			g := a.As16()
			groups[fmt.Sprintf("%s ff0200000000000000000001ff%02x%02x%02x", s.Link, g[13], g[14], g[15])] = true
		}
	}
	nstest.Eventually(b, 30*time.Second, func() error {
		sts, err := List(context.Background(), n.Namespace)
		if err != nil {
			return err
		}
		ll := map[string]bool{}
		for _, st := range sts {
			if slices.Contains(st.Flags, "tentative") {
				return fmt.Errorf("%s is tentative", st)
			}
			if st.Address.Addr().IsLinkLocalUnicast() {
				ll[st.Link] = true
			}
		}
		for _, l := range benchLinks {
			if !ll[l] {
				return fmt.Errorf("%s has no link-local address yet (no carrier)", l)
			}
		}
		var data []byte
		err = n.Namespace.Do(func() error {
			var err error
			data, err = os.ReadFile("/proc/net/igmp6")
			return err
		})
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 3 {
				have[f[1]+" "+f[2]] = true
			}
		}
		for g := range groups {
			if !have[g] {
				return fmt.Errorf("%s not joined yet:\n%s", g, data)
			}
		}
		return nil
	})
}
