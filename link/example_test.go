package link_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// Validate names the bad field of the bad spec.
func ExampleValidate() {
	want := []link.Spec{
		{Name: "veth0", MTU: 1400},
		{Name: "veth1", MTU: 70000},
		{Name: "eth0", HardwareAddr: "01:00:5e:00:00:01"},
	}
	err := link.Validate(want)
	fmt.Println(errors.Is(err, netprim.ErrInvalidSpec))
	fmt.Println(err)
	// Output:
	// true
	// link: spec[1].mtu: 70000 out of range 68..65535: invalid spec
	// link: spec[2].hardwareAddr: 01:00:5e:00:00:01 is a multicast address: invalid spec
}

// Normalize gives equivalent specs one form.
func ExampleSpec_Normalize() {
	s := link.Spec{Name: "veth0", HardwareAddr: "02-00-5E-10-00-01", Veth: &link.Veth{Peer: "veth1"}}
	s.Normalize()
	fmt.Println(s.Kind, s.HardwareAddr)
	// Output: veth 02:00:5e:10:00:01
}

// The marker that records ownership in the kernel, as "ip link" shows it
// among the alternative names.
func ExampleMarker() {
	fmt.Println(link.Marker(netprim.DefaultOwner(), "veth0"))
	fmt.Println(link.Marker(netprim.Owner{ID: 90, Name: "acme"}, "eth1"))
	// Output:
	// netprim.veth0
	// acme.eth1
}

// Plan shows what Apply would do in the namespace "blue" (made by "ip netns
// add blue"). It prints, for example:
//
//	fmt.Println(plan):
//	+ link veth0 (veth peer veth1, mtu 1400, up)
//	~ link eth0 mtu 1500 -> 9000
func ExamplePlan() {
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	want := []link.Spec{
		{Name: "veth0", Kind: "veth", Veth: &link.Veth{Peer: "veth1"}, MTU: 1400, Up: new(true)},
		{Name: "eth0", MTU: 9000},
	}
	plan, err := link.Plan(context.Background(), ns, want)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plan)
}

// Apply creates a veth pair whose peer lives in another namespace, puts the
// local end in a bridge and brings it up; with WithPrune it deletes the
// links it created earlier that are no longer wanted.
func ExampleApply() {
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	want := []link.Spec{
		{Name: "veth0", Kind: "veth", Veth: &link.Veth{Peer: "eth0", PeerNetns: "red"}, Master: new("br0"), Up: new(true)},
		{Name: "br0", Up: new(true)}, // made by someone else: managed, never deleted
	}
	changed, err := link.Apply(context.Background(), ns, want, netprim.WithPrune())
	fmt.Println(changed) // what was done, even on error
	if err != nil {
		log.Fatal(err)
	}
}

// List prints every link of the caller's namespace with its driver and
// speed.
func ExampleList() {
	links, err := link.List(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range links {
		fmt.Printf("%d %s %s mtu %d %s driver %q speed %d\n", l.Index, l.Name, l.Kind, l.MTU, l.OperState, l.Driver, l.Speed)
	}
}
