package bond

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// TestFailover runs traffic through an active-backup bond of two veths
// whose peers are bridged in another namespace, takes the active member
// down, and checks that the bond fails over (seen by List and by ip) and
// that traffic still flows.
func TestFailover(t *testing.T) {
	nstest.RequireModules(t, "bonding", "veth", "bridge")
	ctx := context.Background()
	a, b := nstest.New(t), nstest.New(t)
	nstest.Veth(t, a, "a0", b, "b0")
	nstest.Veth(t, a, "a1", b, "b1")
	b.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	b.Run(t, "ip", "link", "set", "b0", "master", "br0")
	b.Run(t, "ip", "link", "set", "b1", "master", "br0")
	b.Run(t, "ip", "link", "set", "br0", "up")
	b.Run(t, "ip", "addr", "add", "10.9.0.2/24", "dev", "br0")

	mustApply(t, a.Namespace, []Spec{{Name: "bond0", Mode: "active-backup", Members: []string{"a0", "a1"},
		Up: ptr(true), Miimon: 50}})
	a.Run(t, "ip", "addr", "add", "10.9.0.1/24", "dev", "bond0")
	ping := func() error {
		out, err := a.Exec("ping", "-c", "1", "-W", "1", "10.9.0.2")
		if err != nil {
			return fmt.Errorf("ping 10.9.0.2: %v: %s", err, out)
		}
		return nil
	}
	nstest.Eventually(t, 20*time.Second, ping)

	// active returns the active member as List and ip report it; they
	// must agree.
	active := func() (string, error) {
		st, err := List(ctx, a.Namespace)
		if err != nil || len(st) != 1 {
			return "", fmt.Errorf("List: %v, %d bonds", err, len(st))
		}
		ipActive := fmt.Sprint(ipLinks(t, a)["bond0"].Linkinfo.InfoData["active_slave"])
		if st[0].ActiveMember != ipActive {
			return "", fmt.Errorf("List says active member %q, ip says %q", st[0].ActiveMember, ipActive)
		}
		return st[0].ActiveMember, nil
	}
	first, err := active()
	if err != nil {
		t.Fatal(err)
	}
	if first != "a0" && first != "a1" {
		t.Fatalf("active member %q, want a0 or a1", first)
	}
	a.Run(t, "ip", "link", "set", first, "down")
	nstest.Eventually(t, 10*time.Second, func() error {
		now, err := active()
		if err != nil {
			return err
		}
		if now == first || now == "" {
			return fmt.Errorf("active member still %q after taking %s down", now, first)
		}
		return nil
	})
	st, err := List(ctx, a.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st[0].MemberStatus {
		switch {
		case m.Name == first && (m.MIIStatus != "down" || m.State != "backup" || m.Up):
			t.Errorf("member %s: MII %s, state %s, up %v; want down, backup, not up", m.Name, m.MIIStatus, m.State, m.Up)
		case m.Name != first && (m.MIIStatus != "up" || m.State != "active"):
			t.Errorf("member %s: MII %s, state %s; want up, active", m.Name, m.MIIStatus, m.State)
		}
	}
	slave := ipLinks(t, a)[first].Linkinfo.InfoSlaveData
	if slave["mii_status"] != "DOWN" {
		t.Errorf("ip: %s info_slave_data %v, want mii_status DOWN", first, slave)
	}
	nstest.Eventually(t, 20*time.Second, ping)
}
