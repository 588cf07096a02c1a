package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/wireguard"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { nstest.Main(m) }

func netctl(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// named returns a namespace that --netns can name, skipping where the test
// runs without /var/run/netns (rootless without a private mount).
func named(t *testing.T) *nstest.NS {
	n := nstest.New(t)
	if _, err := os.Stat("/var/run/netns/" + n.Name); err != nil {
		t.Skipf("namespace %s has no name under /var/run/netns: %v", n.Name, err)
	}
	return n
}

// TestApplyBasicDocument applies the README's document and checks the
// kernel with ip(8).
func TestApplyBasicDocument(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(t, "ip", "link", "set", "veth1", "up")

	out, stderr, code := netctl(t, "", "plan", "-f", "testdata/basic.yaml", "--netns", n.Name)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"~ link veth0 mtu 1500 -> 1400",
		"+ address 192.0.2.10/24 dev veth0",
		"+ route 198.51.100.0/24 via 192.0.2.1",
		"+ route 0.0.0.0/0 via 192.0.2.1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if out2, _, _ := netctl(t, "", "apply", "-f", "testdata/basic.yaml", "--netns", n.Name); out2 != out {
		t.Errorf("apply did not do what plan said:\nplan:\n%s\napply:\n%s", out, out2)
	}

	var links []struct {
		Mtu      int      `json:"mtu"`
		Flags    []string `json:"flags"`
		AddrInfo []struct {
			Local     string
			Prefixlen int
		} `json:"addr_info"`
	}
	n.IPJSON(t, &links, "addr", "show", "dev", "veth0")
	if len(links) != 1 || links[0].Mtu != 1400 || !contains(links[0].Flags, "UP") {
		t.Fatalf("veth0 per ip: %+v", links)
	}
	got := map[string]int{}
	for _, a := range links[0].AddrInfo {
		got[a.Local] = a.Prefixlen
	}
	if got["192.0.2.10"] != 24 || got["2001:db8::10"] != 64 {
		t.Errorf("addresses per ip: %v", got)
	}
	var routes []struct {
		Dst, Gateway string
		Metric       int
		Protocol     string
	}
	n.IPJSON(t, &routes, "route", "show", "table", "100")
	if len(routes) != 1 || routes[0].Dst != "default" || routes[0].Gateway != "192.0.2.1" {
		t.Errorf("table 100 per ip: %+v", routes)
	}
	n.IPJSON(t, &routes, "route", "show", "198.51.100.0/24")
	if len(routes) != 1 || routes[0].Gateway != "192.0.2.1" || routes[0].Metric != 100 {
		t.Errorf("198.51.100.0/24 per ip: %+v", routes)
	}

	out, stderr, code = netctl(t, "", "apply", "-f", "testdata/basic.yaml", "--netns", n.Name)
	if code != 0 || strings.TrimSpace(out) != "no changes" {
		t.Errorf("second apply: exit %d, %q, %s", code, out, stderr)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFullDocumentAndPrune creates links from a document, reads them back
// with get in every format, and removes them with an empty document and
// --prune, leaving a link netctl did not create alone.
func TestFullDocumentAndPrune(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "foreign0", "type", "veth", "peer", "name", "foreign1")
	if out, stderr, code := netctl(t, "", "apply", "-f", "testdata/full.yaml", "--netns", n.Name); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	if out, stderr, code := netctl(t, "", "apply", "-f", "testdata/full.yaml", "--netns", n.Name); code != 0 || strings.TrimSpace(out) != "no changes" {
		t.Fatalf("second apply: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, kind := range []string{"links", "addresses", "routes", "rules"} {
		for _, o := range []string{"table", "wide", "json", "yaml"} {
			out, stderr, code := netctl(t, "", "get", kind, "-o", o, "--netns", n.Name)
			if code != 0 || out == "" {
				t.Fatalf("get %s -o %s: exit %d: %s", kind, o, code, stderr)
			}
			if o == "json" {
				var v []map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) == 0 {
					t.Fatalf("get %s -o json: %v: %s", kind, err, out)
				}
			}
		}
	}
	out, _, _ := netctl(t, "", "get", "rules", "--netns", n.Name)
	if !strings.Contains(out, "fwmark 0x40/0x60") || !strings.Contains(out, "from 192.0.2.0/24") {
		t.Errorf("get rules:\n%s", out)
	}
	out, stderr, code := netctl(t, "{}\n", "apply", "-f", "-", "--prune", "--netns", n.Name)
	if code != 0 {
		t.Fatalf("prune: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"- link np0", "- rule 1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune output lacks %q:\n%s", want, out)
		}
	}
	var links []struct{ Ifname string }
	n.IPJSON(t, &links, "link", "show")
	names := []string{}
	for _, l := range links {
		names = append(names, l.Ifname)
	}
	if contains(names, "np0") || contains(names, "np1") || !contains(names, "foreign0") {
		t.Errorf("links after prune: %v", names)
	}
	var rules []struct{ Priority int }
	n.IPJSON(t, &rules, "rule", "show")
	for _, r := range rules {
		if r.Priority == 1000 || r.Priority == 1001 {
			t.Errorf("rule %d survived prune", r.Priority)
		}
	}
}

// TestBadInput: errors name the bad field, exit non-zero, and nothing is
// written.
func TestBadInput(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"testdata/bad-mtu.yaml", []string{"link: spec[0].mtu: 70000"}},
		{"testdata/bad-gateway.yaml", []string{"routes[0] (line 2)", "1.2.3"}},
		{"testdata/unknown-key.yaml", []string{"links[0]", "speed"}},
	} {
		_, stderr, code := netctl(t, "", "apply", "-f", tc.file, "--netns", n.Name)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", tc.file, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: error does not name %q: %s", tc.file, w, stderr)
			}
		}
	}
	var links []struct{ Mtu int }
	n.IPJSON(t, &links, "link", "show", "veth0")
	if links[0].Mtu != 1500 {
		t.Errorf("invalid document changed veth0: mtu %d", links[0].Mtu)
	}
	if _, _, code := netctl(t, "", "get", "bogus", "--netns", n.Name); code != 2 {
		t.Errorf("get bogus: exit %d, want 2", code)
	}
	if _, stderr, code := netctl(t, "", "get", "links", "--netns", "no-such-ns-netctl"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("missing netns: exit %d: %s", code, stderr)
	}
}

