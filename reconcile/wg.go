package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/wireguard"
)

// wgHost holds the handles of the WireGuard devices the Reconciler
// applied. A userspace device lives in this process as long as its handle;
// a kernel device outlives it. Only devices with a handle here are pruned
// (WireGuard devices carry no owner mark in the kernel): a userspace one
// is closed, which removes its link; a kernel one is deleted. Guarded by
// the Reconciler's passMu.
type wgHost struct {
	devs map[string]*wireguard.Device
}

// plan plans every device; errors are joined.
func (h *wgHost) plan(ctx context.Context, ns *netprim.Namespace, want []wireguard.Spec, keep map[string]bool, opts []netprim.Option) (netprim.Plan, error) {
	var total netprim.Plan
	var errs []error
	for _, w := range want {
		var p netprim.Plan
		var err error
		if d := h.devs[w.Name]; d != nil {
			p, err = d.Plan(ctx, w, opts...)
		} else {
			p, err = wireguard.Plan(ctx, ns, w, opts...)
		}
		total.Merge(p)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if netprim.Resolve(opts...).Prune {
		for _, name := range h.stale(want, keep) {
			total.Append(netprim.Change{Action: netprim.Delete, Kind: wireguard.KindLink, Object: name + " type wireguard"})
		}
	}
	return total, errors.Join(errs...)
}

// apply applies every device through its handle, creating the handle (and
// the device) when there is none; with prune it removes the devices it
// holds that are not wanted.
func (h *wgHost) apply(ctx context.Context, ns *netprim.Namespace, want []wireguard.Spec, keep map[string]bool, opts []netprim.Option) (netprim.Plan, error) {
	var total netprim.Plan
	var errs []error
	if h.devs == nil {
		h.devs = map[string]*wireguard.Device{}
	}
	for _, w := range want {
		if d := h.devs[w.Name]; d != nil {
			p, err := d.Apply(ctx, w, opts...)
			total.Merge(p)
			if err == nil {
				continue
			}
			if !errors.Is(err, netprim.ErrNotFound) {
				errs = append(errs, err)
				continue
			}
			// The device went away behind our back: make it again.
			_ = d.Close()
			delete(h.devs, w.Name)
		}
		d, p, err := wireguard.Apply(ctx, ns, w, opts...)
		total.Merge(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h.devs[w.Name] = d
	}
	if netprim.Resolve(opts...).Prune {
		for _, name := range h.stale(want, keep) {
			d := h.devs[name]
			var err error
			if d.Backend() == wireguard.BackendUserspace {
				err = d.Close()
			} else {
				err = d.Delete(ctx)
				_ = d.Close()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("wireguard: %s: remove: %w", name, err))
				continue
			}
			delete(h.devs, name)
			total.Append(netprim.Change{Action: netprim.Delete, Kind: wireguard.KindLink, Object: name + " type wireguard"})
		}
	}
	return total, errors.Join(errs...)
}

// stale returns the names of held devices that are neither wanted nor
// kept, sorted.
func (h *wgHost) stale(want []wireguard.Spec, keep map[string]bool) []string {
	var out []string
	for name := range h.devs {
		if !keep[name] && !slices.ContainsFunc(want, func(w wireguard.Spec) bool { return w.Name == name }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// closeAll closes every handle: userspace devices go away with their
// handle, kernel devices stay.
func (h *wgHost) closeAll() error {
	var errs []error
	for name, d := range h.devs {
		if err := d.Close(); err != nil {
			errs = append(errs, fmt.Errorf("wireguard: %s: %w", name, err))
		}
	}
	h.devs = nil
	return errors.Join(errs...)
}

// WireGuardDevices returns the handles of the WireGuard devices the
// Reconciler applied, sorted by name. The Reconciler keeps owning them:
// use them to read a device's Status, not to Close it (Close of the
// Reconciler does that).
func (r *Reconciler) WireGuardDevices() []*wireguard.Device {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	out := make([]*wireguard.Device, 0, len(r.wg.devs))
	for _, d := range r.wg.devs {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *wireguard.Device) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}
