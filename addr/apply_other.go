//go:build !linux

package addr

import (
	"context"

	"github.com/netprim/netprim"
)

// List is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	return nil, netprim.Unsupported("rtnetlink (Linux only)", "")
}

// Plan is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, netprim.Unsupported("rtnetlink (Linux only)", "")
}

// Apply is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, netprim.Unsupported("rtnetlink (Linux only)", "")
}
