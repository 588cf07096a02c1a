package nstest_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/nstest"
)

// ipLink is the part of "ip -j -d link show" the tests look at.
type ipLink struct {
	Ifname      string   `json:"ifname"`
	Flags       []string `json:"flags"`
	Link        string   `json:"link"`
	LinkNetnsID *int     `json:"link_netnsid"`
	Master      string   `json:"master"`
	Linkinfo    struct {
		InfoKind      string         `json:"info_kind"`
		InfoData      map[string]any `json:"info_data"`
		InfoSlaveKind string         `json:"info_slave_kind"`
	} `json:"linkinfo"`
}

func names(links []ipLink) []string {
	var s []string
	for _, l := range links {
		s = append(s, l.Ifname)
	}
	return s
}

func nsInode(t testing.TB, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// hostLinks lists the links of the namespace the test binary runs in, read
// only, with "ip -j link show".
func hostLinks(t *testing.T) []ipLink {
	t.Helper()
	out, err := exec.Command("ip", "-j", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip -j link show: %v", err)
	}
	var links []ipLink
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatalf("ip -j link show: %v: %s", err, out)
	}
	return links
}

func TestIsolation(t *testing.T) {
	a := nstest.New(t)
	if nsInode(t, a.FD()) == nsInode(t, mustOpen(t, "/proc/thread-self/ns/net")) {
		t.Fatal("New returned the namespace the test runs in")
	}
	a.Run(t, "ip", "link", "add", "iso0", "type", "veth", "peer", "name", "iso1")
	var in []ipLink
	a.IPJSON(t, &in, "link", "show")
	if !slices.Contains(names(in), "iso0") || !slices.Contains(names(in), "iso1") {
		t.Fatalf("links made inside are not there: %v", names(in))
	}

	b := nstest.New(t)
	var other []ipLink
	b.IPJSON(t, &other, "link", "show")
	if got := names(other); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("another namespace sees %v, want only lo", got)
	}
	if !a.HasLink(t, "iso0") || b.HasLink(t, "iso0") {
		t.Errorf("HasLink(iso0): %v inside, %v in another namespace; want true, false", a.HasLink(t, "iso0"), b.HasLink(t, "iso0"))
	}
	if host := names(hostLinks(t)); slices.Contains(host, "iso0") || slices.Contains(host, "iso1") {
		t.Errorf("links made inside are visible in the test's own namespace: %v", host)
	}
}

func mustOpen(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestNamedPath(t *testing.T) {
	n := nstest.New(t)
	if !strings.HasPrefix(n.Name, "nstest-") {
		t.Errorf("Name %q lacks the nstest- prefix", n.Name)
	}
	// Path works for tools nobody here wrote.
	out, err := exec.Command("nsenter", "--net="+n.Path, "ip", "-j", "link", "show", "lo").Output()
	if err != nil {
		t.Fatalf("nsenter --net=%s: %v", n.Path, err)
	}
	var lo []ipLink
	if err := json.Unmarshal(out, &lo); err != nil || len(lo) != 1 || !slices.Contains(lo[0].Flags, "UP") {
		t.Fatalf("lo in %s: %s (%v), want it up", n.Path, out, err)
	}
	if filepath.Dir(n.Path) != netprim.NetnsDir {
		t.Logf("%s is not bound under %s (no private %s): Path is %s", n.Name, netprim.NetnsDir, netprim.NetnsDir, n.Path)
		return
	}
	if out, err := exec.Command("ip", "-n", n.Name, "-j", "link", "show", "lo").Output(); err != nil {
		t.Errorf("ip -n %s: %v: %s", n.Name, err, out)
	}
	ns, err := netprim.OpenNamespace(n.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if nsInode(t, ns.FD()) != nsInode(t, n.FD()) {
		t.Error("OpenNamespace(Name) opened another namespace")
	}
}

func TestVethBetweenNamespaces(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	nstest.Veth(t, a, "va", b, "vb")

	var la, lb []ipLink
	a.IPJSON(t, &la, "-d", "link", "show", "dev", "va")
	b.IPJSON(t, &lb, "-d", "link", "show", "dev", "vb")
	for _, l := range [][]ipLink{la, lb} {
		if len(l) != 1 || l[0].Linkinfo.InfoKind != "veth" || !slices.Contains(l[0].Flags, "UP") || l[0].LinkNetnsID == nil {
			t.Fatalf("want an UP veth whose peer is in another namespace, got %+v", l)
		}
	}
	var leak []ipLink
	a.IPJSON(t, &leak, "link", "show")
	if slices.Contains(names(leak), "vb") {
		t.Fatalf("peer vb left in a: %v", names(leak))
	}

	a.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "va")
	b.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "vb")
	nstest.Eventually(t, 10*time.Second, func() error {
		_, err := a.Exec("ping", "-c1", "-W1", "192.0.2.2")
		return err
	})
	b.Run(t, "ping", "-c1", "-W1", "192.0.2.1")
}

