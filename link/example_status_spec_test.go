package link_test

import (
	"encoding/json"
	"fmt"

	"github.com/netprim/netprim/link"
)

// A listed vxlan turns back into the Spec that reproduces it; Apply of
// that Spec in the same namespace changes nothing.
func ExampleStatus_Spec() {
	st := link.Status{
		Name: "vx0", Kind: "vxlan", MTU: 1450, Up: true, HardwareAddr: "02:00:5e:00:00:01",
		VXLAN: &link.VXLAN{VNI: 42, Remote: "192.0.2.1", Port: 4789, Dev: "eth0", Learning: new(true)},
	}
	b, _ := json.Marshal(st.Spec())
	fmt.Println(string(b))
	// Output:
	// {"name":"vx0","kind":"vxlan","vxlan":{"vni":42,"remote":"192.0.2.1","port":4789,"dev":"eth0","learning":true},"mtu":1450,"up":true,"hardwareAddr":"02:00:5e:00:00:01","alias":"","master":""}
}

// Both ends of a veth pair are listed as veths, but a pair is one Spec to
// Apply: Specs keeps the kind on the owned end and manages the other end's
// attributes only.
func ExampleSpecs() {
	links := []link.Status{
		{Index: 2, Name: "vb", Kind: "veth", Peer: "va", MTU: 1500},
		{Index: 3, Name: "va", Kind: "veth", Peer: "vb", MTU: 1500, OwnedBy: "netprim"},
	}
	for _, s := range link.Specs(links) {
		fmt.Printf("%s kind %q veth %v\n", s.Name, s.Kind, s.Veth)
	}
	// Output:
	// vb kind "" veth <nil>
	// va kind "veth" veth &{vb }
}
