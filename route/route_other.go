//go:build !linux

package route

import (
	"context"

	"github.com/netprim/netprim"
)

func errUnsupported() error {
	return netprim.Unsupported("rtnetlink routes and rules (Linux only)", "")
}

// List is only implemented on Linux.
func List(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) ([]Status, error) {
	return nil, errUnsupported()
}

// Plan is only implemented on Linux.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, errUnsupported()
}

// Apply is only implemented on Linux.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, errUnsupported()
}

// ListRules is only implemented on Linux.
func ListRules(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) ([]RuleStatus, error) {
	return nil, errUnsupported()
}

// PlanRules is only implemented on Linux.
func PlanRules(ctx context.Context, ns *netprim.Namespace, want []Rule, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, errUnsupported()
}

// ApplyRules is only implemented on Linux.
func ApplyRules(ctx context.Context, ns *netprim.Namespace, want []Rule, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, errUnsupported()
}
