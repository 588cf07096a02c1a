//go:build linux

package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// mtuLab is a node namespace whose eth0 faces dnsmasq leasing with MTU
// 1400 (option 26).
func mtuLab(t *testing.T) *nstest.NS {
	t.Helper()
	needRoot(t)
	srv, node := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", srv, "srv0")
	srv.Run(t, "ip", "addr", "add", labServerIP+"/24", "dev", "srv0")
	startDnsmasq(t, srv, "srv0", append(labDnsmasqOptions, "--dhcp-option=option:mtu,1400")...)
	return node
}

// TestLeaseMTU: a lease's MTU (option 26) is applied to an interface the
// configuration gives no MTU, and not to one it gives an MTU, as in Talos.
func TestLeaseMTU(t *testing.T) {
	for _, c := range []struct {
		name string
		mtu  string // the configuration's, "" for none
		want int
	}{
		{"lease", "", 1400},
		{"configuration", "        mtu: 1450\n", 1450},
	} {
		t.Run(c.name, func(t *testing.T) {
			node := mtuLab(t)
			cfg := writeConfig(t, "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n        dhcp: true\n"+c.mtu)
			p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
			p.waitLine("dhcp eth0: bound", 30*time.Second)
			nstest.Eventually(t, 10*time.Second, func() error {
				if m := mtu(t, node, "eth0"); m != c.want {
					return fmt.Errorf("eth0 mtu %d, want %d", m, c.want)
				}
				return nil
			})
			if code, _ := p.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("SIGTERM: exit status %d", code)
			}
		})
	}
}
