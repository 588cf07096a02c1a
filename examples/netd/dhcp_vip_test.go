//go:build linux

package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/netprim/netprim/nstest"
)

// The DHCP lab of the seeds' example (testdata/vip-dhcp.yaml, unchanged):
// dnsmasq serves 192.168.0.0/24 on srv0 in a server namespace, joined to
// the node's eth0 by a veth pair; the shared IP 192.168.0.15 is outside
// its range.
const (
	labServerIP = "192.168.0.1"
	labVIP      = "192.168.0.15"
	labDNS      = "192.168.0.53"
	labDomain   = "lab.example"
)

// labDnsmasqOptions: a range of two-minute leases (dnsmasq's shortest),
// a router, a DNS server and search domain, and classless static routes
// (option 121: a default route and one more network).
var labDnsmasqOptions = []string{
	"--dhcp-range=192.168.0.100,192.168.0.150,255.255.255.0,2m",
	"--dhcp-option=option:router," + labServerIP,
	"--dhcp-option=option:dns-server," + labDNS,
	"--dhcp-option=option:domain-search," + labDomain,
	"--dhcp-option=option:classless-static-route,0.0.0.0/0," + labServerIP + ",198.51.100.0/24,192.168.0.2",
}

// startLab makes the DHCP lab: a node namespace with eth0, joined to srv0
// of a server namespace, where dnsmasq serves with labDnsmasqOptions.
func startLab(t *testing.T) (node *nstest.NS, dm *dnsmasq) {
	t.Helper()
	needRoot(t)
	srv, node := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", srv, "srv0")
	srv.Run(t, "ip", "addr", "add", labServerIP+"/24", "dev", "srv0")
	return node, startDnsmasq(t, srv, "srv0", labDnsmasqOptions...)
}

