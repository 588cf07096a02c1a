//go:build !linux

package bridge

import (
	"context"

	"github.com/netprim/netprim"
)

func unsupported() error { return netprim.Unsupported("bridges (Linux only)", "") }

// List returns netprim.ErrUnsupported: bridges are managed on Linux only.
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	return nil, unsupported()
}

// Plan returns netprim.ErrUnsupported: bridges are managed on Linux only.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Apply returns netprim.ErrUnsupported: bridges are managed on Linux only.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}
