package dhcp_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
)

// kernelAddrs6 returns the global IPv6 addresses of dev.
func kernelAddrs6(t testing.TB, n *nstest.NS, dev string) []ipAddr {
	t.Helper()
	var out []ipAddr
	for _, a := range kernelAddrs(t, n, dev) {
		if a.Family == "inet6" {
			out = append(out, a)
		}
	}
	return out
}

// TestDHCPv6Dnsmasq obtains an IA_NA address, DNS servers and the domain
// list from dnsmasq, with rapid commit and without, applies them through
// a Reconciler, and releases the lease on stop.
func TestDHCPv6Dnsmasq(t *testing.T) {
	hostTier(t)
	for _, rapid := range []bool{true, false} {
		t.Run(fmt.Sprintf("rapidCommit=%v", rapid), func(t *testing.T) {
			l := newLab(t)
			l.S.Run(t, "ip", "addr", "add", "fd77::1/64", "dev", serverLink, "nodad")
			srv := l.dnsmasq(t,
				"--dhcp-range=fd77::100,fd77::1ff,64,2m",
				"--dhcp-option=option6:dns-server,[fd77::53]",
				"--dhcp-option=option6:domain-search,v6.example",
				"--dhcp-rapid-commit",
			)
			root := t.TempDir()
			src := reconciler(t, l.C, root)
			ev := newEvents()
			c, err := dhcp.NewClient6(l.C.Namespace, dhcp.Config6{
				Link: clientLink, NoRapidCommit: !rapid, Release: true,
				Timing:  dhcp.Timing{Initial: 200 * time.Millisecond, Max: time.Second},
				OnEvent: feed(t, src, ev),
			})
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, c.Run)
			b := ev.wait(t, dhcp.EventBound, 15*time.Second)
			lease := b.Lease6
			lo, hi := netip.MustParseAddr("fd77::100"), netip.MustParseAddr("fd77::1ff")
			if lease.Address.Less(lo) || hi.Less(lease.Address) {
				t.Errorf("address %s outside the range", lease.Address)
			}
			if lease.RapidCommit != rapid {
				t.Errorf("rapid commit %v, want %v", lease.RapidCommit, rapid)
			}
			if !slices.Equal(lease.DNS, []netip.Addr{netip.MustParseAddr("fd77::53")}) || !slices.Equal(lease.SearchDomains, []string{"v6.example"}) {
				t.Errorf("dns %v search %v", lease.DNS, lease.SearchDomains)
			}
			if lease.ValidLifetime != 2*time.Minute || lease.T1 <= 0 || lease.T1 > lease.T2 {
				t.Errorf("valid %v T1 %v T2 %v", lease.ValidLifetime, lease.T1, lease.T2)
			}
			nstest.Eventually(t, 10*time.Second, func() error {
				as := kernelAddrs6(t, l.C, clientLink)
				if len(as) != 1 || as[0].Local != lease.Address.String() || as[0].Prefixlen != 128 {
					return fmt.Errorf("addresses %+v", as)
				}
				if as[0].Valid == 0 || as[0].Valid > 120 {
					return fmt.Errorf("valid lifetime %d", as[0].Valid)
				}
				b, err := os.ReadFile(filepath.Join(root, "etc", "resolv.conf"))
				if err != nil {
					return err
				}
				if !strings.Contains(string(b), "nameserver fd77::53\n") || !strings.Contains(string(b), "search v6.example\n") {
					return fmt.Errorf("resolv.conf:\n%s", b)
				}
				return nil
			})
			stop()
			ev.wait(t, dhcp.EventReleased, time.Second)
			nstest.Eventually(t, 5*time.Second, func() error {
				if !strings.Contains(srv.out.String(), "DHCPRELEASE("+serverLink+")") {
					return fmt.Errorf("dnsmasq saw no release:\n%s", srv.out)
				}
				if as := kernelAddrs6(t, l.C, clientLink); len(as) != 0 {
					return fmt.Errorf("addresses left: %+v", as)
				}
				return nil
			})
		})
	}
}