// TestDHCPAndVIP runs netd on the seeds' example, an interface with
// "dhcp: true" and a shared IP (testdata/vip-dhcp.yaml), against dnsmasq
// and an embedded etcd: the lease's address (with the lease's finite
// lifetime), routes and resolv.conf, the shared IP elected and held on
// eth0; SIGTERM gives the shared IP up and keeps the lease's address;
// a second run with --dhcp-release releases the lease (dnsmasq forgets it)
// and removes its address, routes and nameserver on SIGTERM.
func TestDHCPAndVIP(t *testing.T) {
	node, dm := startLab(t)
	endpoint := startEtcd(t)
	cfg, err := filepath.Abs("testdata/vip-dhcp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	args := []string{"--netns", node.Name, "--root", root, "-f", cfg,
		"--etcd-endpoints", endpoint, "--election-ttl", "3s"}

	// First run: lease and shared IP; SIGTERM keeps the lease.
	p := startNetd(t, args...)
	leased := leasedAddr(t, p.waitLine("dhcp eth0: bound", 30*time.Second))
	t.Logf("leased %s", leased)
	nstest.Eventually(t, 10*time.Second, func() error {
		a, ok := findAddr(globalAddrs(t, node, "eth0"), leased)
		if !ok {
			return fmt.Errorf("leased %s not on eth0: %v", leased, globalAddrs(t, node, "eth0"))
		}
		if a.Valid == foreverLifetime || a.Valid == 0 || a.Valid > 120 {
			return fmt.Errorf("leased %s: valid_life_time %d, want the lease's (at most 120 s)", leased, a.Valid)
		}
		return nil
	})
	wantRoutes := []string{"0.0.0.0/0 via " + labServerIP, "198.51.100.0/24 via 192.168.0.2"}
	nstest.Eventually(t, 10*time.Second, func() error {
		got := gatewayRoutes(t, node, "eth0")
		for _, r := range wantRoutes {
			if !slices.Contains(got, r) {
				return fmt.Errorf("routes on eth0 %q lack %q", got, r)
			}
		}
		return nil
	})
	resolvConf := filepath.Join(root, "etc", "resolv.conf")
	nstest.Eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(resolvConf)
		if err != nil {
			return err
		}
		if !regexp.MustCompile(`(?m)^nameserver `+regexp.QuoteMeta(labDNS)+`$`).Match(b) ||
			!regexp.MustCompile(`(?m)^search .*\b`+regexp.QuoteMeta(labDomain)+`\b`).Match(b) {
			return fmt.Errorf("%s lacks the lease's nameserver and search domain:\n%s", resolvConf, b)
		}
		return nil
	})
	p.waitLine("vip "+labVIP+": acquired", 30*time.Second)
	nstest.Eventually(t, 5*time.Second, func() error {
		a, ok := findAddr(globalAddrs(t, node, "eth0"), labVIP)
		if !ok {
			return fmt.Errorf("shared IP %s not on eth0: %v", labVIP, globalAddrs(t, node, "eth0"))
		}
		if a.Valid == foreverLifetime {
			return fmt.Errorf("shared IP %s without a kernel lifetime", labVIP)
		}
		return nil
	})
	code, took := p.stop(syscall.SIGTERM)
	t.Logf("SIGTERM: exit status %d after %v", code, took)
	if code != 0 {
		t.Fatalf("SIGTERM: exit status %d, want 0\nstderr:\n%s", code, p.stderr())
	}
	if !strings.Contains(p.stdout(), "vip "+labVIP+": released (stopped)") {
		t.Errorf("no release of the shared IP in the output:\n%s", p.stdout())
	}
	as := globalAddrs(t, node, "eth0")
	if _, ok := findAddr(as, labVIP); ok {
		t.Errorf("shared IP %s still on eth0 after SIGTERM: %v", labVIP, as)
	}
	if _, ok := findAddr(as, leased); !ok {
		t.Errorf("leased %s gone from eth0 after SIGTERM (the lease is kept): %v", leased, as)
	}
	if !dm.hasLease(t, leased) {
		t.Errorf("dnsmasq's lease file lacks %s after a stop that keeps the lease:\n%s", leased, dm.leaseFile(t))
	}

	// Second run with --dhcp-release: the lease file under --root makes
	// the client ask for the same address; SIGTERM releases it.
	p = startNetd(t, append(args, "--dhcp-release")...)
	leased2 := leasedAddr(t, p.waitLine("dhcp eth0: bound", 30*time.Second))
	if leased2 != leased {
		t.Logf("the second run leased %s, the first %s", leased2, leased)
	}
	p.waitLine("vip "+labVIP+": acquired", 30*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		as := globalAddrs(t, node, "eth0")
		if _, ok := findAddr(as, leased2); !ok {
			return fmt.Errorf("leased %s not on eth0: %v", leased2, as)
		}
		return nil
	})
	code, took = p.stop(syscall.SIGTERM)
	t.Logf("SIGTERM with --dhcp-release: exit status %d after %v", code, took)
	if code != 0 {
		t.Fatalf("SIGTERM with --dhcp-release: exit status %d, want 0\nstderr:\n%s", code, p.stderr())
	}
	as = globalAddrs(t, node, "eth0")
	for _, a := range []string{labVIP, leased2} {
		if _, ok := findAddr(as, a); ok {
			t.Errorf("%s still on eth0 after SIGTERM with --dhcp-release: %v", a, as)
		}
	}
	if got := gatewayRoutes(t, node, "eth0"); len(got) != 0 {
		t.Errorf("the lease's routes still on eth0 after the release: %q", got)
	}
	// The released lease's resolvers went with it: nothing else provides
	// any (the configuration has no nameservers).
	if b, err := os.ReadFile(resolvConf); err != nil {
		t.Error(err)
	} else if regexp.MustCompile(`(?m)^nameserver `).Match(b) {
		t.Errorf("%s keeps a nameserver after the lease was released:\n%s", resolvConf, b)
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		if dm.hasLease(t, leased2) {
			return fmt.Errorf("dnsmasq still holds the lease of %s:\n%s", leased2, dm.leaseFile(t))
		}
		return nil
	})
	if !strings.Contains(dm.output(), "DHCPRELEASE(srv0) "+leased2) {
		t.Errorf("dnsmasq logged no DHCPRELEASE of %s:\n%s", leased2, dm.output())
	}
}

