package link

import (
	"context"
	"fmt"
	"slices"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/ethtool"
	"github.com/netprim/netprim/internal/nl"
)

// List returns the links of ns (nil: the caller's namespace), ordered by
// index, from one netlink dump. Unless WithoutEthtool is given it adds the
// driver, bus, PCI id, speed and duplex of each link from ethtool ioctls
// made on a socket inside ns; facts a driver does not report stay empty.
func List(ctx context.Context, ns *netprim.Namespace, opts ...ListOption) ([]Status, error) {
	var lo listOptions
	for _, f := range opts {
		if f != nil {
			f(&lo)
		}
	}
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
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	out := make([]Status, 0, len(links))
	for _, l := range links {
		out = append(out, toStatus(l, names))
	}
	slices.SortFunc(out, func(a, b Status) int { return a.Index - b.Index })
	if !lo.noEthtool {
		if err := addEthtool(ctx, ns, out, lo.sysfsPCI); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addEthtool fills the ethtool fields of links.
func addEthtool(ctx context.Context, ns *netprim.Namespace, links []Status, pciDir string) error {
	c, err := ethtool.Open(ns)
	if err != nil {
		return fmt.Errorf("%w (link.WithoutEthtool lists without driver facts)", err)
	}
	defer c.Close()
	if pciDir == "" {
		pciDir = ethtool.SysfsPCIDevices
	}
	for i := range links {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &links[i]
		info, err := c.Query(l.Name)
		if err != nil {
			// Gone since the dump, or a driver that fails the query
			// (some do while down): the facts stay unknown.
			continue
		}
		l.Driver, l.BusInfo, l.Speed, l.Duplex = info.Driver, info.BusInfo, info.Speed, info.Duplex
		l.PCIID = ethtool.PCIID(pciDir, info.BusInfo)
	}
	return nil
}

// Plan returns the changes Apply would make to ns for want, without making
// them. With netprim.WithPrune it includes the deletion of owned links that
// are not wanted, of every kind except those created by their own packages
// (bond, bridge, vlan, wireguard).
//
// Like Apply, Plan goes on past a link it cannot plan (a link without a
// kind that does not exist, a master that does not exist, an existing link
// that would need replacing but is not owned): it returns the changes of
// the other links, which are the changes Apply would make, together with
// one error per such link, joined and in the order of want. An invalid
// spec, or a failure to read the links of ns, returns an error and no
// changes.
//
// Attributes of a link that Apply would create are shown as changes from
// "none" where Plan cannot know what the kernel will choose.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return plan(ctx, ns, want, defaultScope, opts)
}

// Apply makes the links of ns match want and returns the changes it made.
//
// It creates missing links that have a kind (marking them with Marker),
// then sets attributes in the order the kernel needs (down before changes
// that need it, master before up, MTU before up), then, with
// netprim.WithPrune, deletes owned links that are not wanted (see Plan for
// which kinds). Links without the marker are never deleted. A second Apply
// with the same input sends no write request.
//
// Errors of independent links are joined; one bad link does not stop the
// others. The returned Plan lists what was changed even when err is not
// nil, so a partial Apply is always visible: a cancelled ctx stops Apply
// between two requests and the error says how much was made. An invalid
// spec changes nothing.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	return apply(ctx, ns, want, defaultScope, opts)
}

// PlanKinds is Plan for packages that create links of their own kinds
// through Spec.Settings (bond, vlan, bridge): with netprim.WithPrune it
// deletes only owned links whose kind is in kinds.
func PlanKinds(ctx context.Context, ns *netprim.Namespace, want []Spec, kinds []string, opts ...netprim.Option) (netprim.Plan, error) {
	return plan(ctx, ns, want, kindsScope(kinds), opts)
}

// ApplyKinds is Apply for packages that create links of their own kinds
// through Spec.Settings (bond, vlan, bridge): with netprim.WithPrune it
// deletes only owned links whose kind is in kinds.
func ApplyKinds(ctx context.Context, ns *netprim.Namespace, want []Spec, kinds []string, opts ...netprim.Option) (netprim.Plan, error) {
	return apply(ctx, ns, want, kindsScope(kinds), opts)
}

func plan(ctx context.Context, ns *netprim.Namespace, want []Spec, scope func(string) bool, opts []netprim.Option) (netprim.Plan, error) {
	o := netprim.Resolve(opts...)
	want, err := prepare(want, o)
	if err != nil {
		return netprim.Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return netprim.Plan{}, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer h.Close()
	st, err := (&kernel{h: h, ns: ns}).snapshot(want)
	if err != nil {
		return netprim.Plan{}, err
	}
	p := &planner{owner: o.Owner, prune: o.Prune, scope: scope}
	return p.planAll(want, st)
}

func apply(ctx context.Context, ns *netprim.Namespace, want []Spec, scope func(string) bool, opts []netprim.Option) (netprim.Plan, error) {
	o := netprim.Resolve(opts...)
	want, err := prepare(want, o)
	if err != nil {
		return netprim.Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return netprim.Plan{}, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer h.Close()
	k := &kernel{h: h, ns: ns}
	defer k.close()
	e := &executor{
		b:      k,
		p:      &planner{owner: o.Owner, prune: o.Prune, scope: scope},
		writes: o.Writes,
	}
	return e.apply(ctx, want)
}
