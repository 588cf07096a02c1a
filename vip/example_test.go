package vip_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/vip"
	vipetcd "github.com/netprim/netprim/vip/etcd"
)

// Example shares 192.0.2.50 on eth0 among the nodes of an etcd cluster:
// each node runs the same code with its own identity.
func Example() {
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://192.0.2.10:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	el, err := vipetcd.New(cli, "/vip/192.0.2.50", "node-1", vipetcd.Options{TTL: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := vip.New(nil, vip.Config{Address: netip.MustParseAddr("192.0.2.50"), Link: "eth0"}, el,
		vip.WithEvents(func(e vip.Event) { fmt.Println(e) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Run returns when ctx ends, after removing the address and resigning.
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
	}
}

// ExampleConfig_Validate shows the static checks of a configuration.
func ExampleConfig_Validate() {
	for _, c := range []vip.Config{
		{Address: netip.MustParseAddr("192.0.2.50"), Link: "eth0"},
		{Address: netip.MustParseAddr("224.0.0.18"), Link: "eth0"},
		{Address: netip.MustParseAddr("192.0.2.50")},
	} {
		fmt.Println(c.Validate())
	}
	// Output:
	// <nil>
	// vip: address: 224.0.0.18 is not a unicast address a node can share: invalid spec
	// vip: link: missing: invalid spec
}

// ExampleEvent_String shows the one-line form of events.
func ExampleEvent_String() {
	fmt.Println(vip.Event{Kind: vip.Acquired, Address: netip.MustParseAddr("10.0.0.50")})
	fmt.Println(vip.Event{Kind: vip.Released, Address: netip.MustParseAddr("10.0.0.50"), Reason: "link eth0 is down"})
	// Output:
	// vip 10.0.0.50: acquired
	// vip 10.0.0.50: released (link eth0 is down)
}
