package route_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/route"
)

// Routes are plain values; String renders them in the words of ip(8) and
// Validate names the field that is wrong.
func Example() {
	want := []route.Spec{
		{Destination: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"), Link: "veth0", Metric: 100},
		{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), Table: 100},
		{Destination: netip.MustParsePrefix("10.0.0.0/8"), NextHops: []route.NextHop{
			{Gateway: netip.MustParseAddr("192.0.2.1"), Weight: 3},
			{Gateway: netip.MustParseAddr("fe80::1"), Link: "veth1"}, // RFC 8950
		}},
		{Destination: netip.MustParsePrefix("203.0.113.0/24"), Type: route.TypeBlackhole},
	}
	for _, s := range want {
		fmt.Println(s)
	}
	bad := append(want, route.Spec{Destination: netip.MustParsePrefix("192.0.2.0/24"), Type: route.TypeBlackhole, Gateway: netip.MustParseAddr("192.0.2.1")})
	fmt.Println(route.Validate(bad))
	// Output:
	// 198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100
	// 0.0.0.0/0 via 192.0.2.1 table 100
	// 10.0.0.0/8 nexthop via 192.0.2.1 weight 3 nexthop via inet6 fe80::1 dev veth1 weight 1
	// blackhole 203.0.113.0/24
	// route: spec[4].gateway: a blackhole route has no gateway
}

// Normalize fills in what the kernel would pick, so that a Spec compares
// equal to what List reports after Apply.
func ExampleSpec_Normalize() {
	s := route.Spec{Destination: netip.MustParsePrefix("2001:db8:1::7/48"), Link: "veth0"}
	s.Normalize()
	fmt.Printf("%s: table %d, metric %d, scope %s\n", s, s.Table, s.Metric, s.Scope)
	v4 := route.Spec{Destination: netip.MustParsePrefix("192.0.2.0/24"), Link: "veth0"}
	v4.Normalize()
	fmt.Println(v4)
	// Output:
	// 2001:db8:1::/48 dev veth0 metric 1024: table 254, metric 1024, scope global
	// 192.0.2.0/24 dev veth0 scope link
}

// A WireGuard mesh sends marked packets by the main table and everything
// else by the mesh table.
func ExampleRule() {
	rules := []route.Rule{
		{Priority: 100, Family: route.FamilyIPv4, FwMark: 0xca6c, Invert: true, Table: 51820},
		{Priority: 101, From: netip.MustParsePrefix("10.0.0.0/8"), Action: route.ActionProhibit},
	}
	for _, r := range rules {
		fmt.Println(r)
	}
	fmt.Println(route.ValidateRules([]route.Rule{{Family: route.FamilyIPv4, Table: 5}}))
	// Output:
	// 100: not from all fwmark 0xca6c lookup 51820
	// 101: from 10.0.0.0/8 prohibit
	// route: rule[0].priority: required: 0 is the kernel's local rule, and without a priority the kernel picks one
}

// blue names the namespace the examples that change the kernel work in,
// made with "ip netns add blue", with a veth pair veth0/veth1 and
// 192.0.2.10/24 on veth0. Their tests (TestExample...) point it at a
// throwaway namespace set up like that and check what they print.
var blue = "blue"

// Apply makes the kernel's routes match the wanted ones and reports what it
// changed; with prune it also removes the routes it made earlier that are
// no longer wanted, and with WithOwnedTables every other route in table
// 100. The route the kernel made for the address of veth0 is wanted as
// well: it exists, so it needs no write (and is never taken over). A second
// Apply of the same routes changes nothing. It needs CAP_NET_ADMIN.
func ExampleApply() {
	ns, err := netprim.OpenNamespace(blue)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	want := []route.Spec{
		{Destination: netip.MustParsePrefix("192.0.2.0/24"), Link: "veth0"},
		{Destination: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"), Link: "veth0"},
		{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), Table: 100},
	}
	for range 2 {
		plan, err := route.Apply(context.Background(), ns, want, netprim.WithPrune(), route.WithOwnedTables(100))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(plan)
	}
}

// ApplyRules keeps the policy rules, marked with the owner's protocol; with
// prune it removes the owner's rules that are no longer wanted. It needs
// CAP_NET_ADMIN.
func ExampleApplyRules() {
	ns, err := netprim.OpenNamespace(blue)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	rules := []route.Rule{{Priority: 100, Family: route.FamilyIPv4, FwMark: 0xca6c, Invert: true, Table: 51820}}
	plan, err := route.ApplyRules(context.Background(), ns, rules, netprim.WithPrune())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plan)
}

// Watch reports the changes of routes and rules. A program keeps reading
// the channel; the example stops after the change it makes itself. It
// needs CAP_NET_ADMIN for that change (watching needs no privilege).
func ExampleWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns, err := netprim.OpenNamespace(blue)
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	// Subscribe before reading the current state, so that no change
	// falls between the two.
	events, err := route.Watch(ctx, ns)
	if err != nil {
		log.Fatal(err)
	}
	// ... List the current state here ...
	want := []route.Spec{{Destination: netip.MustParsePrefix("203.0.113.0/24"), Type: route.TypeBlackhole}}
	if _, err := route.Apply(ctx, ns, want); err != nil {
		log.Fatal(err)
	}
	for ev := range events {
		if ev.Resync {
			// Changes were lost: List the routes or rules again.
			continue
		}
		fmt.Println(ev)
		break
	}
}

// Plan and Apply check their whole input before they read or write
// anything: here an option, naming what is wrong.
func ExamplePlan() {
	want := []route.Spec{{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1")}}
	_, err := route.Plan(context.Background(), nil, want, route.WithOwnedTables(100, 255))
	fmt.Println(errors.Is(err, netprim.ErrInvalidSpec))
	fmt.Println(err)
	// Output:
	// true
	// route: owned table 255: invalid spec: the kernel keeps this table
}

// PlanRules and ApplyRules check every rule before they read or write
// anything, and name the bad field.
func ExamplePlanRules() {
	rules := []route.Rule{
		{Priority: 100, Family: route.FamilyIPv4, FwMark: 0xca6c, Invert: true, Table: 51820},
		{Priority: 101, From: netip.MustParsePrefix("10.0.0.0/8"), Action: route.ActionBlackhole, Table: 5},
	}
	_, err := route.PlanRules(context.Background(), nil, rules)
	fmt.Println(errors.Is(err, netprim.ErrInvalidSpec))
	fmt.Println(err)
	// Output:
	// true
	// route: rule[1].table: only action lookup uses a table
}
