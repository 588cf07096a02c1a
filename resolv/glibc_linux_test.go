package resolv

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// Addresses inside the test's network namespace (documentation ranges).
var (
	deadNS  = netip.MustParseAddr("192.0.2.53")   // a socket that never answers: a timeout
	liveNS  = netip.MustParseAddr("192.0.2.54")   // the DNS server
	liveNS6 = netip.MustParseAddr("2001:db8::53") // the same server over IPv6
	llNS    = netip.MustParseAddr("fe80::53%lo")  // and over a link-local address with a zone
	// No socket at all: queries are refused at once (ICMP port unreachable).
	refused = []netip.Addr{netip.MustParseAddr("192.0.2.61"), netip.MustParseAddr("192.0.2.62"), netip.MustParseAddr("192.0.2.63")}
)

// zone is what the test DNS server knows: name -> IPv4 address.
var zone = map[string]string{
	"web.example.internal.": "198.51.100.10",
	"db.corp.example.":      "198.51.100.20",
	"x.y.":                  "203.0.113.1", // "x.y" as an absolute name
	"x.y.example.internal.": "203.0.113.2", // "x.y" through the search list
}

// dnsServer answers from zone and records the names asked for, and how
// (transport, EDNS0, AD bit) they were asked.
type dnsServer struct {
	mu      sync.Mutex
	queries []string
	how     []string
}

func (s *dnsServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) == 1 {
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		s.mu.Lock()
		s.queries = append(s.queries, dns.TypeToString[q.Qtype]+" "+name)
		how := w.RemoteAddr().Network()
		if r.IsEdns0() != nil {
			how += " edns0"
		}
		if r.AuthenticatedData {
			how += " ad"
		}
		s.how = append(s.how, how)
		s.mu.Unlock()
		a, ok := zone[name]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(a)})
		}
	}
	w.WriteMsg(m)
}

func (s *dnsServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries
	s.queries, s.how = nil, nil
	return q
}

func (s *dnsServer) takeHow() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.how
	s.queries, s.how = nil, nil
	return h
}

