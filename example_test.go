package netprim_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/netprim/netprim"
)

// A Plan renders one line per change, the way Apply reports what it did.
func ExamplePlan() {
	var p netprim.Plan
	fmt.Println(p)
	p.Append(
		netprim.Change{Action: netprim.Add, Kind: "route", Object: "198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100"},
		netprim.Change{Action: netprim.Modify, Kind: "link", Object: "veth0", Field: "mtu", From: "1500", To: "1400"},
		netprim.Change{Action: netprim.Delete, Kind: "address", Object: "192.0.2.9/24 dev veth0"},
	)
	fmt.Println(p)
	// Output:
	// no changes
	// + route 198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100
	// ~ link veth0 mtu 1500 -> 1400
	// - address 192.0.2.9/24 dev veth0
}

// Errors are classified with errors.Is.
func ExampleOpenNamespace() {
	_, err := netprim.OpenNamespace("does-not-exist-" + fmt.Sprint(os.Getpid()))
	fmt.Println(errors.Is(err, netprim.ErrNotFound))
	// Output: true
}
