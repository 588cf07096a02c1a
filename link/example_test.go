package link_test

import (
	"errors"
	"fmt"

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
