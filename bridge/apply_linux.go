package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/bridgeattr"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/link"
)

// kinds are the link kinds this package creates and may prune.
var kinds = []string{"bridge"}

// kernel is one namespace's raw rtnetlink connection with its last dump.
type kernel struct {
	c     *nl.Conn
	links []bridgeattr.Link
	vlans map[int][]bridgeattr.VLAN
}

func dial(ns *netprim.Namespace) (*kernel, error) {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, err
	}
	return &kernel{c: c}, nil
}

// dump reads the links and the port VLANs (two dumps).
func (k *kernel) dump(ctx context.Context) error {
	links, err := bridgeattr.Dump(ctx, k.c)
	if err != nil {
		return netprim.KernelError("list", "links", err)
	}
	vlans, err := bridgeattr.DumpVLANs(ctx, k.c)
	if err != nil {
		return netprim.KernelError("list", "bridge vlans", err)
	}
	k.links, k.vlans = links, vlans
	return nil
}

func (k *kernel) names() map[int]string {
	names := make(map[int]string, len(k.links))
	for _, l := range k.links {
		names[l.Index] = l.Name
	}
	return names
}

// snapshot converts the last dump for the planner.
func (k *kernel) snapshot() *snapshot {
	names := k.names()
	snap := &snapshot{bridges: map[string]*bridgeState{}, links: map[string]*portState{}}
	for _, l := range k.links {
		ps := &portState{index: l.Index, kind: l.Kind, mtu: l.MTU, master: names[l.Master], vlans: map[uint16]uint16{}}
		for _, v := range k.vlans[l.Index] {
			ps.vlans[v.VID] = v.Flags & (flagPVID | flagUntagged)
		}
		snap.links[l.Name] = ps
		if b := l.Bridge; b != nil {
			snap.bridges[l.Name] = &bridgeState{
				exists: true, index: l.Index, mtu: l.MTU,
				forwardDelay: b.ForwardDelay, helloTime: b.HelloTime, maxAge: b.MaxAge, ageingTime: b.AgeingTime,
				stp: b.STPState != 0, priority: b.Priority, vlanFiltering: b.VLANFiltering,
				defaultPVID: b.DefaultPVID, multicastSnooping: b.MulticastSnooping, vlanSupport: b.VLANSupport,
			}
		}
	}
	return snap
}

// List returns the bridges of ns (nil: the caller's namespace) with their
// ports and VLANs, ordered by index, from two netlink dumps (links, and
// the AF_BRIDGE VLAN dump).
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := dial(ns)
	if err != nil {
		return nil, err
	}
	defer k.c.Close()
	if err := k.dump(ctx); err != nil {
		return nil, err
	}
	return k.statuses(), nil
}

var stpStates = map[uint32]string{0: "off", 1: "kernel", 2: "user"}

func (k *kernel) statuses() []Status {
	toVLANMap := func(index int) map[uint16]uint16 {
		m := map[uint16]uint16{}
		for _, v := range k.vlans[index] {
			m[v.VID] = v.Flags & (flagPVID | flagUntagged)
		}
		return m
	}
	d := func(cs uint32) time.Duration { return time.Duration(cs) * Tick }
	var out []Status
	for _, l := range k.links {
		b := l.Bridge
		if b == nil {
			continue
		}
		st := Status{
			Index: l.Index, Name: l.Name, MTU: l.MTU, Up: l.Up,
			STP: b.STPState != 0, STPState: stpStates[b.STPState], Priority: b.Priority,
			ForwardDelay: d(b.ForwardDelay), HelloTime: d(b.HelloTime), MaxAge: d(b.MaxAge), AgeingTime: d(b.AgeingTime),
			VLANFiltering: b.VLANFiltering, DefaultPVID: b.DefaultPVID, MulticastSnooping: b.MulticastSnooping,
			BridgeID: b.BridgeID.String(), RootID: b.RootID.String(), RootPort: b.RootPort,
			RootPathCost: b.RootPathCost, TopologyChange: b.TopologyChange,
			VLANs: toVLANs(toVLANMap(l.Index)), Ports: []PortStatus{},
		}
		if st.STPState == "" {
			st.STPState = fmt.Sprintf("state %d", b.STPState)
		}
		for _, p := range k.links {
			if p.Master != l.Index || p.Port == nil {
				continue
			}
			st.Ports = append(st.Ports, PortStatus{
				Index: p.Index, Name: p.Name, State: bridgeattr.PortStateName(p.Port.State),
				Priority: p.Port.Priority, Cost: p.Port.Cost, VLANs: toVLANs(toVLANMap(p.Index)),
			})
		}
		slices.SortFunc(st.Ports, func(a, b PortStatus) int { return a.Index - b.Index })
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return a.Index - b.Index })
	return out
}

