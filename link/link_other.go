//go:build !linux

package link

import (
	"context"

	"github.com/netprim/netprim"
)

func unsupported() error { return netprim.Unsupported("rtnetlink links (Linux only)", "") }

// List returns netprim.ErrUnsupported: links are managed on Linux only.
func List(ctx context.Context, ns *netprim.Namespace, opts ...ListOption) ([]Status, error) {
	return nil, unsupported()
}

// Plan returns netprim.ErrUnsupported: links are managed on Linux only.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Apply returns netprim.ErrUnsupported: links are managed on Linux only.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// PlanKinds returns netprim.ErrUnsupported: links are managed on Linux only.
func PlanKinds(ctx context.Context, ns *netprim.Namespace, want []Spec, kinds []string, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// ApplyKinds returns netprim.ErrUnsupported: links are managed on Linux only.
func ApplyKinds(ctx context.Context, ns *netprim.Namespace, want []Spec, kinds []string, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

func openNetns(string) (*netprim.Namespace, error) { return nil, unsupported() }
