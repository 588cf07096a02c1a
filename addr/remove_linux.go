//go:build linux

package addr

import (
	"context"
	"errors"
	"fmt"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// Remove deletes the addresses named by specs (link and address; the other
// fields are ignored) that are present and marked with the owner, and
// returns the changes it made. It is the targeted counterpart of pruning,
// for a caller that owns one address among others of the same owner, such
// as a shared IP's controller stepping down. Absent addresses and addresses
// not marked with the owner are left alone; a link that does not exist is
// not an error (its addresses are gone with it). On a kernel that does not
// record address owners (IFA_PROTO, Linux 5.18) nothing is deleted and the
// error wraps netprim.ErrUnsupported.
func Remove(ctx context.Context, ns *netprim.Namespace, specs []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	o := netprim.Resolve(opts...)
	if err := o.Owner.Validate(); err != nil {
		return netprim.Plan{}, fmt.Errorf("addr: %w", err)
	}
	for i := range specs {
		if !specs[i].Address.IsValid() {
			return netprim.Plan{}, fmt.Errorf("addr: spec[%d].address: missing: %w", i, netprim.ErrInvalidSpec)
		}
	}
	if !kernelAtLeast(5, 18) {
		return netprim.Plan{}, fmt.Errorf("addr: remove: %w", netprim.Unsupported("address owner marks (IFA_PROTO, Linux 5.18)", ""))
	}
	c, err := nl.DialRoute(ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer c.Close()
	links, have, err := dumpAll(ctx, c)
	if err != nil {
		return netprim.Plan{}, err
	}
	want := make([]target, 0, len(specs))
	for i := range specs {
		sp := specs[i]
		sp.Normalize()
		if idx, ok := links.byName[sp.Link]; ok {
			want = append(want, target{index: i, spec: sp, ifindex: idx})
		}
	}
	s := &state{conn: c, opts: o, res: planResult{ops: removeOps(want, have, o.Owner.ID)}}
	done, err := s.execute(ctx)
	return done, errors.Join(append(s.res.errs, err)...)
}
