//go:build linux

package addr

import (
	"context"
	"net/netip"
	"testing"

	"github.com/netprim/netprim"
)

// TestRemove deletes exactly the named addresses of the owner: another
// address of the same owner, an address of another owner and one added by
// ip(8) stay, and an absent address is no error.
func TestRemove(t *testing.T) {
	n := vethNS(t)
	ctx := context.Background()
	mine := []Spec{
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.50/32")},
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.51/32")},
	}
	if _, err := Apply(ctx, n.Namespace, mine); err != nil {
		t.Fatal(err)
	}
	other := netprim.Owner{ID: 200, Name: "other"}
	if _, err := Apply(ctx, n.Namespace, []Spec{{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.52/32")}}, netprim.WithOwner(other)); err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "addr", "add", "192.0.2.53/32", "dev", "veth0")

	gone := []Spec{
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.50/32")},
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.52/32")}, // other owner's
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.53/32")}, // unowned
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.54/32")}, // absent
		{Link: "nosuch0", Address: netip.MustParsePrefix("192.0.2.55/32")},
	}
	p, err := Remove(ctx, n.Namespace, gone)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].Action != netprim.Delete {
		t.Fatalf("changes %v, want one delete", p.Changes)
	}
	have := ipAddrs(t, n)
	for local, want := range map[string]bool{"192.0.2.50": false, "192.0.2.51": true, "192.0.2.52": true, "192.0.2.53": true} {
		if _, ok := have["veth0 "+local]; ok != want {
			t.Errorf("ip -j address: veth0 %s present %v, want %v", local, ok, want)
		}
	}
	// A second Remove finds nothing to do.
	if p, err := Remove(ctx, n.Namespace, gone); err != nil || len(p.Changes) != 0 {
		t.Fatalf("second Remove: %v, %v", p.Changes, err)
	}
	if _, err := Remove(ctx, n.Namespace, []Spec{{Link: "veth0"}}); err == nil {
		t.Error("Remove without an address: no error")
	}
}
