package reconcile_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"strings"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
)

// blue names the namespace the examples work in ("ip netns add blue"); the
// tests point it at a throwaway one.
var blue = "blue"

// A daemon with two sources: static configuration and a shared IP that an
// election (not shown) hands out. Each contributes its own objects; the
// Reconciler merges them, applies them, keeps them applied while it runs,
// and prunes only what neither wants any more.
func Example() {
	ns, err := netprim.OpenNamespace(blue)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	r, err := reconcile.New(ns, reconcile.WithResync(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	static, _ := r.AddSource("static", 10)
	vip, _ := r.AddSource("vip", 50)

	err = static.Set(reconcile.State{
		Links:     reconcile.Links(link.Spec{Name: "veth0", MTU: 1400}),
		Addresses: []addr.Spec{{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.10/24")}},
		Routes:    []route.Spec{{Destination: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := r.Apply(context.Background()) // one pass now; Start would keep it converged
	fmt.Println(p)
	if err != nil {
		log.Fatal(err)
	}
	// The election is won: the shared IP comes up. The static routes stay.
	vip.Set(reconcile.State{Addresses: []addr.Spec{{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.50/32")}}})
	p, _ = r.Apply(context.Background())
	fmt.Println(p)
	// It is lost: only the shared IP goes.
	vip.Clear()
	p, _ = r.Apply(context.Background())
	fmt.Println(p)
	for _, s := range r.Status().Sources {
		fmt.Println(s.Name, strings.Join(s.Objects, ", "))
	}
}

// Try a change and keep it only if the management address still answers;
// otherwise everything is put back as it was.
func ExampleSource_Try() {
	ns, err := netprim.OpenNamespace(blue)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	r, _ := reconcile.New(ns)
	defer r.Close()
	static, _ := r.AddSource("static", 10)
	next := reconcile.State{Links: reconcile.Links(link.Spec{Name: "veth0", MTU: 9000})}
	_, err = static.Try(context.Background(), next, 30*time.Second, func(ctx context.Context, applied netprim.Plan) error {
		fmt.Println(applied)
		return fmt.Errorf("the management address stopped answering") // a real check would probe
	})
	fmt.Println(err)
}

// Decode a document in the format netctl applies and validate it.
func ExampleDecode() {
	doc := `
links:
  - {name: eth0, mtu: 9000, up: true}
addresses:
  - {link: eth0, address: 192.0.2.10/24}
routes:
  - {destination: 0.0.0.0/0, gateway: 192.0.2.1, metric: 100}
`
	st, err := reconcile.Decode(strings.NewReader(doc))
	if err == nil {
		err = st.Validate()
	}
	fmt.Println(len(st.Links), len(st.Addresses), len(st.Routes), err)
	_, err = reconcile.Decode(strings.NewReader("adresses: []\n"))
	fmt.Println(err)
	// Output:
	// 1 1 1 <nil>
	// document: invalid spec: line 1: unknown key "adresses" (want one of links, wireguard, bonds, vlans, bridges, addresses, routes, rules, firewall, resolvers, hosts, hostname)
}

// A product's own stage from any package's Plan and Apply: a second
// firewall table next to the one the sources contribute, applied after
// the built-in stages (it names routes) and repaired whenever nftables
// changes.
func ExampleNewStage() {
	edge := firewall.Spec{Table: "edge", DefaultAction: firewall.DefaultAccept,
		Rules: []firewall.Rule{{Name: "no-telnet", Protocol: "tcp", Ports: []string{"23"}, Action: firewall.Drop}}}
	stage := reconcile.NewStage("edge-firewall", []string{reconcile.StageRoutes}, []string{reconcile.WakeFirewall},
		func(ctx context.Context, ns *netprim.Namespace, o ...netprim.Option) (netprim.Plan, error) {
			return firewall.Plan(ctx, ns, edge, o...)
		},
		func(ctx context.Context, ns *netprim.Namespace, o ...netprim.Option) (netprim.Plan, error) {
			return firewall.Apply(ctx, ns, edge, o...)
		})
	r, err := reconcile.New(nil, reconcile.WithStage(stage))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println(r.Stages())
	// Output:
	// [links wireguard bonds vlans bridges addresses routes rules firewall files edge-firewall]
}
