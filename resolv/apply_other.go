//go:build !linux

package resolv

import (
	"context"

	"github.com/netprim/netprim"
)

func unsupported() error { return netprim.Unsupported("resolv Apply (Linux only)", "") }

// PlanResolver is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func PlanResolver(ctx context.Context, root string, s ResolverSpec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// ApplyResolver is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func ApplyResolver(ctx context.Context, root string, s ResolverSpec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// PlanHosts is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func PlanHosts(ctx context.Context, root string, s HostsSpec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// ApplyHosts is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func ApplyHosts(ctx context.Context, root string, s HostsSpec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// PlanHostname is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func PlanHostname(ctx context.Context, root string, h HostnameSpec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// ApplyHostname is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func ApplyHostname(ctx context.Context, root string, h HostnameSpec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Plan is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func Plan(ctx context.Context, root string, c Config, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Apply is only implemented on Linux; elsewhere it returns
// netprim.ErrUnsupported.
func Apply(ctx context.Context, root string, c Config, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}
