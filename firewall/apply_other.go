//go:build !linux

package firewall

import (
	"context"

	"github.com/netprim/netprim"
)

func errUnsupported() error { return netprim.Unsupported("nftables (Linux only)", "") }

// Plan is only implemented on Linux.
func Plan(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, errUnsupported()
}

// Apply is only implemented on Linux.
func Apply(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, errUnsupported()
}

// Get is only implemented on Linux.
func Get(ctx context.Context, ns *netprim.Namespace, table string) (Status, error) {
	return Status{}, errUnsupported()
}

// Delete is only implemented on Linux.
func Delete(ctx context.Context, ns *netprim.Namespace, table string, opts ...netprim.Option) error {
	return errUnsupported()
}

// Watch is only implemented on Linux: it returns netprim.ErrUnsupported.
func Watch(ctx context.Context, ns *netprim.Namespace, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	return nil, netprim.Unsupported("nftables notifications (Linux only)", "")
}
