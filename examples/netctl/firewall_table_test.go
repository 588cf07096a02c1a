package main

import (
	"strings"
	"testing"
)

// TestGetFirewallTable: get firewall --table reads a table other than the
// default one, as a document's firewall.table names it.
func TestGetFirewallTable(t *testing.T) {
	n := named(t)
	if _, err := n.Exec("nft", "add", "table", "inet", "probe"); err != nil {
		t.Skipf("kernel lacks nftables inet tables (the kernel tier has none; firewall runs on the host tier): %v", err)
	}
	n.Run(t, "nft", "delete", "table", "inet", "probe")
	doc := "firewall:\n  table: edge\n  defaultAction: block\n  rules:\n    - {name: ssh-in, protocol: tcp, ports: [\"22\"], action: accept}\n"
	if out, stderr, code := netctl(t, doc, "apply", "-f", "-", "--netns", n.Name); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	n.Run(t, "nft", "list", "table", "inet", "edge")
	out, stderr, code := netctl(t, "", "get", "firewall", "--table", "edge", "--netns", n.Name)
	if code != 0 || !strings.Contains(out, "ssh-in") || !strings.Contains(out, "safety:established") {
		t.Errorf("get firewall --table edge: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, stderr, code := netctl(t, "", "get", "firewall", "--netns", n.Name); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("get firewall (default table, absent): exit %d: %s", code, stderr)
	}
}
