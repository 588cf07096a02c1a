// This example follows the links of a namespace the way a controller does:
// subscribe, list, then apply each change, listing again whenever changes
// were lost. TestExampleWatch runs it in a throwaway namespace.
package link_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// watchLinks writes the names of the links of ns to w, then every change,
// until ctx ends. After a Resync (changes were lost) it lists the links
// again.
func watchLinks(ctx context.Context, w io.Writer, ns *netprim.Namespace) error {
	// Subscribe before listing, so that no change falls between the two.
	events, err := link.Watch(ctx, ns)
	if err != nil {
		return err
	}
	list := func() error {
		links, err := link.List(ctx, ns, link.WithoutEthtool())
		if err != nil {
			return err
		}
		fmt.Fprint(w, "links:")
		for _, l := range links {
			fmt.Fprint(w, " ", l.Name)
		}
		fmt.Fprintln(w)
		return nil
	}
	if err := list(); err != nil {
		return err
	}
	for ev := range events {
		if ev.Resync {
			if err := list(); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(w, ev) // "+ link veth0", "- link veth0"
	}
	if ctx.Err() != nil {
		return nil // asked to stop
	}
	return errors.New("the subscription was lost: watch again")
}

// Watch the links of the namespace "blue" (made by "ip netns add blue")
// until interrupted. After "ip -n blue link add br0 type bridge" it prints
//
//	links: lo
//	+ link br0
func ExampleWatch() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	if err := watchLinks(ctx, os.Stdout, ns); err != nil {
		log.Fatal(err)
	}
}
