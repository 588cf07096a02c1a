package vlan_test

import (
	"context"
	"fmt"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
)

// Normalize fills in the default name and the protocol.
func ExampleSpec_Normalize() {
	s := vlan.Spec{Parent: "bond0", ID: 100}
	s.Normalize()
	fmt.Println(s.Name, s.Protocol)
	// Output: bond0.100 802.1Q
}

// Validate names the bad field of the bad spec.
func ExampleValidate() {
	want := []vlan.Spec{
		{Parent: "eth0", ID: 0},
		{Parent: "eth0", ID: 4095},
		{Parent: "enp0s31f6abcd", ID: 100},
	}
	for i := range want {
		want[i].Normalize()
	}
	fmt.Println(vlan.Validate(want))
	// Output:
	// vlan: spec[0].id: 0 out of range 1..4094: invalid spec
	// vlan: spec[1].id: 4095 out of range 1..4094: invalid spec
	// vlan: spec[2].name: the default name "enp0s31f6abcd.100" is 17 bytes, longer than 15: set name: invalid spec
}

// A parent is given by name or by selector, not both; the name of a VLAN
// whose parent is selected is known once Plan or Apply resolves the
// selector.
func ExampleSpec_parentSelector() {
	want := []vlan.Spec{
		{ParentSelector: &selector.Selector{Driver: "virtio_net", BusPath: "0000:00:03.0"}, ID: 100},
		{Parent: "eth0", ParentSelector: &selector.Selector{Driver: "e1000e"}, ID: 200},
		{ParentSelector: &selector.Selector{PCIID: "8086"}, ID: 300},
	}
	for i := range want {
		want[i].Normalize()
	}
	fmt.Printf("%q\n", want[0].Name)
	fmt.Println(vlan.Validate(want))
	// Output:
	// ""
	// vlan: spec[1].parentSelector: set together with parent eth0: give one of them: invalid spec
	// vlan: spec[2].parentSelector: selector: pciID: "8086" is not VENDOR:DEVICE (e.g. 1af4:1000): invalid spec
}

// Apply creates VLAN 100 on bond0 (named bond0.100) and an 802.1ad
// service VLAN, and deletes owned VLAN links that are no longer wanted.
func ExampleApply() {
	up := true
	want := []vlan.Spec{
		{Parent: "bond0", ID: 100, Up: &up, EgressQoS: map[uint32]uint32{6: 5}},
		{Name: "svc20", Parent: "eth1", ID: 20, Protocol: vlan.Protocol8021AD},
	}
	plan, err := vlan.Apply(context.Background(), nil, want, netprim.WithPrune())
	if err != nil {
		fmt.Println(err)
	}
	fmt.Println(plan)
}

// FormatQoS renders a QoS map as "ip -d link" does.
func ExampleFormatQoS() {
	fmt.Println(vlan.FormatQoS(map[uint32]uint32{6: 5, 1: 1}))
	// Output: 1:1 6:5
}
