// This example configures links the way a daemon does at start and on every
// change of its configuration: Apply makes the namespace's links match the
// wanted ones and reports what it changed; with the same input again it
// changes nothing. TestExampleApply runs it in throwaway namespaces.
package link_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// applyLinks gives ns a veth pair whose other end, eth0, lives in the
// namespace named peerNetns, puts the local end in the bridge br0 and
// brings both up, and writes what it changed to w. br0 was made by someone
// else: Apply manages its attributes but never deletes it. WithPrune
// deletes links an earlier Apply created that are no longer wanted.
func applyLinks(ctx context.Context, w io.Writer, ns *netprim.Namespace, peerNetns string) error {
	want := []link.Spec{
		{Name: "veth0", Kind: "veth", Veth: &link.Veth{Peer: "eth0", PeerNetns: peerNetns}, Master: new("br0"), Up: new(true)},
		{Name: "br0", Up: new(true)},
	}
	changed, err := link.Apply(ctx, ns, want, netprim.WithPrune())
	fmt.Fprintln(w, changed) // what was done, even on error
	return err
}

// Apply in the namespace "blue", with the peer in "red" (both made by "ip
// netns add", and br0 by "ip -n blue link add br0 type bridge"). It prints:
//
//	# the first run
//	+ link veth0 (veth peer eth0 netns red)
//	~ link veth0 master none -> br0
//	~ link veth0 up false -> true
//	~ link br0 up false -> true
//	# every later run
//	no changes
func ExampleApply() {
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	if err := applyLinks(context.Background(), os.Stdout, ns, "red"); err != nil {
		log.Fatal(err)
	}
}
