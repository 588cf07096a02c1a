// This example prints the links of a namespace with the facts only ethtool
// knows. TestExampleList runs it in a throwaway namespace.
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

// printLinks writes every link of ns (nil: the caller's namespace) to w
// with its driver and speed, which List reads with ethtool ioctls made
// inside ns.
func printLinks(ctx context.Context, w io.Writer, ns *netprim.Namespace) error {
	links, err := link.List(ctx, ns)
	if err != nil {
		return err
	}
	for _, l := range links {
		fmt.Fprintf(w, "%d %s kind %q mtu %d %s driver %q speed %d\n",
			l.Index, l.Name, l.Kind, l.MTU, l.OperState, l.Driver, l.Speed)
	}
	return nil
}

// List the links of the caller's namespace. In a namespace holding a
// veth pair that is down, it prints
//
//	1 lo kind "" mtu 65536 unknown driver "" speed 0
//	2 vb kind "veth" mtu 1500 down driver "veth" speed 10000
//	3 va kind "veth" mtu 1500 down driver "veth" speed 10000
func ExampleList() {
	if err := printLinks(context.Background(), os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}
