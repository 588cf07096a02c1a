//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// fwMachine gives the node two subnets on eth0; the peer has an
// address in each.
const fwMachine = `version: v1alpha1
machine:
  network:
    interfaces:
      - interface: eth0
        addresses:
          - 10.1.0.1/24
          - 10.2.0.1/24
`

// fwBlockDocs block ingress and accept TCP 8080 from 10.1.0.0/24 only.
const fwBlockDocs = `---
apiVersion: v1alpha1
kind: NetworkDefaultActionConfig
ingress: block
---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: web-ingress
portSelector:
  ports:
    - 8080
  protocol: tcp
ingress:
  - subnet: 10.1.0.0/24
`

// TestFirewall runs netd with Talos' ingress firewall documents (default
// block, a rule accepting TCP 8080 from the peer's subnet 10.1.0.0/24)
// and TCP listeners on ports 8080 and 9090 inside netd's namespace. From
// the peer, 8080 connects from 10.1.0.2 and not from its other address
// 10.2.0.2; 9090 does not connect; nft(8) shows netd's table with the
// rule and the drop policy. After SIGHUP with the firewall documents
// removed, 9090 connects and the connection to 8080 opened before the
// reload still carries data.
func TestFirewall(t *testing.T) {
	needRoot(t)
	node, peer := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", peer, "eth0")
	peer.Run(t, "ip", "addr", "add", "10.1.0.2/24", "dev", "eth0")
	peer.Run(t, "ip", "addr", "add", "10.2.0.2/24", "dev", "eth0")
	for _, port := range []int{8080, 9090} {
		echoServer(t, node, port)
	}
	cfg := writeConfig(t, fwMachine+fwBlockDocs)
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
	p.waitLine("netd: keeping", 30*time.Second)

	kept, err := dialFrom(peer, "10.1.0.2", "10.1.0.1:8080", 5*time.Second)
	if err != nil {
		t.Fatalf("8080 from 10.1.0.2 (allowed): %v", err)
	}
	defer kept.Close()
	echo(t, kept, "before the reload")
	for _, d := range []struct{ src, dst string }{
		{"10.1.0.2", "10.1.0.1:9090"}, // no rule for the port
		{"10.2.0.2", "10.2.0.1:8080"}, // the rule's port from outside its subnet
	} {
		if c, err := dialFrom(peer, d.src, d.dst, time.Second); err == nil {
			c.Close()
			t.Errorf("%s from %s connected through the block", d.dst, d.src)
		} else if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			t.Errorf("%s from %s: %v, want a timeout (dropped)", d.dst, d.src, err)
		}
	}
	rs := nftRuleset(t, node)
	if rs.policy != "drop" {
		t.Errorf("nft: chain input of table inet netprim has policy %q, want drop\n%s", rs.policy, rs.raw)
	}
	if r := rs.rule("web-ingress"); r == "" || !strings.Contains(r, "8080") || !strings.Contains(r, "10.1.0.0") {
		t.Errorf("nft: no rule web-ingress accepting 8080 from 10.1.0.0/24:\n%s", rs.raw)
	}

	// SIGHUP without the firewall documents opens the firewall.
	rewrite(t, cfg, fwMachine)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine("netd: reloaded", 10*time.Second)
	nstest.Eventually(t, 10*time.Second, func() error {
		c, err := dialFrom(peer, "10.1.0.2", "10.1.0.1:9090", 500*time.Millisecond)
		if err != nil {
			return fmt.Errorf("9090 after the reload: %w", err)
		}
		c.Close()
		return nil
	})
	echo(t, kept, "after the reload")
	if rs := nftRuleset(t, node); rs.policy != "accept" || rs.rule("web-ingress") != "" {
		t.Errorf("nft after the reload: policy %q, web-ingress %q; want accept and no rule\n%s", rs.policy, rs.rule("web-ingress"), rs.raw)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit status %d\n%s", code, p.stderr())
	}
}

// echoServer listens on TCP port in n (the socket opened inside the
// namespace) and echoes every line; closed when the test ends.
func echoServer(t testing.TB, n *nstest.NS, port int) {
	t.Helper()
	var l net.Listener
	if err := n.Do(func() error {
		var err error
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// dialFrom opens a TCP connection from src to dst inside n.
func dialFrom(n *nstest.NS, src, dst string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		var err error
		c, err = d.Dial("tcp", dst)
		return err
	})
	return c, err
}

// echo sends a line over c and wants it back.
func echo(t testing.TB, c net.Conn, line string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, line); err != nil {
		t.Fatalf("write %s: %v", c.RemoteAddr(), err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("echo from %s: %q, %v; want %q", c.RemoteAddr(), got, err, line)
	}
}

// nftTable is what "nft -j list ruleset" shows of table inet netprim.
type nftTable struct {
	raw    string
	policy string            // of chain input
	rules  map[string]string // comment -> the rule's JSON
}

// rule returns the JSON of the rules whose comment is name or starts
// with name and a slash (the per-family rules), joined.
func (r nftTable) rule(name string) string {
	var out []string
	for c, j := range r.rules {
		if c == name || strings.HasPrefix(c, name+"/") || strings.HasPrefix(c, name+" ") {
			out = append(out, j)
		}
	}
	return strings.Join(out, "\n")
}

func nftRuleset(t testing.TB, n *nstest.NS) nftTable {
	t.Helper()
	raw := n.Run(t, "nft", "-j", "list", "ruleset")
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, raw)
	}
	rs := nftTable{raw: string(raw), rules: map[string]string{}}
	table := false
	for _, o := range doc.Nftables {
		var v struct {
			Family, Table, Name, Hook, Policy, Comment string
		}
		switch {
		case o["table"] != nil:
			json.Unmarshal(o["table"], &v)
			table = table || v.Family == "inet" && v.Name == "netprim"
		case o["chain"] != nil:
			json.Unmarshal(o["chain"], &v)
			if v.Family == "inet" && v.Table == "netprim" && v.Name == "input" {
				rs.policy = v.Policy
			}
		case o["rule"] != nil:
			json.Unmarshal(o["rule"], &v)
			if v.Family == "inet" && v.Table == "netprim" {
				rs.rules[v.Comment] += string(o["rule"])
			}
		}
	}
	if !table {
		t.Fatalf("nft: no table inet netprim:\n%s", raw)
	}
	return rs
}
