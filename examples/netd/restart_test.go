//go:build linux

package main

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// TestRestartKeepsLease: a lease kept by SIGTERM survives netd's restart
// while the DHCP server is gone: the first pass of the new run does not
// prune the leased address (the DHCP source is made before it and holds
// pruning back until the client has taken the lease up again from its
// lease file).
func TestRestartKeepsLease(t *testing.T) {
	node, dm := startLab(t)
	cfg := writeConfig(t, "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n      - interface: eth0\n        dhcp: true\n")
	root := t.TempDir()
	args := []string{"--netns", node.Name, "--root", root, "-f", cfg}

	p := startNetd(t, args...)
	leased := leasedAddr(t, p.waitLine("dhcp eth0: bound", 30*time.Second))
	nstest.Eventually(t, 10*time.Second, func() error {
		if _, ok := findAddr(globalAddrs(t, node, "eth0"), leased); !ok {
			return errors.New("leased address not on eth0")
		}
		return nil
	})
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
	// The server goes away: the new run cannot renew at once.
	syscall.Kill(dm.cmd.Process.Pid, syscall.SIGTERM)
	<-dm.done

	p = startNetd(t, args...)
	p.waitLine("netd: keeping", 30*time.Second)
	if strings.Contains(p.stdout(), "- address "+leased) {
		t.Fatalf("the restart's first pass removed the kept lease:\n%s", p.stdout())
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := findAddr(globalAddrs(t, node, "eth0"), leased); !ok {
			t.Fatalf("leased %s gone from eth0 %v after the restart without a server:\n%s", leased,
				time.Until(deadline)+3*time.Second, p.stdout())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit status %d", code)
	}
}
