// Command quickstart shows netprim end to end without touching the host's
// network: it makes two throwaway network namespaces joined by a veth pair,
// applies a document (links up, IPv4 and IPv6 addresses, a route), prints
// the plan, applies again to show "no changes", pings across both ways,
// prints what the kernel reports, and removes everything.
//
// Run it as root: sudo go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/internal/document"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		if errors.Is(err, netprim.ErrPermission) {
			fmt.Fprintln(os.Stderr, "quickstart: run it as root: sudo go run ./examples/quickstart")
		}
		os.Exit(1)
	}
}

func up() *bool { t := true; return &t }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func run(ctx context.Context) error {
	// Two namespaces that exist only while this program holds them.
	red, err := netprim.NewNamespace()
	if err != nil {
		return err
	}
	defer red.Close()
	blue, err := netprim.NewNamespace()
	if err != nil {
		return err
	}
	defer blue.Close()
	fmt.Printf("namespaces: red %s, blue %s\n\n", red.Path(), blue.Path())

	// red: creates the veth pair, putting its peer into blue.
	redDoc := document.Document{
		Links: document.Links(
			link.Spec{Name: "lo", Up: up()},
			link.Spec{Name: "red0", Kind: "veth", Veth: &link.Veth{Peer: "blue0", PeerNetns: blue.Path()}, MTU: 1400, Up: up()},
		),
		Addresses: []addr.Spec{
			{Link: "red0", Address: pfx("192.0.2.1/24")},
			{Link: "red0", Address: pfx("2001:db8::1/64"), Flags: []string{"nodad"}},
			{Link: "lo", Address: pfx("198.51.100.1/32")},
		},
	}
	// blue: configures its end, and reaches red's loopback address through
	// a route.
	blueDoc := document.Document{
		Links: document.Links(
			link.Spec{Name: "lo", Up: up()},
			link.Spec{Name: "blue0", MTU: 1400, Up: up()},
		),
		Addresses: []addr.Spec{
			{Link: "blue0", Address: pfx("192.0.2.2/24")},
			{Link: "blue0", Address: pfx("2001:db8::2/64"), Flags: []string{"nodad"}},
		},
		Routes: []route.Spec{
			{Destination: pfx("198.51.100.1/32"), Gateway: ip("192.0.2.1"), Metric: 100},
		},
	}

	for _, step := range []struct {
		name string
		ns   *netprim.Namespace
		doc  document.Document
	}{{"red", red, redDoc}, {"blue", blue, blueDoc}} {
		p, err := document.Plan(ctx, step.ns, step.doc)
		if err != nil {
			return fmt.Errorf("plan %s: %w", step.name, err)
		}
		fmt.Printf("plan for %s:\n%s\n\n", step.name, indent(p.String()))
		p, err = document.Apply(ctx, step.ns, step.doc)
		if err != nil {
			return fmt.Errorf("apply %s: %w", step.name, err)
		}
		fmt.Printf("applied to %s:\n%s\n\n", step.name, indent(p.String()))
	}
	for _, step := range []struct {
		name string
		ns   *netprim.Namespace
		doc  document.Document
	}{{"red", red, redDoc}, {"blue", blue, blueDoc}} {
		p, err := document.Apply(ctx, step.ns, step.doc)
		if err != nil {
			return fmt.Errorf("apply %s again: %w", step.name, err)
		}
		fmt.Printf("applied to %s again: %s\n", step.name, p)
	}
	fmt.Println()

	for _, probe := range []struct {
		from *netprim.Namespace
		name string
		dst  netip.Addr
	}{
		{blue, "blue", ip("192.0.2.1")},
		{blue, "blue", ip("2001:db8::1")},
		{blue, "blue", ip("198.51.100.1")}, // through the route
		{red, "red", ip("192.0.2.2")},
	} {
		rtt, err := ping(probe.from, probe.dst, 2*time.Second)
		if err != nil {
			return fmt.Errorf("ping from %s: %w", probe.name, err)
		}
		fmt.Printf("ping from %s to %s: reply in %v\n", probe.name, probe.dst, rtt.Round(time.Microsecond))
	}
	fmt.Println()

	ls, err := link.List(ctx, blue, link.WithoutEthtool())
	if err != nil {
		return err
	}
	fmt.Println("blue links:")
	for _, l := range ls {
		fmt.Printf("  %-6s %-5s mtu %-5d %s\n", l.Name, l.OperState, l.MTU, l.HardwareAddr)
	}
	as, err := addr.List(ctx, blue)
	if err != nil {
		return err
	}
	fmt.Println("blue addresses:")
	for _, a := range as {
		fmt.Printf("  %s\n", a)
	}
	rs, err := route.List(ctx, blue)
	if err != nil {
		return err
	}
	fmt.Println("blue routes:")
	for _, r := range rs {
		if r.Table == 254 {
			fmt.Printf("  %s\n", r)
		}
	}
	fmt.Println()

	// Removing everything: an empty document with prune deletes what the
	// quickstart owns (the veth pair, and with it both ends); closing the
	// namespaces frees them.
	p, err := document.Apply(ctx, red, document.Document{}, netprim.WithPrune())
	if err != nil {
		return fmt.Errorf("clean up: %w", err)
	}
	fmt.Printf("cleaned up red:\n%s\n", indent(p.String()))
	fmt.Println("namespaces closed; nothing of the host was touched")
	return nil
}

func indent(s string) string {
	out := "  "
	for _, c := range s {
		out += string(c)
		if c == '\n' {
			out += "  "
		}
	}
	return out
}