// TestVIPWithoutElection starts netd on a configuration with a shared IP
// but neither --etcd-endpoints nor --kubeconfig: it exits with status 1,
// says what is missing, and changes nothing in the namespace or under
// --root.
func TestVIPWithoutElection(t *testing.T) {
	needRoot(t)
	node, peer := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", peer, "eth0")
	nstest.Settle(t, node)
	before := snapshot(t, node)
	root := t.TempDir()
	p := startNetd(t, "--netns", node.Name, "--root", root, "-f", "testdata/vip-dhcp.yaml")
	if code := p.wait(20 * time.Second); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if e := p.stderr(); !strings.Contains(e, "--etcd-endpoints") || !strings.Contains(e, "--kubeconfig") || !strings.Contains(e, labVIP) {
		t.Errorf("the error does not name the shared IP and the missing flags:\n%s", e)
	}
	if after := snapshot(t, node); after != before {
		t.Errorf("the namespace changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if ents, err := os.ReadDir(root); err != nil || len(ents) != 0 {
		t.Errorf("--root %s: %v %v, want it empty", root, ents, err)
	}
}

// gatewayRoutes returns "DST via GW" for the IPv4 routes of the main
// table through dev that have a gateway.
func gatewayRoutes(t testing.TB, n *nstest.NS, dev string) []string {
	t.Helper()
	var rs []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	n.IPJSON(t, &rs, "-4", "route", "show", "table", "main", "dev", dev)
	var out []string
	for _, r := range rs {
		if r.Gateway == "" {
			continue
		}
		dst := r.Dst
		if dst == "default" {
			dst = "0.0.0.0/0"
		}
		out = append(out, dst+" via "+r.Gateway)
	}
	return out
}

// leasedAddr takes the address out of "dhcp eth0: bound 192.168.0.123/24,
// lease 2m0s".
func leasedAddr(t testing.TB, line string) string {
	t.Helper()
	m := regexp.MustCompile(`: bound ([0-9.]+)/\d+, lease `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no leased address in %q", line)
	}
	return m[1]
}

// snapshot is what ip(8) and nft(8) report of a namespace: links,
// addresses, routes of every table, rules and the ruleset.
func snapshot(t testing.TB, n *nstest.NS) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"ip", "-j", "-d", "link", "show"},
		{"ip", "-j", "-d", "addr", "show"},
		{"ip", "-j", "-d", "route", "show", "table", "all"},
		{"ip", "-j", "-d", "-6", "route", "show", "table", "all"},
		{"ip", "-j", "rule", "show"},
		{"nft", "-j", "list", "ruleset"},
	} {
		fmt.Fprintf(&b, "%s:\n%s\n", strings.Join(args, " "), n.Run(t, args[0], args[1:]...))
	}
	return b.String()
}

// startEtcd starts an embedded etcd on 127.0.0.1 (a free port) in the
// test process's namespace, where netd runs, stopped when the test ends,
// and returns its client URL.
func startEtcd(t testing.TB) string {
	t.Helper()
	u := []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	cfg := embed.NewConfig()
	cfg.Name = "netd-test"
	cfg.Dir = t.TempDir()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = u, u
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = u, u
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.EnableGRPCGateway = false
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcd: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("etcd not ready after 30 s")
	}
	return "http://" + e.Clients[0].Addr().String()
}

// dnsmasq is a DHCP server running in a namespace.
type dnsmasq struct {
	cmd    *exec.Cmd
	leases string
	done   chan struct{}
	out    lockedBuffer
}

func (d *dnsmasq) output() string { return d.out.String() }

// startDnsmasq starts dnsmasq (Debian) serving DHCP on dev in n through
// nsenter (which execs it: the PID is dnsmasq's), waits until it listens
// on port 67 and stops it by PID when the test ends.
func startDnsmasq(t testing.TB, n *nstest.NS, dev string, opts ...string) *dnsmasq {
	t.Helper()
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		bin = "/usr/sbin/dnsmasq"
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("needs dnsmasq (Debian package dnsmasq-base): %v", err)
		}
	}
	dir := t.TempDir()
	d := &dnsmasq{leases: filepath.Join(dir, "leases"), done: make(chan struct{})}
	args := append([]string{"--net=" + n.Path, "--", bin,
		"--no-daemon", "--conf-file=/dev/null", "--port=0", "--no-ping",
		"--bind-interfaces", "--interface=" + dev, "--except-interface=lo",
		"--user=root", "--group=", "--log-facility=-", "--log-dhcp",
		"--dhcp-leasefile=" + d.leases, "--pid-file=" + filepath.Join(dir, "pid"),
		"--dhcp-authoritative"}, opts...)
	d.cmd = exec.Command("nsenter", args...)
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("dnsmasq: %v", err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
			return
		default:
		}
		syscall.Kill(d.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
	})
	nstest.Eventually(t, 10*time.Second, func() error {
		select {
		case <-d.done:
			t.Fatalf("dnsmasq exited: %s", d.output())
		default:
		}
		out, err := n.Exec("ss", "-Hlun")
		if err != nil {
			return err
		}
		if !strings.Contains(string(out), ":67 ") && !strings.Contains(string(out), ":547 ") {
			return fmt.Errorf("dnsmasq not listening on port 67 or 547 yet")
		}
		return nil
	})
	return d
}