func TestVethSameNamespace(t *testing.T) {
	n := nstest.New(t)
	nstest.Veth(t, n, "x0", n, "x1")
	var links []ipLink
	n.IPJSON(t, &links, "-d", "link", "show", "type", "veth")
	if len(links) != 2 {
		t.Fatalf("want 2 veth ends, got %v", names(links))
	}
	for _, l := range links {
		peer := map[string]string{"x0": "x1", "x1": "x0"}[l.Ifname]
		if l.Link != peer || !slices.Contains(l.Flags, "UP") || l.LinkNetnsID != nil {
			t.Errorf("%s: want UP with peer %s in the same namespace, got %+v", l.Ifname, peer, l)
		}
	}
}

// TestCleanup runs 100 tests that each make a namespace and a veth pair,
// then proves that nothing of them is left: no bound file or mount, no file
// descriptor, thread or child process referring to them.
func TestCleanup(t *testing.T) {
	before := sockets(t)
	var (
		mu     sync.Mutex
		inodes = map[uint64]bool{}
		made   []string
	)
	t.Run("group", func(t *testing.T) {
		for i := range 100 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				n := nstest.New(t)
				nstest.Veth(t, n, "c0", n, "c1")
				mu.Lock()
				// Inode numbers of freed namespaces are reused.
				inodes[nsInode(t, n.FD())] = true
				made = append(made, n.Name)
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	if len(made) != 100 {
		t.Fatalf("made %d namespaces, want 100", len(made))
	}
	nstest.Eventually(t, 20*time.Second, func() error {
		return leftovers(t, inodes, made, before)
	})
}

// sockets counts the test process's open sockets; a netlink socket left
// open would keep its namespace alive.
func sockets(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

func leftovers(t *testing.T, inodes map[uint64]bool, made []string, socketsBefore int) error {
	var left []string
	ours := func(target string) bool {
		var ino uint64
		_, err := fmt.Sscanf(target, "net:[%d]", &ino)
		return err == nil && inodes[ino]
	}
	for _, dir := range []string{"/proc/self/fd", "/proc/self/task"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if dir == "/proc/self/task" {
				p = filepath.Join(p, "ns/net")
			}
			if target, err := os.Readlink(p); err == nil && ours(target) {
				left = append(left, p+" -> "+target)
			}
		}
	}
	if n := sockets(t); n > socketsBefore {
		left = append(left, fmt.Sprintf("%d sockets open, %d before", n, socketsBefore))
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	listed, err := exec.Command("ip", "-j", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("ip netns list: %w", err)
	}
	for _, name := range made {
		p := filepath.Join(netprim.NetnsDir, name)
		if _, err := os.Lstat(p); err == nil {
			left = append(left, "file "+p)
		}
		if strings.Contains(string(mountinfo), " "+name+" ") || strings.Contains(string(mountinfo), "/"+name+" ") {
			left = append(left, "mount "+p)
		}
		if strings.Contains(string(listed), `"`+name+`"`) {
			left = append(left, "ip netns list: "+name)
		}
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			left = append(left, fmt.Sprintf("child process %d", pid))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("left behind: %s", strings.Join(left, "; "))
	}
	return nil
}

func TestRequireModulesBuiltinVeth(t *testing.T) {
	var sub *testing.T
	t.Run("require", func(t *testing.T) {
		sub = t
		nstest.RequireModules(t, "veth")
		nstest.RequireLinkKind(t, "veth")
	})
	if sub.Skipped() {
		t.Fatal("RequireModules skipped for veth, which every tier has (built in on the host, a module on the kernel tier)")
	}
}

// TestBond8023ad is a kernel-tier test: the host kernel may lack dummy and
// bonding, the User-Mode Linux kernel of scripts/kerneltest has them.
func TestBond8023ad(t *testing.T) {
	nstest.RequireModules(t, "dummy", "bonding")
	n := nstest.New(t)
	h, err := nl.Handle(n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	if err := h.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "dummy0"}}); err != nil {
		t.Fatal(err)
	}
	bond := netlink.NewLinkBond(netlink.LinkAttrs{Name: "bond0"})
	bond.Mode = netlink.BOND_MODE_802_3AD
	if err := h.LinkAdd(bond); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eth0", "eth1"} {
		d := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := h.LinkAdd(d); err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetMasterByIndex(d, bond.Index); err != nil {
			t.Fatalf("enslave %s: %v", name, err)
		}
	}
	if err := h.LinkSetUp(bond); err != nil {
		t.Fatal(err)
	}

	var links []ipLink
	n.IPJSON(t, &links, "-d", "link", "show")
	got := map[string]ipLink{}
	for _, l := range links {
		got[l.Ifname] = l
	}
	if k := got["dummy0"].Linkinfo.InfoKind; k != "dummy" {
		t.Errorf("dummy0: info_kind %q, want dummy", k)
	}
	b := got["bond0"]
	if b.Linkinfo.InfoKind != "bond" || b.Linkinfo.InfoData["mode"] != "802.3ad" {
		t.Errorf("bond0: info_kind %q mode %v, want bond 802.3ad", b.Linkinfo.InfoKind, b.Linkinfo.InfoData["mode"])
	}
	for _, name := range []string{"eth0", "eth1"} {
		l := got[name]
		if l.Linkinfo.InfoKind != "dummy" || l.Master != "bond0" || l.Linkinfo.InfoSlaveKind != "bond" {
			t.Errorf("%s: kind %q master %q slave kind %q, want a dummy enslaved to bond0",
				name, l.Linkinfo.InfoKind, l.Master, l.Linkinfo.InfoSlaveKind)
		}
	}
}

