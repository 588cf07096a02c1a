//go:build !linux

package wireguard

import (
	"context"
	"fmt"

	"github.com/netprim/netprim"
)

// Device is the handle to one WireGuard device; see the Linux
// documentation. On this platform every method returns ErrUnsupported.
type Device struct{ name string }

func unsupported() error {
	return fmt.Errorf("wireguard: %w: Linux only", netprim.ErrUnsupported)
}

// Apply returns netprim.ErrUnsupported on this platform.
func Apply(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (*Device, netprim.Plan, error) {
	return nil, netprim.Plan{}, unsupported()
}

// Name returns the link name.
func (d *Device) Name() string { return d.name }

// Backend returns BackendAuto on this platform.
func (d *Device) Backend() Backend { return BackendAuto }

// Apply returns netprim.ErrUnsupported on this platform.
func (d *Device) Apply(ctx context.Context, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Plan returns netprim.ErrUnsupported on this platform.
func (d *Device) Plan(ctx context.Context, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}

// Status returns netprim.ErrUnsupported on this platform.
func (d *Device) Status(ctx context.Context) (Status, error) { return Status{}, unsupported() }

// Close does nothing on this platform.
func (d *Device) Close() error { return nil }

// Delete returns netprim.ErrUnsupported on this platform.
func (d *Device) Delete(ctx context.Context) error { return unsupported() }

// List returns netprim.ErrUnsupported on this platform.
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) { return nil, unsupported() }

// Plan returns netprim.ErrUnsupported on this platform.
func Plan(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return netprim.Plan{}, unsupported()
}
