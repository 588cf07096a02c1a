package link_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim/internal/watchtest"
	"github.com/netprim/netprim/nstest"
)

// The examples that need a kernel have no Output to check: these tests run
// their code in throwaway namespaces and check what the examples' comments
// say it prints, and the kernel's state with ip.

// exampleLink is a link as "ip -j -d link show" prints it.
type exampleLink struct {
	Ifname   string   `json:"ifname"`
	Flags    []string `json:"flags"`
	Master   string   `json:"master"`
	Altnames []string `json:"altnames"`
	Linkinfo struct {
		InfoKind string `json:"info_kind"`
	} `json:"linkinfo"`
}

func exampleLinks(t *testing.T, n *nstest.NS) map[string]exampleLink {
	t.Helper()
	var links []exampleLink
	n.IPJSON(t, &links, "-d", "link", "show")
	m := make(map[string]exampleLink, len(links))
	for _, l := range links {
		m[l.Ifname] = l
	}
	return m
}

func up(l exampleLink) bool {
	for _, f := range l.Flags {
		if f == "UP" {
			return true
		}
	}
	return false
}

func TestExampleApply(t *testing.T) {
	blue, red := nstest.New(t), nstest.New(t)
	blue.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	var out strings.Builder
	if err := applyLinks(t.Context(), &out, blue.Namespace, red.Name); err != nil {
		t.Fatalf("applyLinks: %v\n%s", err, out.String())
	}
	want := fmt.Sprintf(`+ link veth0 (veth peer eth0 netns %s)
~ link veth0 master none -> br0
~ link veth0 up false -> true
~ link br0 up false -> true
`, red.Name)
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("first run prints (-want +got):\n%s", d)
	}
	b, r := exampleLinks(t, blue), exampleLinks(t, red)
	v := b["veth0"]
	if v.Linkinfo.InfoKind != "veth" || v.Master != "br0" || !up(v) || !up(b["br0"]) {
		t.Errorf("blue after Apply: veth0 %+v, br0 %+v", v, b["br0"])
	}
	if !strings.Contains(strings.Join(v.Altnames, " "), "netprim.veth0") {
		t.Errorf("veth0 altnames %q lack the marker", v.Altnames)
	}
	if r["eth0"].Linkinfo.InfoKind != "veth" {
		t.Errorf("red after Apply: no veth eth0 in %+v", r)
	}
	out.Reset()
	if err := applyLinks(t.Context(), &out, blue.Namespace, red.Name); err != nil || out.String() != "no changes\n" {
		t.Errorf("second run: %v, printed %q, want \"no changes\"", err, out.String())
	}
}

func TestExampleList(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
	var out strings.Builder
	if err := printLinks(t.Context(), &out, n.Namespace); err != nil {
		t.Fatal(err)
	}
	// As ExampleList's comment says.
	want := `1 lo kind "" mtu 65536 unknown driver "" speed 0
2 vb kind "veth" mtu 1500 down driver "veth" speed 10000
3 va kind "veth" mtu 1500 down driver "veth" speed 10000
`
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("printLinks (-want +got):\n%s", d)
	}
	var ip []struct {
		Ifindex int    `json:"ifindex"`
		Ifname  string `json:"ifname"`
	}
	n.IPJSON(t, &ip, "link", "show")
	var ipLines []string
	for _, l := range ip {
		ipLines = append(ipLines, fmt.Sprintf("%d %s", l.Ifindex, l.Ifname))
	}
	if d := cmp.Diff([]string{"1 lo", "2 vb", "3 va"}, ipLines); d != "" {
		t.Errorf("ip link show (-want +got):\n%s", d)
	}
}

func TestExampleWatch(t *testing.T) {
	n := nstest.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := watchLinks(ctx, pw, n.Namespace)
		pw.Close()
		done <- err
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		for range lines {
		}
	})
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("watchLinks stopped: %v", <-done)
			}
			return l
		case <-time.After(watchtest.Hang):
			t.Fatalf("watchLinks printed nothing for %v", watchtest.Hang)
		}
		return ""
	}
	// As ExampleWatch's comment says.
	if l := next(); l != "links: lo" {
		t.Fatalf("first line %q, want the list", l)
	}
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	if l := next(); l != "+ link br0" {
		t.Fatalf("line %q, want + link br0", l)
	}
	cancel()
	for range lines {
	}
	if err := <-done; err != nil {
		t.Errorf("watchLinks after ctx ended: %v", err)
	}
}
