package nstest

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
)

// Veth creates a veth pair, end aName in a and end bName in b, and sets both
// ends up. a and b may be the same namespace. The pair goes away with the
// first of the two namespaces to be removed; Veth never touches the
// namespace the test runs in, so a and b must come from New.
func Veth(t testing.TB, a *NS, aName string, b *NS, bName string) {
	t.Helper()
	if a == nil || b == nil || a.Namespace == nil || b.Namespace == nil {
		t.Fatal("nstest: Veth needs two namespaces from nstest.New")
	}
	ha, err := handle(a.Namespace)
	if err != nil {
		t.Fatalf("nstest: veth %s/%s: %v", aName, bName, err)
	}
	defer ha.Close()
	link := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: aName, Flags: net.FlagUp},
		PeerName:  bName,
	}
	if b.Namespace != a.Namespace {
		link.PeerNamespace = netlink.NsFd(b.FD())
	}
	if err := ha.LinkAdd(link); err != nil {
		t.Fatalf("nstest: add veth %s (in %s) peer %s (in %s): %v", aName, a.Name, bName, b.Name, err)
	}
	hb := ha
	if b.Namespace != a.Namespace {
		if hb, err = handle(b.Namespace); err != nil {
			t.Fatalf("nstest: veth %s/%s: %v", aName, bName, err)
		}
		defer hb.Close()
	}
	peer, err := hb.LinkByName(bName)
	if err != nil {
		t.Fatalf("nstest: veth peer %s in %s: %v", bName, b.Name, err)
	}
	if err := hb.LinkSetUp(peer); err != nil {
		t.Fatalf("nstest: set %s up in %s: %v", bName, b.Name, err)
	}
}
