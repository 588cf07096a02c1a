// Command quickstart shows netprim end to end without touching the host's
// network: it makes two throwaway network namespaces joined by a veth pair,
// gives each a reconcile.Reconciler with one source (links up, IPv4 and
// IPv6 addresses, a route), prints the plan, applies, applies again to show
// "no changes", pings across both ways, lets blue's Reconciler repair an
// MTU changed behind its back, prints what the kernel reports, and removes
// everything.
//
// Run it as root: sudo go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
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
	redDoc := reconcile.State{
		Links: reconcile.Links(
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
	blueDoc := reconcile.State{
		Links: reconcile.Links(
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

	// One Reconciler per namespace, each with one source: the state
	// above. A daemon would add more sources (DHCP, a shared IP) and call
	// Start to keep the kernel converged.
	type node struct {
		name string
		ns   *netprim.Namespace
		r    *reconcile.Reconciler
		src  *reconcile.Source
	}
	var nodes []node
	repaired := make(chan reconcile.Pass, 1) // blue's passes that changed something
	for _, n := range []struct {
		name string
		ns   *netprim.Namespace
		doc  reconcile.State
	}{{"red", red, redDoc}, {"blue", blue, blueDoc}} {
		var opts []reconcile.Option
		if n.ns == blue {
			opts = append(opts, reconcile.OnPass(func(p reconcile.Pass) {
				if !p.Changes.Empty() {
					select {
					case repaired <- p:
					default:
					}
				}
			}))
		}
		r, err := reconcile.New(n.ns, opts...)
		if err != nil {
			return err
		}
		defer r.Close()
		src, err := r.AddSource("quickstart", 0)
		if err != nil {
			return err
		}
		if err := src.Set(n.doc); err != nil {
			return err
		}
		nodes = append(nodes, node{n.name, n.ns, r, src})
	}
	for _, n := range nodes {
		p, err := n.r.Plan(ctx)
		if err != nil {
			return fmt.Errorf("plan %s: %w", n.name, err)
		}
		fmt.Printf("plan for %s:\n%s\n\n", n.name, indent(p.String()))
		p, err = n.r.Apply(ctx)
		if err != nil {
			return fmt.Errorf("apply %s: %w", n.name, err)
		}
		fmt.Printf("applied to %s:\n%s\n\n", n.name, indent(p.String()))
	}
	for _, n := range nodes {
		p, err := n.r.Apply(ctx)
		if err != nil {
			return fmt.Errorf("apply %s again: %w", n.name, err)
		}
		fmt.Printf("applied to %s again: %s\n", n.name, p)
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

	// Drift: blue's Reconciler runs in the background; someone else sets
	// blue0's MTU to 1500; the link event wakes the links stage, which
	// puts 1400 back.
	blueR := nodes[1].r
	for len(repaired) > 0 {
		<-repaired // the passes above
	}
	passes := blueR.Status().Passes
	if err := blueR.Start(ctx); err != nil {
		return err
	}
	// The Reconciler starts with a pass of its own; changing the MTU
	// right away is fine, but wait for that pass to keep the output tidy.
	for blueR.Status().Passes == passes {
		time.Sleep(5 * time.Millisecond)
	}
	changed := time.Now()
	if _, err := link.Apply(ctx, blue, []link.Spec{{Name: "blue0", MTU: 1500}}, netprim.WithOwner(netprim.Owner{ID: 99, Name: "someone"})); err != nil {
		return err
	}
	select {
	case p := <-repaired:
		fmt.Printf("someone set blue0's mtu to 1500; repaired after %v (%s):\n%s\n\n", time.Since(changed).Round(time.Microsecond),
			strings.Join(p.Why, ", "), indent(p.Changes.String()))
	case <-time.After(5 * time.Second):
		return errors.New("blue0's mtu was not repaired within 5s")
	}
	if err := blueR.Close(); err != nil { // stops the background loop
		return err
	}

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

	// Removing everything: with its source cleared, red's Reconciler
	// prunes what it owns (the veth pair, and with it both ends); closing
	// the namespaces frees them.
	nodes[0].src.Clear()
	p, err := nodes[0].r.Apply(ctx)
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
