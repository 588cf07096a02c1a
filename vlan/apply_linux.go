package vlan

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/link"
)

// kinds are the link kinds this package creates and may prune.
var kinds = []string{"vlan"}

// List returns the VLAN links of ns (nil: the caller's namespace), ordered
// by index, from one netlink dump.
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	links, err := nl.LinkList(h)
	if err != nil {
		return nil, err
	}
	names := indexNames(links)
	var out []Status
	for _, l := range links {
		v, ok := l.(*netlink.Vlan)
		if !ok {
			continue
		}
		a := v.Attrs()
		st := Status{
			Index: a.Index, Name: a.Name, ParentIndex: a.ParentIndex, ID: v.VlanId,
			Protocol: protocolName(v.VlanProtocol), MTU: a.MTU, Up: a.RawFlags&0x1 != 0,
			IngressQoS: nonNil(dropZero(v.IngressQosMap)), EgressQoS: nonNil(dropZero(v.EgressQosMap)),
			AltNames: slices.Clone(a.AltNames),
		}
		if a.NetNsID < 0 {
			st.Parent = names[a.ParentIndex]
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return a.Index - b.Index })
	return out, nil
}

func nonNil(m map[uint32]uint32) map[uint32]uint32 {
	if m == nil {
		return map[uint32]uint32{}
	}
	return m
}

// Plan returns the changes Apply would make to ns for want, without making
// them. See Apply.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	specs, errParents, err := linkSpecs(ctx, ns, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	p, err := link.PlanKinds(ctx, ns, specs, kinds, opts...)
	return p, errors.Join(errParents, err)
}

// Apply makes the VLAN links of ns match want and returns the changes it
// made. It creates missing VLANs (marked as owned, see link.Marker),
// recreates owned VLANs whose id, parent or protocol changed, changes QoS
// maps, MTU and up state in place and, with netprim.WithPrune, deletes
// owned VLAN links that are not wanted. A VLAN whose parent does not exist
// is an error (wrapping netprim.ErrNotFound) and is left as it is; the
// other VLANs are applied. A second Apply with the same input sends no
// write request.
//
// Parent selectors are resolved first, against one link.List of ns: a
// selector that matches no link (netprim.ErrNotFound) or several
// (selector.ErrAmbiguous) fails the whole call before any change, naming
// the spec ("vlan: spec[1].parentSelector: ..."), because the name of the
// VLAN it would manage is not known. A VLAN on the selected link does not
// count as a second match (it shows its parent's address).
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	specs, errParents, err := linkSpecs(ctx, ns, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	p, err := link.ApplyKinds(ctx, ns, specs, kinds, opts...)
	return p, errors.Join(errParents, err)
}

// linkSpecs normalizes and validates want, resolves the parents and
// returns the link specs to plan. A VLAN whose parent is missing is
// reported in errParents; when it exists it is kept as a spec without a
// kind, so that pruning leaves it alone.
func linkSpecs(ctx context.Context, ns *netprim.Namespace, want []Spec) (specs []link.Spec, errParents, err error) {
	norm := make([]Spec, len(want))
	for i, s := range want {
		s.Normalize()
		norm[i] = s
	}
	if err := Validate(norm); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := resolveParents(ctx, ns, norm); err != nil {
		return nil, nil, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return nil, nil, err
	}
	defer h.Close()
	links, err := nl.LinkList(h)
	if err != nil {
		return nil, nil, err
	}
	byName := make(map[string]netlink.Link, len(links))
	for _, l := range links {
		byName[l.Attrs().Name] = l
	}
	var errs []error
	for i, s := range norm {
		parent := byName[s.Parent]
		if parent == nil {
			errs = append(errs, &netprim.OpError{Op: "add", Object: "vlan " + s.Name,
				Err: fmt.Errorf("spec[%d].parent: %w: link %s does not exist", i, netprim.ErrNotFound, s.Parent)})
			if byName[s.Name] != nil {
				specs = append(specs, link.Spec{Name: s.Name})
			}
			continue
		}
		if s.Up != nil && *s.Up && parent.Attrs().RawFlags&0x1 == 0 {
			errs = append(errs, &netprim.OpError{Op: "set", Object: "vlan " + s.Name,
				Err: fmt.Errorf("spec[%d].up: parent %s is down: a VLAN comes up only on an up parent", i, s.Parent)})
			if byName[s.Name] != nil {
				specs = append(specs, link.Spec{Name: s.Name})
			}
			continue
		}
		specs = append(specs, link.Spec{
			Name: s.Name, Kind: "vlan", MTU: s.MTU, Up: s.Up,
			Settings: settings{s: s, parentIndex: parent.Attrs().Index},
		})
	}
	return specs, errors.Join(errs...), nil
}

// resolveParents replaces the parent selectors of specs (normalized and
// valid) with the names of the links they select in ns, from one
// link.List, fills in the default names and validates the result. It
// lists nothing when no spec has a selector.
func resolveParents(ctx context.Context, ns *netprim.Namespace, specs []Spec) error {
	if !slices.ContainsFunc(specs, func(s Spec) bool { return s.ParentSelector != nil }) {
		return nil
	}
	links, err := link.List(ctx, ns)
	if err != nil {
		return fmt.Errorf("vlan: resolving parent selectors: %w", err)
	}
	var errs []error
	for i := range specs {
		s := &specs[i]
		if s.ParentSelector == nil {
			continue
		}
		parent, err := s.ParentSelector.MatchOne(links)
		if err != nil {
			errs = append(errs, fmt.Errorf("vlan: spec[%d].parentSelector: %w", i, err))
			continue
		}
		s.Parent, s.ParentSelector = parent.Name, nil
		if s.Name == "" {
			s.Name = DefaultName(s.Parent, s.ID)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return Validate(specs)
}

func indexNames(links []netlink.Link) map[int]string {
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	return names
}