// prepare copies, normalizes and validates want.
func prepare(want []Spec) ([]Spec, error) {
	out := make([]Spec, len(want))
	for i, s := range want {
		s.Normalize()
		out[i] = s
	}
	if err := validate(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkPortsIn refuses, before any write, ports enslaved to a master that
// is neither a bridge of want nor an owned bridge that this Apply deletes
// (with netprim.WithPrune): see checkPorts. When link cannot plan the
// pruning, no bridge counts as deleted: the port is refused.
func checkPortsIn(ctx context.Context, ns *netprim.Namespace, want []Spec, snap *snapshot, opts []netprim.Option) error {
	err := checkPorts(want, snap, nil)
	if err == nil || !netprim.Resolve(opts...).Prune {
		return err
	}
	// The ports of owned bridges that step 1 deletes are released by the
	// kernel before step 3 enslaves them.
	lp, _ := link.PlanKinds(ctx, ns, linkSpecs(want, snap, false), kinds, opts...)
	pruned := map[string]bool{}
	for _, c := range lp.Changes {
		if c.Action == netprim.Delete && c.Kind == "link" {
			pruned[c.Object] = true
		}
	}
	return checkPorts(want, snap, pruned)
}

// linkSpecs returns the link specs of want: the bridges and, with ports,
// their ports (master set) and the links to release (master "") because
// they are enslaved to a wanted bridge whose Ports do not list them.
func linkSpecs(want []Spec, snap *snapshot, ports bool) []link.Spec {
	var specs []link.Spec
	wanted := make(map[string]bool)
	for _, s := range want {
		for _, p := range s.Ports {
			wanted[p.Name] = true
		}
	}
	names := make([]string, 0, len(snap.links))
	for name := range snap.links {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return snap.links[a].index - snap.links[b].index })
	for _, s := range want {
		// The MTU is set with the options: an MTU given when the bridge
		// is created does not survive its first port.
		specs = append(specs, link.Spec{Name: s.Name, Kind: "bridge", Up: s.Up, Settings: settings{}})
		if !ports {
			continue
		}
		for _, p := range s.Ports {
			specs = append(specs, link.Spec{Name: p.Name, Master: &s.Name})
		}
		if s.Ports == nil {
			continue
		}
		none := ""
		for _, name := range names {
			if snap.links[name].master == s.Name && !wanted[name] {
				specs = append(specs, link.Spec{Name: name, Master: &none})
			}
		}
	}
	return specs
}

// Plan returns the changes Apply would make to ns for want, without making
// them, in Apply's order (see Apply). Bridges to be created and ports to
// be enslaved are predicted as the kernel makes them.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	want, err := prepare(want)
	if err != nil {
		return netprim.Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return netprim.Plan{}, err
	}
	k, err := dial(ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer k.c.Close()
	if err := k.dump(ctx); err != nil {
		return netprim.Plan{}, err
	}
	snap := k.snapshot()
	if err := checkPortsIn(ctx, ns, want, snap, opts); err != nil {
		return netprim.Plan{}, err
	}
	lp, errLink := link.PlanKinds(ctx, ns, linkSpecs(want, snap, true), kinds, opts...)
	if errLink != nil && len(lp.Changes) == 0 && !isPerLink(errLink) {
		return netprim.Plan{}, errLink
	}
	// Apply's order: the bridges' own link changes, their options, the
	// ports' link changes, the port VLANs.
	bridges := make(map[string]bool, len(want))
	for _, s := range want {
		bridges[s.Name] = true
	}
	p := netprim.Plan{Warnings: lp.Warnings}
	var portChanges []netprim.Change
	for _, c := range lp.Changes {
		if c.Kind == "link" && !bridges[c.Object] && c.Field == "master" {
			portChanges = append(portChanges, c)
			continue
		}
		p.Append(c)
	}
	failed := map[string]error{}
	ops := planOptions(want, snap, failed, true)
	for _, o := range ops {
		if o.kind == opAttr {
			p.Append(o.change)
		}
	}
	p.Append(portChanges...)
	for _, o := range ops {
		if o.kind != opAttr {
			p.Append(o.change)
		}
	}
	return p, errors.Join(errLink, joinFailed(want, failed))
}

// isPerLink reports an error of link's Plan or Apply about particular
// links (an OpError), as opposed to one that stopped it.
func isPerLink(err error) bool {
	var oe *netprim.OpError
	return errors.As(err, &oe)
}

// Apply makes the bridges of ns match want and returns the changes it
// made, in this order:
//
//  1. the bridges: created when missing (marked as owned, see
//     link.Marker) and brought up or down; with netprim.WithPrune, owned
//     bridges that are not wanted are deleted (the kernel releases their
//     ports), never bridges Apply does not own;
//  2. the bridge options (MTU, STP, timers, VLAN filtering, default PVID,
//     multicast snooping), in place, before any new port joins, so that a
//     port never joins a bridge without its STP or VLAN filtering;
//  3. the ports: enslaved, and links no longer listed released (never
//     deleted);
//  4. the port VLANs, in place.
//
// A port enslaved to a master that is neither a bridge in want nor an
// owned bridge that this Apply deletes (a foreign bridge, a bond, a vrf)
// is refused before anything is written, for every bridge of want, with
// an error naming spec[i].ports[k] and the master and wrapping
// ErrPortInUse (and so netprim.ErrConflict); Plan returns the same error.
// A port moves between two bridges of want without error.
//
// No option change takes a bridge down or releases a port. A second Apply
// with the same input sends no write request. Errors of independent
// bridges are joined; one bad bridge does not stop the others. The
// returned Plan lists what was changed even with an error.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	want, err := prepare(want)
	if err != nil {
		return netprim.Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return netprim.Plan{}, err
	}
	o := netprim.Resolve(opts...)
	k, err := dial(ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer k.c.Close()
	if err := k.dump(ctx); err != nil {
		return netprim.Plan{}, err
	}
	if err := checkPortsIn(ctx, ns, want, k.snapshot(), opts); err != nil {
		return netprim.Plan{}, err
	}
	failed := map[string]error{}
	var done netprim.Plan
	x := &executor{k: k, writes: o.Writes, failed: failed, done: &done}
	result := func(errs ...error) (netprim.Plan, error) {
		return done, joinUnique(append(errs, joinFailed(want, failed))...)
	}
	// 1. The bridges.
	p1, err1 := link.ApplyKinds(ctx, ns, linkSpecs(want, k.snapshot(), false), kinds, opts...)
	done.Merge(p1)
	if err1 != nil && !isPerLink(err1) && len(p1.Changes) == 0 {
		return done, err1
	}
	if len(p1.Changes) > 0 {
		if err := k.dump(ctx); err != nil {
			return result(err1, err)
		}
	}
	// 2. Their options.
	snap := k.snapshot()
	for _, op := range planOptions(want, snap, failed, false) {
		if op.kind != opAttr {
			continue
		}
		if err := x.run(ctx, op, snap); err != nil {
			return result(err1, err)
		}
	}
	// 3. The ports (link's changes to the bridges were made in step 1).
	p3, err3 := link.ApplyKinds(ctx, ns, linkSpecs(want, snap, true), kinds, opts...)
	done.Merge(p3)
	if err3 != nil && !isPerLink(err3) && len(p3.Changes) == 0 {
		return result(err1, err3)
	}
	// 4. The port VLANs, against what the kernel did.
	if len(done.Changes) > 0 {
		if err := k.dump(ctx); err != nil {
			return result(err1, err3, err)
		}
		snap = k.snapshot()
	}
	for _, op := range planOptions(want, snap, map[string]error{}, false) {
		if op.kind == opAttr {
			continue
		}
		if err := x.run(ctx, op, snap); err != nil {
			return result(err1, err3, err)
		}
	}
	return result(err1, err3)
}

// executor makes bridge option and port VLAN writes, one request each.
type executor struct {
	k      *kernel
	writes *int64
	failed map[string]error
	done   *netprim.Plan
}

// run makes one write, recording a failure for the bridge it belongs to.
// Only an interruption (ctx) is returned.
func (x *executor) run(ctx context.Context, o op, snap *snapshot) error {
	bridge := o.link
	if o.kind != opAttr {
		bridge = snap.links[o.link].master
	}
	if x.failed[bridge] != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bridge: apply interrupted after %d changes (the returned plan lists them): %w", len(x.done.Changes), err)
	}
	var b nl.Batch
	var object string
	switch o.kind {
	case opAttr:
		bridgeattr.SetBridge(&b, snap.bridges[o.link].index, attrSettings(o))
		object = "bridge " + o.link + " " + o.attr
	case opVLANAdd:
		bridgeattr.AddVLAN(&b, snap.links[o.link].index, o.vid, o.end, o.flags)
		object = "bridge vlan " + o.change.Object
	case opVLANDel:
		bridgeattr.DelVLAN(&b, snap.links[o.link].index, o.vid, o.end)
		object = "bridge vlan " + o.change.Object
	}
	if x.writes != nil {
		atomic.AddInt64(x.writes, 1)
	}
	errs, err := x.k.c.Exec(ctx, &b)
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		x.failed[bridge] = netprim.KernelError("set", object, err)
		return nil
	}
	x.done.Append(o.change)
	return nil
}

