package link_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// Plan shows what Apply would change, one change per line, and changes
// nothing itself: here in the caller's namespace (nil), where it needs no
// privileges. The veth pair would be created, its peer brought up; the link
// without a kind that does not exist is reported as an error, and Plan still
// returns the changes of the other links, which are the changes Apply would
// make.
func ExamplePlan() {
	want := []link.Spec{
		{Name: "exveth0", Kind: "veth", Veth: &link.Veth{Peer: "exveth1"}, MTU: 1400, Up: new(true)},
		{Name: "exveth1", Up: new(true)},
		{Name: "missing0", MTU: 9000}, // no kind: must exist
	}
	plan, err := link.Plan(context.Background(), nil, want)
	fmt.Println(plan)
	fmt.Println(errors.Is(err, netprim.ErrNotFound))
	fmt.Println(err)
	// Output:
	// + link exveth0 (veth peer exveth1, mtu 1400, up)
	// ~ link exveth1 up false -> true
	// true
	// set link missing0: not found: it does not exist and has no kind, so it is not created
}
