package document

import (
	"context"
	"errors"
	"fmt"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/wireguard"
)

type wgDevicesKey struct{}

// WithWireGuardDevices lets Apply host the devices of the wireguard section
// in this process when the kernel has no wireguard module (the userspace
// backend, wireguard.BackendAuto unless wireguard.WithBackend says
// otherwise), and appends the handle of every device it applied to *dst,
// also when Apply returns an error. The caller owns the handles: a
// userspace device, with its link, lives until its Close (or the end of
// the process), so the caller keeps them open as long as the devices are
// wanted and closes them afterwards. Closing the handle of a kernel device
// leaves the device in place.
//
// Without this option, Apply and Plan use the kernel backend only: a
// device that would vanish when Apply returns is never created, and a
// kernel without the module is an error wrapping netprim.ErrUnsupported.
// Plan takes the option for the backend it shows; it appends nothing.
func WithWireGuardDevices(dst *[]*wireguard.Device) netprim.Option {
	return func(o *netprim.Options) { o.Set(wgDevicesKey{}, dst) }
}

func wgDevices(opts []netprim.Option) *[]*wireguard.Device {
	dst, _ := netprim.Resolve(opts...).Value(wgDevicesKey{}).(*[]*wireguard.Device)
	return dst
}

// ErrNeedsHost marks the error of a wireguard entry that the kernel cannot
// host (no wireguard module) while Apply was not allowed to host it in
// this process (WithWireGuardDevices). The error also wraps
// netprim.ErrUnsupported.
var ErrNeedsHost = errors.New("a userspace device needs a process to host it (see WithWireGuardDevices)")

// wgOptions returns the options for package wireguard: the kernel backend
// unless the caller hosts the devices.
func wgOptions(opts []netprim.Option) ([]netprim.Option, error) {
	if wgDevices(opts) != nil {
		return opts, nil
	}
	switch wireguard.BackendOf(opts...) {
	case wireguard.BackendAuto, wireguard.BackendKernel:
	default:
		return nil, fmt.Errorf("backend %s: %w: a userspace device needs a host: pass WithWireGuardDevices and keep the handles", wireguard.BackendOf(opts...), netprim.ErrInvalidSpec)
	}
	return append(opts[:len(opts):len(opts)], wireguard.WithBackend(wireguard.BackendKernel)), nil
}

// validateWireGuard checks every entry of the wireguard section, that no
// two name the same device, and that the links section does not name one
// (the wireguard entry sets the link's MTU and brings it up; the links
// stage runs before the device exists).
func (d *Document) validateWireGuard() error {
	var errs []error
	seen := map[string]int{}
	links := map[string]int{}
	for i, l := range d.Links {
		if l.Name != "" {
			links[l.Name] = i
		}
	}
	for i, w := range d.WireGuard {
		if err := w.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("document: wireguard[%d]: %w", i, err))
		}
		if w.Name == "" {
			continue
		}
		if j, ok := links[w.Name]; ok {
			errs = append(errs, fmt.Errorf("document: wireguard[%d].name: %s is also links[%d]: set its mtu in the wireguard entry: %w", i, w.Name, j, netprim.ErrInvalidSpec))
		}
		if j, ok := seen[w.Name]; ok {
			errs = append(errs, fmt.Errorf("document: wireguard[%d].name: %s is also wireguard[%d]: %w", i, w.Name, j, netprim.ErrInvalidSpec))
			continue
		}
		seen[w.Name] = i
	}
	return errors.Join(errs...)
}

// planWireGuard plans every device; errors are joined.
func (d *Document) planWireGuard(ctx context.Context, ns *netprim.Namespace, opts []netprim.Option) (netprim.Plan, error) {
	var total netprim.Plan
	if len(d.WireGuard) == 0 {
		return total, nil
	}
	wo, err := wgOptions(opts)
	if err != nil {
		return total, err
	}
	var errs []error
	for _, w := range d.WireGuard {
		p, err := wireguard.Plan(ctx, ns, w, wo...)
		total.Merge(p)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// applyWireGuard applies every device, handing the handles to the caller
// (WithWireGuardDevices) or, for kernel devices, releasing them. WireGuard
// devices carry no owner mark, so the prune pass leaves them alone.
func (d *Document) applyWireGuard(ctx context.Context, ns *netprim.Namespace, opts []netprim.Option) (netprim.Plan, error) {
	var total netprim.Plan
	if len(d.WireGuard) == 0 || netprim.Resolve(opts...).Prune {
		return total, nil
	}
	wo, err := wgOptions(opts)
	if err != nil {
		return total, err
	}
	dst := wgDevices(opts)
	var errs []error
	for _, w := range d.WireGuard {
		dev, p, err := wireguard.Apply(ctx, ns, w, wo...)
		total.Merge(p)
		if err != nil {
			if dst == nil && errors.Is(err, netprim.ErrUnsupported) {
				err = fmt.Errorf("%w: %w", err, ErrNeedsHost)
			}
			errs = append(errs, err)
			continue
		}
		if dst != nil {
			*dst = append(*dst, dev)
		} else {
			dev.Close() // a kernel device: the device stays
		}
	}
	return total, errors.Join(errs...)
}
