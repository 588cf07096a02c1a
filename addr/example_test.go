package addr_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
)

// Apply the addresses of two links in the namespace "blue" (made with
// "ip netns add blue"), deleting addresses this program added earlier and
// no longer wants.
func ExampleApply() {
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	want := []addr.Spec{
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.10/24"), AutoBroadcast: true},
		{Link: "veth0", Address: netip.MustParsePrefix("2001:db8::10/64"), Flags: []string{"nodad"}},
		{Link: "veth1", Address: netip.MustParsePrefix("198.51.100.1/24"), Metric: 100, ValidLifetime: time.Hour},
	}
	plan, err := addr.Apply(context.Background(), ns, want, netprim.WithPrune())
	fmt.Println(plan)
	if err != nil {
		log.Fatal(err)
	}
}

// List every address of the caller's namespace.
func ExampleList() {
	sts, err := addr.List(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range sts {
		fmt.Println(st, st.Scope, st.Flags)
	}
}

// Add an IPv6 address and wait, at most 5 seconds, until the kernel's
// duplicate address detection tells whether another host of the link has
// it. The watch is made first, so that a detection that fails at once is
// not missed.
func ExampleNewDADWatch() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a := netip.MustParseAddr("2001:db8::10")
	w, err := addr.NewDADWatch(nil, "veth0", a)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	spec := addr.Spec{Link: "veth0", Address: netip.PrefixFrom(a, 64)}
	if _, err := addr.Apply(ctx, nil, []addr.Spec{spec}); err != nil {
		log.Fatal(err)
	}
	res, err := w.Wait(ctx)
	if err != nil {
		log.Fatal(err) // e.g. the deadline passed
	}
	fmt.Println("duplicate address detection", res)
}

func ExampleValidate() {
	err := addr.Validate([]addr.Spec{
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.10/24")},
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.11/24"), Label: "eth1:0"},
		{Link: "veth0", Address: netip.MustParsePrefix("2001:db8::1/64"), Flags: []string{"nodad", "secondary"}},
		{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.10/16")},
	})
	fmt.Println(err)
	// Output:
	// addr: spec[1].label: invalid spec: "eth1:0" must be the link name "veth0" or start with "veth0:"
	// addr: spec[2].flags: invalid spec: "secondary" is not one of nodad, noprefixroute, homeaddress, mngtmpaddr, optimistic
	// addr: spec[3].address: invalid spec: 192.0.2.10 on veth0 duplicates spec[0]
}

func ExampleSpec_Normalize() {
	s := addr.Spec{
		Link:          "veth0",
		Address:       netip.MustParsePrefix("192.0.2.10/24"),
		AutoBroadcast: true,
		ValidLifetime: time.Hour,
	}
	s.Normalize()
	fmt.Println(s, "scope", s.Scope, "label", s.Label, "brd", s.Broadcast, "preferred", s.PreferredLifetime)

	v6 := addr.Spec{Link: "veth0", Address: netip.MustParsePrefix("fe80::10/64"), Flags: []string{"nodad", "managetempaddr"}}
	v6.Normalize()
	fmt.Println(v6, "scope", v6.Scope, "flags", v6.Flags)
	// Output:
	// 192.0.2.10/24 dev veth0 scope global label veth0 brd 192.0.2.255 preferred 1h0m0s
	// fe80::10/64 dev veth0 scope link flags [mngtmpaddr nodad]
}

// An address that must go when a lease ends, even if this program dies
// first: ValidUntil gives the kernel the seconds left until then. Applying
// the same end again writes nothing; a renewal (a later end) writes once.
func ExampleSpec_validUntil() {
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	leaseEnd := time.Now().Add(10 * time.Minute)
	want := []addr.Spec{{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.10/24"), ValidUntil: leaseEnd}}
	plan, err := addr.Apply(context.Background(), ns, want)
	fmt.Println(plan)
	if err != nil {
		log.Fatal(err)
	}
}

// A shared address that vanishes by itself two seconds after its owner
// stops renewing it: each tick writes the short lifetime again.
func ExampleWithRefresh() {
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	want := []addr.Spec{{Link: "veth0", Address: netip.MustParsePrefix("192.0.2.100/32"), ValidLifetime: 2 * time.Second}}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for range 3 { // a controller loops while it holds the address
		if _, err := addr.Apply(context.Background(), ns, want, addr.WithRefresh()); err != nil {
			log.Fatal(err)
		}
		<-tick.C
	}
}