// leaseFile returns dnsmasq's lease file.
func (d *dnsmasq) leaseFile(t testing.TB) string {
	t.Helper()
	return readFile(t, d.leases)
}

// hasLease reports whether dnsmasq's lease file holds a lease of ip
// ("EXPIRY MAC IP HOSTNAME CLIENTID" lines).
func (d *dnsmasq) hasLease(t testing.TB, ip string) bool {
	t.Helper()
	for _, l := range strings.Split(d.leaseFile(t), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[2] == ip {
			return true
		}
	}
	return false
}

// TestReloadRemovesDHCP: SIGHUP with the interface's dhcp entry changed
// (route metric) keeps the lease's nameserver; with the entry removed it
// takes the lease's address, routes and nameserver away (resolv.conf is
// left without nameserver, as nothing else provides one), while the static
// address of the entry stays.
func TestReloadRemovesDHCP(t *testing.T) {
	node, _ := startLab(t)
	conf := func(dhcp string) string {
		return "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n" +
			dhcp + "        addresses: [10.9.0.1/24]\n"
	}
	cfg := writeConfig(t, conf("        dhcp: true\n"))
	root := t.TempDir()
	p := startNetd(t, "-f", cfg, "--netns", node.Name, "--root", root)
	leased := leasedAddr(t, p.waitLine("dhcp eth0: bound", 30*time.Second))
	resolvConf := filepath.Join(root, "etc", "resolv.conf")
	nameserver := regexp.MustCompile(`(?m)^nameserver ` + regexp.QuoteMeta(labDNS) + `$`)
	nstest.Eventually(t, 10*time.Second, func() error {
		if _, ok := findAddr(globalAddrs(t, node, "eth0"), leased); !ok {
			return fmt.Errorf("leased %s not on eth0: %v", leased, globalAddrs(t, node, "eth0"))
		}
		if b, _ := os.ReadFile(resolvConf); !nameserver.Match(b) {
			return fmt.Errorf("%s lacks the lease's nameserver:\n%s", resolvConf, b)
		}
		return nil
	})

	// A changed dhcp entry (another route metric) restarts its client,
	// which takes the lease up again: the nameserver stays meanwhile.
	rewrite(t, cfg, conf("        dhcp: true\n        dhcpOptions: {routeMetric: 300}\n"))
	before := len(p.stdout())
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine("netd: reloaded", 10*time.Second)
	p.waitLine("dhcp eth0: bound", 30*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		if got := gatewayRoutes(t, node, "eth0"); !slices.ContainsFunc(got, func(r string) bool { return strings.HasPrefix(r, "0.0.0.0/0") }) {
			return fmt.Errorf("no default route after the metric change: %q", got)
		}
		return nil
	})
	// (The output before may still end with the first lease's pass, which
	// added the nameserver: only a removal counts.)
	if out := p.stdout()[before:]; regexp.MustCompile(`(?m)^- file .*: nameserver|no nameservers`).MatchString(out) {
		t.Errorf("the metric change removed the nameserver:\n%s", out)
	}

	rewrite(t, cfg, conf(""))
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine("netd: reloaded", 10*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		as := globalAddrs(t, node, "eth0")
		if _, ok := findAddr(as, leased); ok {
			return fmt.Errorf("leased %s still on eth0 after its dhcp entry was removed: %v", leased, as)
		}
		if _, ok := findAddr(as, "10.9.0.1"); !ok {
			return fmt.Errorf("static 10.9.0.1 gone from eth0: %v", as)
		}
		if got := gatewayRoutes(t, node, "eth0"); len(got) != 0 {
			return fmt.Errorf("the lease's routes still on eth0: %q", got)
		}
		b, err := os.ReadFile(resolvConf)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`(?m)^nameserver `).Match(b) {
			return fmt.Errorf("%s keeps a nameserver after the dhcp entry was removed:\n%s", resolvConf, b)
		}
		return nil
	})
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d\nstderr:\n%s", code, p.stderr())
	}
}