// TestRootless checks the rootless path: scripts/rootlesstest runs the tests
// as an unprivileged user with NSTEST_REQUIRE_ROOTLESS=1, and then Main must
// have re-run them as root of a user namespace where New works.
func TestRootless(t *testing.T) {
	uidMap, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	inUserns := strings.Join(strings.Fields(string(uidMap)), " ") != "0 0 4294967295"
	if !inUserns {
		if os.Getenv("NSTEST_REQUIRE_ROOTLESS") != "" {
			t.Fatalf("NSTEST_REQUIRE_ROOTLESS is set but the tests run in the initial user namespace (euid %d): Main did not re-run them", os.Geteuid())
		}
		t.Skip("not running rootless: scripts/rootlesstest runs this as an unprivileged user")
	}
	f := strings.Fields(string(uidMap))
	if len(f) != 3 || f[0] != "0" || f[1] == "0" || f[2] != "1" {
		t.Fatalf("uid_map %q, want root mapped to one unprivileged user", uidMap)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("euid %d in the user namespace, want 0", os.Geteuid())
	}

	var sub *testing.T
	t.Run("new", func(t *testing.T) {
		sub = t
		n := nstest.New(t)
		// The /proc/PID/fd/N path (what New falls back to without a
		// private NetnsDir) works for nsenter in the user namespace.
		p := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.FD())
		out, err := exec.Command("nsenter", "--net="+p, "ip", "-j", "link", "show").Output()
		if err != nil {
			t.Fatalf("nsenter --net=%s: %v", p, err)
		}
		var links []ipLink
		if err := json.Unmarshal(out, &links); err != nil || !slices.Equal(names(links), []string{"lo"}) {
			t.Fatalf("nsenter --net=%s ip link: %s (%v), want only lo", p, out, err)
		}
		nstest.Veth(t, n, "r0", n, "r1")
		n.Run(t, "ip", "link", "show", "dev", "r0")

		// Main mounts a private tmpfs on NetnsDir when the host has
		// that directory; then names work as they do for root.
		mountinfo, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		dir, err := filepath.EvalSymlinks(netprim.NetnsDir)
		private := false
		for _, line := range strings.Split(string(mountinfo), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && f[4] == dir && strings.Contains(line, " - tmpfs nstest ") {
				private = true
			}
		}
		if err != nil || !private {
			t.Logf("no private %s: New fell back to %s", netprim.NetnsDir, n.Path)
			return
		}
		if filepath.Dir(n.Path) != netprim.NetnsDir {
			t.Fatalf("private %s mounted, but the namespace is at %s", netprim.NetnsDir, n.Path)
		}
		n2, err := exec.Command("ip", "-n", n.Name, "-j", "link", "show", "dev", "r1").CombinedOutput()
		if err != nil {
			t.Fatalf("ip -n %s: %v: %s", n.Name, err, n2)
		}
	})
	if sub.Skipped() {
		t.Fatal("New skipped in the user namespace")
	}
}

func TestExampleEchoOverVeth(t *testing.T) { testEchoOverVeth(t) }
