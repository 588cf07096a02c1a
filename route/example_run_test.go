package route_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim/nstest"
)

// The examples that change the kernel need CAP_NET_ADMIN, so they carry no
// Output comment; these tests run them in a throwaway namespace and check
// what they print, as go test checks an Output comment.

// exampleNS returns a namespace set up as the examples expect "blue": a
// veth pair veth0/veth1, both up, with 192.0.2.10/24 on veth0.
func exampleNS(t *testing.T) *nstest.NS {
	t.Helper()
	n := nstest.New(t)
	// No IPv6 link-local addresses: the routes of one would appear only
	// when duplicate address detection ends, as events in ExampleWatch,
	// which prints the first event it sees.
	err := n.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/default/addr_gen_mode", []byte("1\n"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(t, "ip", "link", "set", "veth1", "up")
	n.Run(t, "ip", "link", "set", "veth0", "up")
	n.Run(t, "ip", "addr", "add", "192.0.2.10/24", "dev", "veth0")
	// IPv6 starts on the links (their multicast routes) once the kernel
	// has seen them come up, also without link-local addresses.
	nstest.Settle(t, n)
	return n
}

// runExample runs example with blue naming n and returns its output.
func runExample(t *testing.T, n *nstest.NS, example func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	name, stdout := blue, os.Stdout
	blue, os.Stdout = n.Name, w
	func() {
		defer func() { blue, os.Stdout = name, stdout }()
		example()
	}()
	w.Close()
	return <-out
}

func checkOutput(t *testing.T, got string, want ...string) {
	t.Helper()
	if d := cmp.Diff(want, strings.Split(strings.TrimSuffix(got, "\n"), "\n")); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestExampleApply(t *testing.T) {
	n := exampleNS(t)
	// A route of ours from an earlier Apply, and a foreign one in table
	// 100, which the example owns.
	n.Run(t, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1", "proto", "78")
	n.Run(t, "ip", "route", "add", "10.0.0.0/8", "via", "192.0.2.1", "table", "100", "proto", "static")
	checkOutput(t, runExample(t, n, ExampleApply),
		"+ route 198.51.100.0/24 via 192.0.2.1 dev veth0",
		"+ route 0.0.0.0/0 via 192.0.2.1 table 100",
		"- route 10.0.0.0/8 via 192.0.2.1 dev veth0 table 100 (proto static, in owned table 100)",
		"- route 203.0.113.0/24 via 192.0.2.1 dev veth0",
		"no changes",
	)
	var routes []struct {
		Dst, Gateway, Dev, Protocol, Prefsrc string
	}
	n.IPJSON(t, &routes, "-4", "route", "show", "table", "all", "type", "unicast")
	var got []string
	for _, r := range routes {
		got = append(got, strings.Join([]string{r.Dst, r.Gateway, r.Dev, r.Protocol, r.Prefsrc}, " "))
	}
	want := []string{
		"default 192.0.2.1 veth0 78 ",
		"192.0.2.0/24  veth0 kernel 192.0.2.10",
		"198.51.100.0/24 192.0.2.1 veth0 78 ",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ip -j route (-want +got):\n%s", d)
	}
}

func TestExampleApplyRules(t *testing.T) {
	n := exampleNS(t)
	n.Run(t, "ip", "rule", "add", "priority", "200", "lookup", "200", "protocol", "78")
	checkOutput(t, runExample(t, n, ExampleApplyRules),
		"+ rule 100: not from all fwmark 0xca6c lookup 51820",
		"- rule 200: from all lookup 200",
	)
	var rules []struct {
		Priority int
		Fwmark   string
		Table    string
		Protocol string
	}
	n.IPJSON(t, &rules, "-4", "rule", "show")
	var ours []string
	for _, r := range rules {
		if r.Protocol == "78" {
			ours = append(ours, fmt.Sprint(r.Priority, " ", r.Fwmark, " ", r.Table))
		}
	}
	if d := cmp.Diff([]string{"100 0xca6c 51820"}, ours); d != "" {
		t.Errorf("ip -j rule (-want +got):\n%s", d)
	}
}

func TestExampleWatch(t *testing.T) {
	n := exampleNS(t)
	checkOutput(t, runExample(t, n, ExampleWatch), "+ route blackhole 203.0.113.0/24")
}
