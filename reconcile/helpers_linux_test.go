package reconcile_test

import (
	"errors"
	"github.com/vishvananda/netns"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path) // never returns
	}
	nstest.Main(m)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }
func up() *bool                 { t := true; return &t }

// vethNS returns a namespace with a veth pair veth0/veth1, both up.
func vethNS(t *testing.T) *nstest.NS {
	t.Helper()
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(t, "ip", "link", "set", "veth0", "up")
	n.Run(t, "ip", "link", "set", "veth1", "up")
	return n
}

// newReconciler returns a Reconciler for n that is closed when the test
// ends.
func newReconciler(t *testing.T, n *nstest.NS, opts ...reconcile.Option) *reconcile.Reconciler {
	t.Helper()
	r, err := reconcile.New(n.Namespace, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func addSource(t *testing.T, r *reconcile.Reconciler, name string, prio int) *reconcile.Source {
	t.Helper()
	s, err := r.AddSource(name, prio)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ipAddrs returns "ADDR/LEN metric M" for every global address of
// dev, as ip(8) reports them, sorted.
func ipAddrs(t *testing.T, n *nstest.NS, dev string) []string {
	t.Helper()
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
			Metric    int    `json:"metric"`
		} `json:"addr_info"`
	}
	n.IPJSON(t, &links, "addr", "show", "dev", dev)
	var out []string
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Scope != "global" {
				continue
			}
			s := a.Local + "/" + itoa(a.Prefixlen)
			if a.Metric != 0 {
				s += " metric " + itoa(a.Metric)
			}
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// ipRoutes returns "DST via GW metric M proto P" for the routes ip(8)
// lists with args (e.g. "route", "show", "table", "main"), without the
// kernel's own (proto kernel).
func ipRoutes(t *testing.T, n *nstest.NS, args ...string) []string {
	t.Helper()
	var routes []struct {
		Dst      string `json:"dst"`
		Gateway  string `json:"gateway"`
		Metric   int    `json:"metric"`
		Protocol string `json:"protocol"`
	}
	n.IPJSON(t, &routes, args...)
	var out []string
	for _, r := range routes {
		if r.Protocol == "kernel" {
			continue
		}
		s := r.Dst
		if r.Gateway != "" {
			s += " via " + r.Gateway
		}
		if r.Metric != 0 {
			s += " metric " + itoa(r.Metric)
		}
		if r.Protocol == "" {
			r.Protocol = "boot" // ip -j leaves out the default protocol
		}
		s += " proto " + r.Protocol
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func joined(s []string) string { return strings.Join(s, "; ") }

var resolvSpec = resolv.ResolverSpec{Nameservers: []netip.Addr{netip.MustParseAddr("192.0.2.53")}}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// nsHandle returns the namespace handle of n for vishvananda/netlink.
func nsHandle(t testing.TB, n *nstest.NS) netns.NsHandle {
	t.Helper()
	h, err := netns.GetFromPath(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func toIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// requireNftInet skips a test that needs nftables inet tables where the
// kernel has none (the kernel tier): those tests run on the host tier.
func requireNftInet(t testing.TB, n *nstest.NS) {
	t.Helper()
	if _, err := n.Exec("nft", "add", "table", "inet", "probe"); err != nil {
		t.Skipf("kernel lacks nftables inet tables (the kernel tier has none; this test runs on the host tier): %v", err)
	}
	n.Run(t, "nft", "delete", "table", "inet", "probe")
}