// TestPartialFailure: an object that cannot be applied does not stop the
// unrelated ones, the error names it, and --prune deletes nothing while
// something failed.
func TestPartialFailure(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(t, "ip", "link", "set", "veth0", "up")
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "veth0")
	// An owned route from an earlier apply, not in the document below.
	if _, stderr, code := netctl(t, "routes:\n  - {destination: 203.0.113.0/24, gateway: 192.0.2.1}\n", "apply", "-f", "-", "--netns", n.Name); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	doc := `addresses:
  - {link: nope0, address: 192.0.2.20/24}
routes:
  - {destination: 198.51.100.0/24, gateway: 192.0.2.1}
`
	out, stderr, code := netctl(t, doc, "plan", "-f", "-", "--prune", "--netns", n.Name)
	if code != 1 || !strings.Contains(stderr, "nope0") || !strings.Contains(out, "+ route 198.51.100.0/24") || strings.Contains(out, "- route") {
		t.Errorf("plan: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	out, stderr, code = netctl(t, doc, "apply", "-f", "-", "--prune", "--netns", n.Name)
	if code != 1 || !strings.Contains(stderr, "nope0") || !strings.Contains(stderr, "prune skipped") {
		t.Errorf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	var routes []struct{ Dst string }
	n.IPJSON(t, &routes, "route", "show", "proto", "78")
	got := map[string]bool{}
	for _, r := range routes {
		got[r.Dst] = true
	}
	if !got["198.51.100.0/24"] || !got["203.0.113.0/24"] {
		t.Errorf("routes of proto 78 after a partly failed apply with --prune: %v (want the new one added and the old one kept)", got)
	}
}

// TestLogicalLinksDocument applies the bond → VLAN → bridge stack of
// testdata/logical.yaml and checks it with ip(8); it runs on the kernel tier.
func TestLogicalLinksDocument(t *testing.T) {
	nstest.RequireModules(t, "dummy", "bonding", "8021q")
	n := named(t)
	out, stderr, code := netctl(t, "", "plan", "-f", "testdata/logical.yaml", "--netns", n.Name)
	if code != 0 || !strings.Contains(out, "+ link dummy0") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
	t.Logf("plan on an empty namespace:\n%s", out)
	out, stderr, code = netctl(t, "", "apply", "-f", "testdata/logical.yaml", "--netns", n.Name)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	t.Logf("apply:\n%s", out)
	var links []struct {
		Ifname   string
		Master   string
		Linkinfo struct {
			InfoKind string         `json:"info_kind"`
			InfoData map[string]any `json:"info_data"`
		}
	}
	n.IPJSON(t, &links, "-d", "link", "show")
	got := map[string]string{}
	for _, l := range links {
		got[l.Ifname] = l.Linkinfo.InfoKind + " master=" + l.Master
		switch l.Ifname {
		case "bond0":
			if l.Linkinfo.InfoData["mode"] != "802.3ad" || l.Linkinfo.InfoData["ad_lacp_rate"] != "fast" {
				t.Errorf("bond0 info_data: %v", l.Linkinfo.InfoData)
			}
		case "bond0.100":
			if l.Linkinfo.InfoData["id"] != float64(100) {
				t.Errorf("bond0.100 info_data: %v", l.Linkinfo.InfoData)
			}
		case "br0":
			if l.Linkinfo.InfoData["vlan_filtering"] != float64(1) || l.Linkinfo.InfoData["stp_state"] == float64(0) {
				t.Errorf("br0 info_data: %v", l.Linkinfo.InfoData)
			}
		}
	}
	want := map[string]string{
		"dummy0": "dummy master=bond0", "dummy1": "dummy master=bond0",
		"bond0": "bond master=", "bond0.100": "vlan master=br0", "br0": "bridge master=",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	out, stderr, code = netctl(t, "", "apply", "-f", "testdata/logical.yaml", "--netns", n.Name)
	if code != 0 || strings.TrimSpace(out) != "no changes" {
		t.Errorf("second apply: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, kind := range []string{"bonds", "vlans", "bridges"} {
		if out, stderr, code := netctl(t, "", "get", kind, "-o", "json", "--netns", n.Name); code != 0 || !strings.Contains(out, `"name"`) {
			t.Errorf("get %s: exit %d: %s%s", kind, code, out, stderr)
		}
	}
	out, stderr, code = netctl(t, "{}\n", "apply", "-f", "-", "--prune", "--netns", n.Name)
	if code != 0 {
		t.Fatalf("prune: exit %d\n%s\n%s", code, out, stderr)
	}
	n.IPJSON(t, &links, "link", "show")
	if len(links) != 1 {
		t.Errorf("after prune %d links remain, want only lo: %+v", len(links), links)
	}
}

// TestResolvDocument writes the resolver files of testdata/resolv.yaml under
// --root and checks their text and idempotency.
func TestResolvDocument(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(root+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := netctl(t, "", "apply", "-f", "testdata/resolv.yaml", "--root", root)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	for file, want := range map[string][]string{
		"resolv.conf": {"nameserver 192.0.2.53", "nameserver 2001:db8::53", "search example.internal"},
		"hosts":       {"192.0.2.10", "node1.example.internal node1", "127.0.0.1", "::1"},
		"hostname":    {"node1"},
	} {
		data, err := os.ReadFile(root + "/etc/" + file)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s lacks %q:\n%s", file, w, data)
			}
		}
	}
	out, _, code = netctl(t, "", "apply", "-f", "testdata/resolv.yaml", "--root", root)
	if code != 0 || strings.TrimSpace(out) != "no changes" && !strings.HasPrefix(strings.TrimSpace(out), "no changes\n!") {
		t.Errorf("second apply: exit %d: %q", code, out)
	}
	// A bad hostname is refused, naming the field, and nothing is written.
	before, _ := os.ReadFile(root + "/etc/hostname")
	_, stderr, code = netctl(t, "hostname: {hostname: bad_name}\n", "apply", "-f", "-", "--root", root)
	after, _ := os.ReadFile(root + "/etc/hostname")
	if code != 1 || !strings.Contains(stderr, "hostname") || string(before) != string(after) {
		t.Errorf("bad hostname: exit %d: %s", code, stderr)
	}
}

// TestDeviceSelectorDocument configures a device chosen by deviceSelector
// instead of by name, and checks that a selector matching two devices
// fails, names the entry and changes nothing.
func TestDeviceSelectorDocument(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "sa", "address", "0a:00:00:00:5e:01", "type", "veth",
		"peer", "name", "sb", "address", "0a:00:00:00:77:02")
	doc := `links:
  - deviceSelector:
      driver: veth
      hardwareAddr: "*:5E:01"
    mtu: 1400
    up: true
`
	out, stderr, code := netctl(t, doc, "plan", "-f", "-", "--netns", n.Name)
	if code != 0 || !strings.Contains(out, "~ link sa mtu 1500 -> 1400") || strings.Contains(out, "link sb") {
		t.Fatalf("plan: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if out2, stderr, code := netctl(t, doc, "apply", "-f", "-", "--netns", n.Name); code != 0 || out2 != out {
		t.Fatalf("apply: exit %d: %s\napply did:\n%s\nplan said:\n%s", code, stderr, out2, out)
	}
	type ipLink struct {
		Name  string   `json:"ifname"`
		MTU   int      `json:"mtu"`
		Flags []string `json:"flags"`
	}
	show := func() map[string]ipLink {
		var ls []ipLink
		n.IPJSON(t, &ls, "link", "show")
		m := map[string]ipLink{}
		for _, l := range ls {
			m[l.Name] = l
		}
		return m
	}
	got := show()
	if got["sa"].MTU != 1400 || !contains(got["sa"].Flags, "UP") || got["sb"].MTU != 1500 {
		t.Fatalf("after apply, per ip: sa %+v, sb %+v", got["sa"], got["sb"])
	}
	if out, stderr, code := netctl(t, doc, "apply", "-f", "-", "--netns", n.Name); code != 0 || strings.TrimSpace(out) != "no changes" {
		t.Fatalf("second apply: exit %d: %s\n%s", code, stderr, out)
	}

	ambiguous := "links:\n  - deviceSelector: {driver: veth}\n    mtu: 1300\n"
	for _, cmd := range []string{"plan", "apply"} {
		_, stderr, code := netctl(t, ambiguous, cmd, "-f", "-", "--netns", n.Name)
		if code != 1 || !strings.Contains(stderr, "links[0].deviceSelector") ||
			!(strings.Contains(stderr, "several devices: sa, sb") || strings.Contains(stderr, "several devices: sb, sa")) {
			t.Errorf("%s with an ambiguous selector: exit %d: %s", cmd, code, stderr)
		}
	}
	if after := show(); after["sa"].MTU != 1400 || after["sb"].MTU != 1500 {
		t.Errorf("an ambiguous selector changed the links: sa %+v, sb %+v", after["sa"], after["sb"])
	}
}

// wgDoc returns testdata/wireguard.yaml with the device named after the
// namespace (the UAPI socket directory is shared by the whole host) and
// the device's private key.
func wgDoc(t *testing.T, n *nstest.NS) (doc, dev, privateKey string) {
	t.Helper()
	data, err := os.ReadFile("testdata/wireguard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev = "wg" + strings.TrimPrefix(n.Name, "nstest-") // wg + 12 hex digits: 14 bytes
	doc = strings.ReplaceAll(string(data), "wg0", dev)
	for _, l := range strings.Split(doc, "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(l), "privateKey: "); ok {
			privateKey = k
		}
	}
	if privateKey == "" {
		t.Fatal("testdata/wireguard.yaml has no privateKey")
	}
	return doc, dev, privateKey
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestApplyServeWireGuard hosts the device of testdata/wireguard.yaml in
// netctl apply --serve, reads it with get wireguard and with wg(8) (keys
// shown only as public keys), then stops serving: the link is gone.
func TestApplyServeWireGuard(t *testing.T) {
	if _, err := exec.LookPath("wg"); err != nil {
		t.Skip("wg(8) is not installed: it is the oracle of this test")
	}
	if err := os.MkdirAll(wireguard.SocketDir, 0o755); err != nil {
		t.Skipf("cannot create %s for UAPI sockets: %v", wireguard.SocketDir, err)
	}
	if err := unix.Access(wireguard.SocketDir, unix.W_OK); err != nil {
		t.Skipf("cannot write UAPI sockets into %s (rootless: it is the host's directory): %v", wireguard.SocketDir, err)
	}
	n := named(t)
	doc, dev, priv := wgDoc(t, n)
	file := filepath.Join(t.TempDir(), "wg.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	pk, err := wireguard.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub := pk.PublicKey().String()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"apply", "-f", file, "--serve", "--netns", n.Name}, strings.NewReader(""), &out, &errb)
	}()
	nstest.Eventually(t, 20*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("apply --serve returned %d before being interrupted:\n%s\n%s", code, out.String(), errb.String())
		default:
		}
		if !strings.Contains(out.String(), "serving 1 userspace WireGuard device(s)") {
			return fmt.Errorf("not serving yet: %q", out.String())
		}
		return nil
	})
	for _, want := range []string{"+ link " + dev + " type wireguard (userspace)", "+ address 10.99.0.1/24 dev " + dev} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("apply output lacks %q:\n%s", want, out.String())
		}
	}

	// ip(8): the TUN link, up, MTU and address as the document says.
	var links []struct {
		Mtu      int      `json:"mtu"`
		Flags    []string `json:"flags"`
		AddrInfo []struct {
			Local string `json:"local"`
		} `json:"addr_info"`
	}
	n.IPJSON(t, &links, "addr", "show", "dev", dev)
	if len(links) != 1 || links[0].Mtu != 1420 || !contains(links[0].Flags, "UP") ||
		len(links[0].AddrInfo) == 0 || links[0].AddrInfo[0].Local != "10.99.0.1" {
		t.Errorf("%s per ip: %+v", dev, links)
	}

	// get wireguard: public keys, peers and health; never the private key.
	js, stderr, code := netctl(t, "", "get", "wireguard", "-o", "json", "--netns", n.Name)
	if code != 0 {
		t.Fatalf("get wireguard: exit %d: %s", code, stderr)
	}
	var got []struct {
		Name       string
		Backend    string
		PublicKey  string
		ListenPort int
		MTU        int
		Up         bool
		Peers      []struct {
			PublicKey           string
			Endpoint            string
			AllowedIPs          []string
			PersistentKeepalive int
			Health              string
		}
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("get wireguard -o json: %v\n%s", err, js)
	}
	if len(got) != 1 || got[0].Name != dev || got[0].Backend != "userspace" || got[0].PublicKey != pub ||
		got[0].ListenPort != 51820 || got[0].MTU != 1420 || !got[0].Up || len(got[0].Peers) != 2 {
		t.Fatalf("get wireguard: %+v", got)
	}
	health := map[string]string{}
	for _, p := range got[0].Peers {
		health[strings.Join(p.AllowedIPs, ",")] = p.Health + " " + p.Endpoint
	}
	// The first peer has an endpoint but no handshake: down. The second
	// has no endpoint, so nothing was tried: unknown.
	if health["10.99.0.2/32,fd99::2/128"] != "down 127.0.0.1:51821" || health["10.99.0.3/32"] != "unknown " {
		t.Errorf("peer health: %v", health)
	}
	for _, o := range []string{"table", "wide", "json", "yaml"} {
		text, stderr, code := netctl(t, "", "get", "wireguard", "-o", o, "--netns", n.Name)
		if code != 0 || !strings.Contains(text, pub) {
			t.Errorf("get wireguard -o %s: exit %d, public key missing: %s%s", o, code, text, stderr)
		}
		if strings.Contains(text, priv) {
			t.Errorf("get wireguard -o %s shows the private key:\n%s", o, text)
		}
	}
	if strings.Contains(out.String(), priv) || strings.Contains(errb.String(), priv) {
		t.Errorf("apply output shows the private key:\n%s%s", out.String(), errb.String())
	}

	// wg(8) reads the same device through its UAPI socket.
	dump := strings.Split(strings.TrimSpace(string(n.Run(t, "wg", "show", dev, "dump"))), "\n")
	if len(dump) != 3 {
		t.Fatalf("wg show %s dump: %q", dev, dump)
	}
	if f := strings.Split(dump[0], "\t"); f[1] != pub || f[2] != "51820" {
		t.Errorf("wg show dump device line %q, want public key %s port 51820", dump[0], pub)
	}
	wgPeers := map[string]string{}
	for _, l := range dump[1:] {
		f := strings.Split(l, "\t")
		wgPeers[f[0]] = f[2] + " " + f[3] + " " + f[7]
	}
	for _, p := range got[0].Peers {
		ep, keepalive := p.Endpoint, strconv.Itoa(p.PersistentKeepalive)
		if ep == "" {
			ep = "(none)"
		}
		if keepalive == "0" {
			keepalive = "off"
		}
		want := ep + " " + strings.Join(p.AllowedIPs, ",") + " " + keepalive
		if wgPeers[p.PublicKey] != want {
			t.Errorf("peer %s: wg show %q, get wireguard %q", p.PublicKey, wgPeers[p.PublicKey], want)
		}
	}

	// A second apply while the device is served is a conflict: only the
	// serving process may change it.
	if _, stderr, code := netctl(t, doc, "apply", "-f", "-", "--serve", "--netns", n.Name); code != 1 || !strings.Contains(stderr, "conflict") {
		t.Errorf("apply while served elsewhere: exit %d: %s", code, stderr)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("apply --serve after interrupt: exit %d: %s", code, errb.String())
	}
	var after []struct{ Ifname string }
	n.IPJSON(t, &after, "link", "show")
	if len(after) != 1 || after[0].Ifname != "lo" {
		t.Errorf("links after serving stopped: %+v, want only lo", after)
	}
	if _, err := os.Stat(filepath.Join(wireguard.SocketDir, dev+".sock")); !os.IsNotExist(err) {
		t.Errorf("UAPI socket after serving stopped: %v", err)
	}
	if js, _, code := netctl(t, "", "get", "wireguard", "-o", "json", "--netns", n.Name); code != 0 || strings.TrimSpace(js) != "[]" {
		t.Errorf("get wireguard after serving stopped: exit %d: %s", code, js)
	}
}