// attrSettings turns an attribute write into bridgeattr.Settings.
func attrSettings(o op) bridgeattr.Settings {
	var s bridgeattr.Settings
	v := o.value
	u16 := uint16(v)
	on := v != 0
	switch o.attr {
	case attrForwardDelay:
		s.ForwardDelay = &v
	case attrHelloTime:
		s.HelloTime = &v
	case attrMaxAge:
		s.MaxAge = &v
	case attrAgeingTime:
		s.AgeingTime = &v
	case attrSTP:
		s.STPState = &v
	case attrPriority:
		s.Priority = &u16
	case attrVLANFilter:
		s.VLANFiltering = &on
	case attrDefaultPVID:
		s.DefaultPVID = &u16
	case attrMcastSnoop:
		s.MulticastSnooping = &on
	case attrMTU:
		s.MTU = &v
	}
	return s
}

// joinUnique joins errs, leaving out repeats: link reports a bridge it
// cannot create in step 1 and again in step 3.
func joinUnique(errs ...error) error {
	var out []error
	seen := map[string]bool{}
	add := func(err error) {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	for _, err := range errs {
		// Only the list errors.Join made is taken apart, not an error
		// that wraps several (fmt.Errorf with two %w).
		if j, ok := err.(interface{ Unwrap() []error }); ok && fmt.Sprintf("%T", err) == "*errors.joinError" {
			for _, e := range j.Unwrap() {
				add(e)
			}
			continue
		}
		add(err)
	}
	return errors.Join(out...)
}

// joinFailed joins the errors of failed in the order of want.
func joinFailed(want []Spec, failed map[string]error) error {
	var errs []error
	for _, s := range want {
		if err := failed[s.Name]; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
