package dhcp_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/reconcile"
)

// blue names the namespace the examples work in ("ip netns add blue"); the
// tests point it at a throwaway one with a DHCP server on the other end of
// eth0's veth pair.
var (
	blue = "blue"
	eth0 = "eth0"
)

// A DHCP client as a source of a Reconciler: every lease event sets the
// source to the objects the lease implies (the address, ending when the
// lease does, routes, MTU, resolv.conf); a renewal sets the new end, which
// the Reconciler writes to the kernel in place; a lease that ends
// withdraws them. The Reconciler applies them and keeps them applied.
func Example() {
	ns, err := netprim.OpenNamespace(blue)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	r, err := reconcile.New(ns, reconcile.WithRoot(exampleRoot))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	src, _ := r.AddSource("dhcp:"+eth0, 20)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		log.Fatal(err)
	}
	c, err := dhcp.NewClient(ns, dhcp.Config{
		Link:      eth0,
		LeaseFile: exampleRoot + "/dhcp-" + eth0 + ".json", // INIT-REBOOT after a restart
		Release:   true,                                    // DHCPRELEASE when stopped
		Specs:     dhcp.SpecOptions{RouteMetric: 100},
		OnEvent: func(e dhcp.Event) {
			switch e.Kind {
			case dhcp.EventBound, dhcp.EventRenewed, dhcp.EventChanged:
				src.Set(reconcile.State{
					Links:     reconcile.Links(e.Specs.Links...),
					Addresses: e.Specs.Addresses,
					Routes:    e.Specs.Routes,
					Resolvers: e.Specs.Resolvers,
				})
			case dhcp.EventExpired, dhcp.EventReleased, dhcp.EventDeclined:
				src.Clear()
			}
			if e.Lease != nil {
				fmt.Println(e.Kind, e.Lease.Address, "via", e.Lease.Routers)
			} else {
				fmt.Println(e.Kind, e.Err)
			}
			if e.Kind == dhcp.EventBound {
				cancel() // an example: stop once bound (a daemon runs on)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// exampleRoot is where the examples write resolv.conf and the lease.
var exampleRoot = "/run/netprim-example"

// What a lease implies: the classless static routes (option 121) replace
// the router option, and a gateway outside the subnet gets an on-link
// route of its own. Options that cannot be used are dropped and named.
func ExampleLease_Specs() {
	ack, _ := dhcpv4.New(
		dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
		dhcpv4.WithYourIP(net.ParseIP("192.0.2.10")),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP("192.0.2.1"))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(time.Hour)),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.ParseIP("192.0.2.1"))),
		dhcpv4.WithOption(dhcpv4.OptClasslessStaticRoute(
			&dhcpv4.Route{Dest: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, Router: net.ParseIP("192.0.2.1")},
			&dhcpv4.Route{Dest: &net.IPNet{IP: net.ParseIP("198.51.100.0"), Mask: net.CIDRMask(24, 32)}, Router: net.ParseIP("203.0.113.1")},
		)),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.ParseIP("192.0.2.53"))),
		dhcpv4.WithGeneric(dhcpv4.OptionInterfaceMTU, []byte{0, 20}), // below 576
	)
	lease, dropped, err := dhcp.ParseAck("eth0", ack, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dropped)
	s := lease.Specs(dhcp.SpecOptions{RouteMetric: 100})
	for _, a := range s.Addresses {
		// The address ends with the lease.
		fmt.Println(a.Address, a.ValidUntil.Sub(lease.BoundAt), a.ValidUntil.Equal(lease.Expiry()))
	}
	for _, r := range s.Routes {
		fmt.Println(r.Destination, r.Gateway, r.OnLink)
	}
	fmt.Println(s.Resolvers.Nameservers, len(s.Links))
	// Output:
	// [dhcp: option 26 (interface MTU): invalid spec: 20 is below the minimum 576 every host must accept (RFC 791)]
	// 192.0.2.10/24 1h0m0s true
	// 0.0.0.0/0 192.0.2.1 false
	// 203.0.113.1/32 invalid IP false
	// 198.51.100.0/24 203.0.113.1 true
	// [192.0.2.53] 0
}
