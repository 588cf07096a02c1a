//go:build !linux

package bond

import (
	"context"
	"errors"

	"github.com/netprim/netprim"
)

// ErrMemberInUse is wrapped by the error for a member that is enslaved to
// a master that is not a bond in want (another bond, a bridge, a vrf).
var ErrMemberInUse = errors.New("member enslaved elsewhere")

func unsupported() error { return netprim.Unsupported("bonds (Linux only)", "") }

// Plan returns netprim.ErrUnsupported: bonds are managed on Linux only.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Apply returns netprim.ErrUnsupported: bonds are managed on Linux only.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// List returns netprim.ErrUnsupported: bonds are managed on Linux only.
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	return nil, unsupported()
}
