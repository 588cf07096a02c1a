package dhcp_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/nstest"
)

// ipAddr is one address of "ip -j addr show".
type ipAddr struct {
	Local     string `json:"local"`
	Prefixlen int    `json:"prefixlen"`
	Family    string `json:"family"`
	Scope     string `json:"scope"`
	Broadcast string `json:"broadcast"`
	Valid     uint32 `json:"valid_life_time"`
	Preferred uint32 `json:"preferred_life_time"`
}

// kernelAddrs returns the global addresses of dev as ip(8) reports them.
func kernelAddrs(t testing.TB, n *nstest.NS, dev string) []ipAddr {
	t.Helper()
	var links []struct {
		AddrInfo []ipAddr `json:"addr_info"`
	}
	n.IPJSON(t, &links, "addr", "show", "dev", dev)
	var out []ipAddr
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Scope == "global" {
				out = append(out, a)
			}
		}
	}
	return out
}

// kernelRoutes returns "DST via GW dev DEV metric M [onlink]" for the IPv4
// routes of the main table that are not the kernel's own.
func kernelRoutes(t testing.TB, n *nstest.NS) []string {
	t.Helper()
	var rs []struct {
		Dst      string   `json:"dst"`
		Gateway  string   `json:"gateway"`
		Dev      string   `json:"dev"`
		Metric   int      `json:"metric"`
		Protocol string   `json:"protocol"`
		Scope    string   `json:"scope"`
		Flags    []string `json:"flags"`
	}
	n.IPJSON(t, &rs, "-4", "route", "show", "table", "main")
	var out []string
	for _, r := range rs {
		if r.Protocol == "kernel" {
			continue
		}
		s := r.Dst
		if r.Gateway != "" {
			s += " via " + r.Gateway
		}
		s += " dev " + r.Dev
		if r.Scope == "link" {
			s += " scope link"
		}
		s += " metric " + strconv.Itoa(r.Metric)
		if slices.Contains(r.Flags, "onlink") {
			s += " onlink"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func kernelMTU(t testing.TB, n *nstest.NS, dev string) int {
	t.Helper()
	var ls []struct {
		MTU int `json:"mtu"`
	}
	n.IPJSON(t, &ls, "link", "show", "dev", dev)
	if len(ls) != 1 {
		t.Fatalf("link %s: %v", dev, ls)
	}
	return ls[0].MTU
}

// dnsmasqOptions are the options of the acquisition test: every option the
// client honours.
var dnsmasqOptions = []string{
	"--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m",
	"--dhcp-host=" + clientMAC + "," + fixedIP + ",node1",
	"--dhcp-option=option:router,10.77.0.1",
	"--dhcp-option=option:dns-server,10.77.0.53,10.77.0.54",
	"--dhcp-option=option:domain-name,corp.example",
	"--dhcp-option=option:domain-search,a.example,b.example",
	"--dhcp-option=option:mtu,1400",
	"--dhcp-option=option:ntp-server,10.77.0.123",
	// 121: a default route via .3 (the router option is then ignored),
	// a route via an on-subnet gateway, one via an off-subnet gateway.
	"--dhcp-option=option:classless-static-route,0.0.0.0/0,10.77.0.3,192.0.2.0/24,10.77.0.2,198.51.100.0/24,10.99.0.1",
}

// TestAcquireDnsmasq obtains a lease from dnsmasq and applies it through
// a Reconciler: address with the lease's lifetimes, the classless static
// routes (router option ignored) with an on-link /32 for the off-subnet
// gateway, MTU, resolv.conf; the lease reports host name and NTP.
func TestAcquireDnsmasq(t *testing.T) {
	hostTier(t)
	l := newLab(t)
	srv := l.dnsmasq(t, dnsmasqOptions...)
	root := t.TempDir()
	src := reconciler(t, l.C, root)
	ev := newEvents()
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{
		Link:      clientLink,
		Hostname:  "client1",
		LeaseFile: filepath.Join(t.TempDir(), "lease.json"),
		Specs:     dhcp.SpecOptions{RouteMetric: 600, Hostname: true},
		Timing:    fastTiming,
		OnEvent:   feed(t, src, ev),
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	bound := ev.wait(t, dhcp.EventBound, 10*time.Second)
	if len(bound.Dropped) > 0 {
		t.Errorf("dropped options: %v", bound.Dropped)
	}
	lease := bound.Lease
	want := &dhcp.Lease{
		Link:          clientLink,
		Address:       netip.MustParsePrefix(fixedIP + "/24"),
		Server:        netip.MustParseAddr(serverIP),
		Routes:        []dhcp.Route{{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.77.0.3")}, {netip.MustParsePrefix("192.0.2.0/24"), netip.MustParseAddr("10.77.0.2")}, {netip.MustParsePrefix("198.51.100.0/24"), netip.MustParseAddr("10.99.0.1")}},
		DNS:           []netip.Addr{netip.MustParseAddr("10.77.0.53"), netip.MustParseAddr("10.77.0.54")},
		DomainName:    "corp.example",
		SearchDomains: []string{"a.example", "b.example"},
		MTU:           1400,
		Hostname:      "node1",
		NTP:           []netip.Addr{netip.MustParseAddr("10.77.0.123")},
		LeaseTime:     2 * time.Minute,
		T1:            time.Minute,
		T2:            105 * time.Second,
		BoundAt:       lease.BoundAt,
	}
	if d := cmp.Diff(want, lease, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); d != "" {
		t.Errorf("lease (-want +got):\n%s", d)
	}
	if bound.Specs.Hostname == nil || bound.Specs.Hostname.Hostname != "node1" || bound.Specs.Hostname.Domainname != "corp.example" {
		t.Errorf("hostname spec: %+v", bound.Specs.Hostname)
	}

	// The kernel, as ip(8) reports it.
	nstest.Eventually(t, 10*time.Second, func() error {
		as := kernelAddrs(t, l.C, clientLink)
		if len(as) != 1 || as[0].Local != fixedIP || as[0].Prefixlen != 24 || as[0].Broadcast != "10.77.0.255" {
			return fmt.Errorf("addresses %+v", as)
		}
		if as[0].Valid == 0 || as[0].Valid > 120 || as[0].Valid < 100 || as[0].Preferred > 120 {
			return fmt.Errorf("lifetimes valid %d preferred %d, want at most the lease (120 s)", as[0].Valid, as[0].Preferred)
		}
		wantRoutes := []string{
			"10.99.0.1 dev vc0 scope link metric 600",
			"192.0.2.0/24 via 10.77.0.2 dev vc0 metric 600",
			"198.51.100.0/24 via 10.99.0.1 dev vc0 metric 600 onlink",
			"default via 10.77.0.3 dev vc0 metric 600",
		}
		if d := cmp.Diff(wantRoutes, kernelRoutes(t, l.C)); d != "" {
			return fmt.Errorf("routes (-want +got):\n%s", d)
		}
		if m := kernelMTU(t, l.C, clientLink); m != 1400 {
			return fmt.Errorf("mtu %d", m)
		}
		b, err := os.ReadFile(filepath.Join(root, "etc", "resolv.conf"))
		if err != nil {
			return err
		}
		for _, line := range []string{"nameserver 10.77.0.53", "nameserver 10.77.0.54", "search a.example b.example"} {
			if !strings.Contains(string(b), line+"\n") {
				return fmt.Errorf("resolv.conf lacks %q:\n%s", line, b)
			}
		}
		return nil
	})
	// The server saw the parameter request list and the host name.
	log := srv.out.String()
	for _, s := range []string{"requested options: 1:netmask, 3:router, 6:dns-server, 12:hostname", "121:classless-static-route", "client provides name: client1"} {
		if !strings.Contains(log, s) {
			t.Errorf("dnsmasq log lacks %q:\n%s", s, log)
		}
	}
}

// TestRestartInitReboot stops a client without release and starts another
// on the same lease file: it asks for its address with a REQUEST and no
// DISCOVER (INIT-REBOOT), keeps the address, and the kernel never deletes
// it.
func TestRestartInitReboot(t *testing.T) {
	hostTier(t)
	l := newLab(t)
	srv := l.dnsmasq(t, "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m", "--dhcp-option=option:router,10.77.0.1")
	src := reconciler(t, l.C, t.TempDir())
	file := filepath.Join(t.TempDir(), "lease.json")
	ev := newEvents()
	cfg := dhcp.Config{Link: clientLink, LeaseFile: file, Timing: fastTiming, OnEvent: feed(t, src, ev)}
	c1, err := dhcp.NewClient(l.C.Namespace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop1 := run(t, c1.Run)
	first := ev.wait(t, dhcp.EventBound, 10*time.Second).Lease.Address
	nstest.Eventually(t, 10*time.Second, func() error {
		if as := kernelAddrs(t, l.C, clientLink); len(as) != 1 || as[0].Local != first.Addr().String() {
			return fmt.Errorf("addresses %+v", as)
		}
		return nil
	})
	dels := watchDeletes(t, l, first.Addr())
	stop1()
	discovers := strings.Count(srv.out.String(), "DHCPDISCOVER")

	c2, err := dhcp.NewClient(l.C.Namespace, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c2.Run)
	again := ev.wait(t, dhcp.EventBound, 10*time.Second).Lease.Address
	if again != first {
		t.Errorf("after restart: %s, want %s", again, first)
	}
	log := srv.out.String()
	if n := strings.Count(log, "DHCPDISCOVER"); n != discovers {
		t.Errorf("the restarted client sent DHCPDISCOVER (INIT instead of INIT-REBOOT):\n%s", log)
	}
	if !strings.Contains(log[strings.LastIndex(log, "DHCPACK"):], first.Addr().String()) {
		t.Errorf("no DHCPACK for %s:\n%s", first.Addr(), log)
	}
	time.Sleep(200 * time.Millisecond)
	if n := dels(); n != 0 {
		t.Errorf("the address was deleted %d times during the restart", n)
	}
}

// TestReleaseOnStop: a client with Release sends DHCPRELEASE when stopped,
// reports it, and the reconciler removes the address.
func TestReleaseOnStop(t *testing.T) {
	hostTier(t)
	l := newLab(t)
	srv := l.dnsmasq(t, "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m")
	src := reconciler(t, l.C, t.TempDir())
	ev := newEvents()
	file := filepath.Join(t.TempDir(), "lease.json")
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, Release: true, LeaseFile: file, Timing: fastTiming, OnEvent: feed(t, src, ev)})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, c.Run)
	a := ev.wait(t, dhcp.EventBound, 10*time.Second).Lease.Address.Addr()
	nstest.Eventually(t, 10*time.Second, func() error {
		if as := kernelAddrs(t, l.C, clientLink); len(as) != 1 {
			return fmt.Errorf("addresses %+v", as)
		}
		return nil
	})
	stop()
	ev.wait(t, dhcp.EventReleased, time.Second)
	nstest.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(srv.out.String(), "DHCPRELEASE("+serverLink+") "+a.String()) {
			return fmt.Errorf("dnsmasq saw no release of %s:\n%s", a, srv.out)
		}
		if as := kernelAddrs(t, l.C, clientLink); len(as) != 0 {
			return fmt.Errorf("addresses left: %+v", as)
		}
		return nil
	})
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("lease file still there after release: %v", err)
	}
	if c.Lease() != nil {
		t.Errorf("lease held after release: %+v", c.Lease())
	}
}

// TestDeclineInUse: the acknowledged address answers an ARP probe (a
// third host on the server's bridge holds it): the client declines it.
func TestDeclineInUse(t *testing.T) {
	hostTier(t)
	l := newLab(t)
	x := nstest.New(t)
	nstest.Veth(t, l.S, "vsx", x, "vx0")
	x.Run(t, "ip", "addr", "add", fixedIP+"/24", "dev", "vx0")
	l.S.Run(t, "ip", "addr", "del", serverIP+"/24", "dev", serverLink)
	l.S.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	l.S.Run(t, "ip", "link", "set", serverLink, "master", "br0")
	l.S.Run(t, "ip", "link", "set", "vsx", "master", "br0")
	l.S.Run(t, "ip", "link", "set", "br0", "up")
	l.S.Run(t, "ip", "addr", "add", serverIP+"/24", "dev", "br0")
	l.srvLink = "br0"
	srv := l.dnsmasq(t, "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m", "--dhcp-host="+clientMAC+","+fixedIP)
	ev := newEvents()
	c, err := dhcp.NewClient(l.C.Namespace, dhcp.Config{Link: clientLink, ProbeWait: 300 * time.Millisecond, Timing: fastTiming, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dnsmasq:\n%s", srv.out)
		}
	})
	d := ev.wait(t, dhcp.EventDeclined, 10*time.Second)
	if d.Err == nil || !strings.Contains(d.Err.Error(), fixedIP) {
		t.Errorf("declined: %v", d.Err)
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(srv.out.String(), "DHCPDECLINE(br0) "+fixedIP) {
			return fmt.Errorf("dnsmasq saw no decline:\n%s", srv.out)
		}
		return nil
	})
	if c.Lease() != nil {
		t.Errorf("a declined lease is held: %+v", c.Lease())
	}
}

// watchDeletes counts RTM_DELADDR of a from now on (addr.Watch).
func watchDeletes(t testing.TB, l *lab, a netip.Addr) func() int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := addr.Watch(ctx, l.C.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.Resync {
				t.Errorf("address watch resync: events may be lost")
			}
			if e.Action == netprim.Delete && strings.HasPrefix(e.Object, a.String()+"/") {
				n++
			}
		}
	}()
	return func() int {
		cancel()
		<-done
		return n
	}
}