// TestGlibc proves the generated files with glibc itself (getent, hostname)
// in private mount, UTS and network namespaces: the files are bind-mounted
// over /etc/hosts and /etc/resolv.conf there only, and a DNS server runs on
// two addresses of the namespace.
func TestGlibc(t *testing.T) {
	if os.Getenv(helperEnv) != "glibc" {
		runInPrivateNamespaces(t, "TestGlibc")
		return
	}
	requirePrivate(t)
	for _, tool := range []string{"getent", "ip", "hostname", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs %s", tool)
		}
	}
	if _, err := os.Stat("/var/run/nscd/socket"); err == nil {
		t.Fatal("nscd is running: getent would ask it instead of reading the files")
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("ip", "link", "set", "lo", "up")
	for _, a := range []string{deadNS.String() + "/32", liveNS.String() + "/32"} {
		run("ip", "address", "add", a, "dev", "lo")
	}
	run("ip", "address", "add", liveNS6.String()+"/128", "dev", "lo", "nodad")
	run("ip", "address", "add", llNS.WithZone("").String()+"/64", "dev", "lo", "nodad")

	srv := &dnsServer{}
	for _, a := range []netip.Addr{liveNS, liveNS6, llNS} {
		pc, err := net.ListenPacket("udp", netip.AddrPortFrom(a, 53).String())
		if err != nil {
			t.Fatal(err)
		}
		s := &dns.Server{PacketConn: pc, Handler: srv}
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	tl, err := net.Listen("tcp", netip.AddrPortFrom(liveNS, 53).String())
	if err != nil {
		t.Fatal(err)
	}
	ts := &dns.Server{Listener: tl, Handler: srv}
	go ts.ActivateAndServe()
	t.Cleanup(func() { ts.Shutdown() })
	dead, err := net.ListenPacket("udp", netip.AddrPortFrom(deadNS, 53).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Close() }) // never read: queries to it time out

	ctx := context.Background()
	root := t.TempDir()
	mounted := map[string]bool{}
	// use applies c under root and bind-mounts the files over /etc.
	use := func(t *testing.T, c Config, opts ...netprim.Option) netprim.Plan {
		t.Helper()
		p, err := Apply(ctx, root, c, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{ResolvConfPath, HostsPath} {
			dst := "/" + f
			if mounted[dst] {
				if err := unix.Unmount(dst, unix.MNT_DETACH); err != nil {
					t.Fatal(err)
				}
			}
			// A bind mount pins the inode: mount again after every write.
			if err := unix.Mount(filepath.Join(root, f), dst, "", unix.MS_BIND, ""); err != nil {
				t.Fatalf("bind %s: %v", dst, err)
			}
			mounted[dst] = true
		}
		return p
	}
	// lookup returns the first address getent ahostsv4 prints for name, or
	// "" when glibc finds nothing (exit status 2).
	lookup := func(t *testing.T, name string) string {
		t.Helper()
		out, err := exec.Command("getent", "ahostsv4", name).Output()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
			return ""
		}
		if err != nil {
			t.Fatalf("getent ahostsv4 %s: %v", name, err)
		}
		return strings.Fields(string(out))[0]
	}
	base := ResolverSpec{
		Nameservers:   []netip.Addr{liveNS},
		SearchDomains: []string{"example.internal", "corp.example"},
		Options:       ResolverOptions{Timeout: 1, Attempts: 1},
	}
	cfg := func(r ResolverSpec) Config {
		c := exampleConfig
		c.Resolver = &r
		c.Hosts = append(slices.Clone(c.Hosts), HostEntry{Address: netip.MustParseAddr("2001:db8::20"), Names: []string{"db6.example.internal", "db6"}})
		return c
	}

	t.Run("hosts", func(t *testing.T) {
		use(t, cfg(base))
		for _, tc := range []struct{ args, want string }{
			{"hosts node1", "192.0.2.10      node1.example.internal node1"},
			{"hosts node1.example.internal", "192.0.2.10      node1.example.internal node1"},
			{"hosts 192.0.2.10", "192.0.2.10      node1.example.internal node1"},
			{"ahostsv4 localhost", "127.0.0.1       STREAM localhost"},
			{"ahostsv6 localhost", "::1             STREAM localhost"},
			{"hosts ip6-loopback", "::1             localhost ip6-localhost ip6-loopback"},
			{"hosts ip6-allrouters", "ff02::2         ip6-allrouters"},
			{"hosts db6", "2001:db8::20    db6.example.internal db6"},
		} {
			out := run("getent", strings.Fields(tc.args)...)
			if first := strings.SplitN(out, "\n", 2)[0]; first != tc.want {
				t.Errorf("getent %s = %q, want %q", tc.args, first, tc.want)
			}
		}
	})
	t.Run("search domains", func(t *testing.T) {
		use(t, cfg(base))
		srv.take()
		if got := lookup(t, "web"); got != "198.51.100.10" {
			t.Errorf("web = %q, want 198.51.100.10 (web.example.internal)", got)
		}
		// "db" is not in the first search domain, it is in the second.
		if got := lookup(t, "db"); got != "198.51.100.20" {
			t.Errorf("db = %q, want 198.51.100.20 (db.corp.example)", got)
		}
		want := []string{"A web.example.internal.", "A db.example.internal.", "A db.corp.example."}
		if got := srv.take(); !slices.Equal(got, want) {
			t.Errorf("queries %q, want %q (search list in order)", got, want)
		}
	})
	t.Run("ndots", func(t *testing.T) {
		// ndots default 1: "x.y" has one dot, so it is tried as is first.
		use(t, cfg(base))
		srv.take()
		if got := lookup(t, "x.y"); got != "203.0.113.1" {
			t.Errorf("ndots 1: x.y = %q, want 203.0.113.1 (absolute first)", got)
		}
		if q := srv.take(); len(q) == 0 || q[0] != "A x.y." {
			t.Errorf("ndots 1: queries %q, want x.y. first", q)
		}
		// ndots 2: fewer dots than ndots, so the search list comes first.
		r := base
		r.Options.Ndots = intp(2)
		use(t, cfg(r))
		if got := lookup(t, "x.y"); got != "203.0.113.2" {
			t.Errorf("ndots 2: x.y = %q, want 203.0.113.2 (search list first)", got)
		}
		if q := srv.take(); len(q) == 0 || q[0] != "A x.y.example.internal." {
			t.Errorf("ndots 2: queries %q, want x.y.example.internal. first", q)
		}
	})
	t.Run("first nameserver dead", func(t *testing.T) {
		r := base
		r.Nameservers = []netip.Addr{deadNS, liveNS}
		use(t, cfg(r))
		if got := lookup(t, "web.example.internal"); got != "198.51.100.10" {
			t.Errorf("dead then live: %q, want 198.51.100.10 from the second nameserver", got)
		}
		// The same over IPv6: the second nameserver is 2001:db8::53.
		r.Nameservers = []netip.Addr{deadNS, liveNS6}
		use(t, cfg(r))
		if got := lookup(t, "web.example.internal"); got != "198.51.100.10" {
			t.Errorf("dead then live IPv6: %q, want 198.51.100.10", got)
		}
		// Without a live nameserver nothing answers: the oracle can fail.
		r.Nameservers = []netip.Addr{deadNS}
		use(t, cfg(r))
		if got := lookup(t, "web.example.internal"); got != "" {
			t.Errorf("only a dead nameserver: %q, want no answer", got)
		}
	})
	t.Run("options", func(t *testing.T) {
		use(t, cfg(base))
		srv.take()
		lookup(t, "web.example.internal")
		if h := srv.takeHow(); !slices.Equal(h, []string{"udp"}) {
			t.Errorf("no options: queries sent as %q, want [udp]", h)
		}
		r := base
		r.Options.EDNS0, r.Options.TrustAD = true, true
		use(t, cfg(r))
		lookup(t, "web.example.internal")
		if h := srv.takeHow(); !slices.Equal(h, []string{"udp edns0 ad"}) {
			t.Errorf("edns0 trust-ad: queries sent as %q, want [udp edns0 ad]", h)
		}
		r = base
		r.Options.UseVC = true
		use(t, cfg(r))
		if got := lookup(t, "web.example.internal"); got != "198.51.100.10" {
			t.Errorf("use-vc: %q", got)
		}
		if h := srv.takeHow(); !slices.Equal(h, []string{"tcp"}) {
			t.Errorf("use-vc: queries sent as %q, want [tcp]", h)
		}
	})
	t.Run("link-local nameserver", func(t *testing.T) {
		r := base
		r.Nameservers = []netip.Addr{llNS}
		use(t, cfg(r))
		if !strings.Contains(string(mustRead(t, "/etc/resolv.conf")), "nameserver fe80::53%lo\n") {
			t.Errorf("resolv.conf lacks the zone:\n%s", mustRead(t, "/etc/resolv.conf"))
		}
		if got := lookup(t, "web.example.internal"); got != "198.51.100.10" {
			t.Errorf("fe80::53%%lo: %q, want 198.51.100.10", got)
		}
	})
	t.Run("max 3 nameservers", func(t *testing.T) {
		// The live server is the 4th: glibc ignores it, the Plan says so.
		r := base
		r.Nameservers = append(slices.Clone(refused), liveNS)
		p := use(t, cfg(r))
		if !strings.Contains(p.String(), "glibc uses only the first 3 nameservers (MAXNS); it ignores 192.0.2.54") {
			t.Errorf("plan lacks the MAXNS warning:\n%s", p)
		}
		if got := lookup(t, "web.example.internal"); got != "" {
			t.Errorf("4th nameserver answered (%q): glibc should not have used it", got)
		}
		// Swap the live server into the first three: it answers.
		r.Nameservers = []netip.Addr{refused[0], refused[1], liveNS, refused[2]}
		use(t, cfg(r))
		if got := lookup(t, "web.example.internal"); got != "198.51.100.10" {
			t.Errorf("3rd nameserver: %q, want 198.51.100.10", got)
		}
	})
	t.Run("hostname", func(t *testing.T) {
		use(t, cfg(base))
		before, err := readUTS()
		if err != nil {
			t.Fatal(err)
		}
		// A second UTS namespace, held by a sleeping process.
		holder := exec.Command("unshare", "--uts", "sleep", "300")
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
		uts := "/proc/" + itoa(holder.Process.Pid) + "/ns/uts"
		nstest := func(args ...string) string {
			return strings.TrimSpace(run("nsenter", append([]string{"--uts=" + uts}, args...)...))
		}
		// unshare may not have switched yet: wait until the namespace differs.
		for i := 0; ; i++ {
			self, _ := os.Readlink("/proc/self/ns/uts")
			other, _ := os.Readlink(uts)
			if other != "" && other != self {
				break
			}
			if i == 5000 {
				t.Fatalf("unshare --uts did not enter a new UTS namespace")
			}
			time.Sleep(time.Millisecond)
		}
		h := *exampleConfig.Hostname
		var writes int64
		p, err := ApplyHostname(ctx, root, h, WithUTSNamespace(uts), netprim.WithWriteCounter(&writes))
		if err != nil {
			t.Fatal(err)
		}
		// /etc/hostname is already written (use applied the Config).
		if !strings.Contains(p.String(), "~ hostname uts "+uts+" hostname ") || writes != 2 {
			t.Errorf("%d writes (want sethostname, setdomainname), plan:\n%s", writes, p)
		}
		if got := nstest("hostname"); got != "node1" {
			t.Errorf("hostname in the UTS namespace = %q", got)
		}
		if got := nstest("domainname"); got != "example.internal" {
			t.Errorf("domainname in the UTS namespace = %q", got)
		}
		// glibc: hostname -f resolves the kernel host name through /etc/hosts.
		if got := nstest("hostname", "--fqdn"); got != "node1.example.internal" {
			t.Errorf("hostname --fqdn = %q, want node1.example.internal", got)
		}
		if got := nstest("hostname", "--domain"); got != "example.internal" {
			t.Errorf("hostname --domain = %q", got)
		}
		after, err := readUTS()
		if err != nil || after != before {
			t.Errorf("the caller's host name changed: %+v -> %+v (%v)", before, after, err)
		}
		writes = 0
		if p, err := ApplyHostname(ctx, root, h, WithUTSNamespace(uts), netprim.WithWriteCounter(&writes)); err != nil || writes != 0 || !p.Empty() {
			t.Errorf("second ApplyHostname: %d writes, %v\n%s", writes, err, p)
		}
		// Opting in to the caller's namespace (here a private one).
		if _, err := ApplyHostname(ctx, root, HostnameSpec{Hostname: "self"}, WithCallerUTSNamespace()); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(run("hostname")); got != "self" {
			t.Errorf("caller's hostname = %q, want self", got)
		}
		if got := nstest("hostname"); got != "node1" {
			t.Errorf("the other namespace changed too: %q", got)
		}
		// Not a UTS namespace: an error, nothing set.
		if _, err := ApplyHostname(ctx, root, h, WithUTSNamespace("/proc/self/ns/net")); err == nil || !strings.Contains(err.Error(), "not a UTS namespace") {
			t.Errorf("net namespace as UTS: %v", err)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