// TestApplyWireGuardWithoutServe: without --serve netctl never creates a
// userspace device that would vanish when it exits. On a kernel without
// the wireguard module the apply fails, says to use --serve, and creates
// nothing.
func TestApplyWireGuardWithoutServe(t *testing.T) {
	n := named(t)
	if _, err := n.Exec("ip", "link", "add", "wgprobe0", "type", "wireguard"); err == nil {
		n.Run(t, "ip", "link", "del", "wgprobe0")
		t.Skip("the kernel has the wireguard module: without --serve the device is a kernel device")
	}
	doc, dev, priv := wgDoc(t, n)
	out, stderr, code := netctl(t, doc, "apply", "-f", "-", "--netns", n.Name)
	if code != 1 || !strings.Contains(stderr, "--serve") || !strings.Contains(stderr, "wireguard") {
		t.Errorf("apply without --serve: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, priv) {
		t.Errorf("output shows the private key:\n%s%s", out, stderr)
	}
	var links []struct{ Ifname string }
	n.IPJSON(t, &links, "link", "show")
	if len(links) != 1 || links[0].Ifname != "lo" {
		t.Errorf("links after a failed apply: %+v, want only lo (no %s)", links, dev)
	}
	// plan shows the kernel backend and does not fail.
	if out, stderr, code := netctl(t, doc, "plan", "-f", "-", "--netns", n.Name); code != 0 || !strings.Contains(out, "+ link "+dev+" type wireguard (backend kernel)") {
		t.Errorf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestFirewallDocument applies the firewall of testdata/firewall.yaml, checks
// the table with nft(8), re-applies with no change, and reads the counters
// back with get firewall.
func TestFirewallDocument(t *testing.T) {
	n := named(t)
	if _, err := n.Exec("nft", "add", "table", "inet", "probe"); err != nil {
		t.Skipf("kernel lacks nftables inet tables (the kernel tier has none; firewall runs on the host tier): %v", err)
	}
	n.Run(t, "nft", "delete", "table", "inet", "probe")
	n.Run(t, "nft", "add", "table", "ip", "foreign")
	out, stderr, code := netctl(t, "", "apply", "-f", "testdata/firewall.yaml", "--netns", n.Name)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	var ruleset struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(n.Run(t, "nft", "-j", "list", "ruleset"), &ruleset); err != nil {
		t.Fatal(err)
	}
	tables := map[string]bool{}
	policy := ""
	for _, o := range ruleset.Nftables {
		if raw, ok := o["table"]; ok {
			var tb struct{ Family, Name string }
			json.Unmarshal(raw, &tb)
			tables[tb.Family+" "+tb.Name] = true
		}
		if raw, ok := o["chain"]; ok {
			var ch struct {
				Table, Name, Policy string
			}
			json.Unmarshal(raw, &ch)
			if ch.Table == "netprim" && ch.Name == "input" {
				policy = ch.Policy
			}
		}
	}
	if !tables["inet netprim"] || !tables["ip foreign"] || policy != "drop" {
		t.Errorf("nft ruleset: tables %v, input policy %q (want inet netprim, ip foreign kept, drop)", tables, policy)
	}
	if text := string(n.Run(t, "nft", "list", "table", "inet", "netprim")); !strings.Contains(text, "6443, 30000-32767") || !strings.Contains(text, "192.0.2.0-192.0.2.98, 192.0.2.100-192.0.2.255") {
		t.Errorf("nft list table lacks the rule's ports or except subnet:\n%s", text)
	}
	out, stderr, code = netctl(t, "", "apply", "-f", "testdata/firewall.yaml", "--netns", n.Name)
	if code != 0 || strings.TrimSpace(out) != "no changes" {
		t.Errorf("second apply: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = netctl(t, "", "get", "firewall", "--netns", n.Name)
	if code != 0 || !strings.Contains(out, "kube-apiserver") || !strings.Contains(out, "safety:established") {
		t.Errorf("get firewall: exit %d\n%s\n%s", code, out, stderr)
	}
	// A port out of range is refused, naming the rule and field; the table
	// stays as it was.
	before := n.Run(t, "nft", "list", "table", "inet", "netprim")
	_, stderr, code = netctl(t, "firewall:\n  defaultAction: block\n  rules:\n    - {name: bad, protocol: tcp, ports: [\"70000\"], action: accept}\n", "apply", "-f", "-", "--netns", n.Name)
	if code != 1 || !strings.Contains(stderr, "bad") || !strings.Contains(stderr, "70000") {
		t.Errorf("bad port: exit %d: %s", code, stderr)
	}
	if after := n.Run(t, "nft", "list", "table", "inet", "netprim"); string(after) != string(before) {
		t.Errorf("a refused document changed the table:\n%s\n%s", before, after)
	}
}
