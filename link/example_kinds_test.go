package link_test

import (
	"fmt"

	"github.com/netprim/netprim/link"
)

// A vxlan, a macvlan and a vrf are specs with their kind's sub-structure;
// Normalize fills in the kind and Validate names the bad field.
func ExampleVXLAN() {
	want := []link.Spec{
		{Name: "vx0", VXLAN: &link.VXLAN{VNI: 42, Remote: "192.0.2.1", Port: 4789, Dev: "eth0"}},
		{Name: "mv0", MACVLAN: &link.MACVLAN{Parent: "eth0", Mode: "bridge"}},
		{Name: "vrf0", VRF: &link.VRF{Table: 10}},
		{Name: "eth1", Master: new("vrf0")},
		{Name: "vx1", VXLAN: &link.VXLAN{VNI: 43, Group: "192.0.2.9"}},
		{Name: "mv1", MACVLAN: &link.MACVLAN{Parent: "eth0", Mode: "hub"}},
	}
	for i := range want {
		want[i].Normalize()
	}
	fmt.Println(want[0].Kind, want[1].Kind, want[2].Kind)
	fmt.Println(link.Validate(want))
	// Output:
	// vxlan macvlan vrf
	// link: spec[4].vxlan.group: 192.0.2.9 is not a multicast address: use vxlan.remote: invalid spec
	// link: spec[5].macvlan.mode: "hub" is not one of bridge, private, vepa, passthru, source: invalid spec
}
