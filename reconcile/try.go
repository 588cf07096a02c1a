package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
)

// ErrRolledBack marks the error of a Try whose change was rolled back.
var ErrRolledBack = errors.New("rolled back")

// RollbackTimeout bounds the rollback of a Try, which runs also when the
// Try's context was cancelled.
const RollbackTimeout = 30 * time.Second

// Try replaces the source's contribution with st, runs a pass, and calls
// check with the changes made and a context that ends after timeout. When
// check returns nil in time, the change stays and Try returns the changes.
// When the pass fails, check fails, the timeout passes first or ctx ends,
// Try restores what was there before and returns an error wrapping
// ErrRolledBack and the cause, together with every change it made (the
// change and its rollback).
//
// What a rollback restores: the source's previous contribution (and with
// it, through a pass, every object the Reconciler owns: added ones are
// pruned, changed ones changed back, deleted ones re-created, bond and
// bridge options and ports put back); the managed attributes (MTU, state,
// MAC, alias, queue length, master) of existing links that the new state
// changed and the old one did not manage; existing bridges and VLANs the
// new state took over; the firewall table when the new state created it;
// the resolver files the new state wrote and the old one did not manage
// (their bytes, or their absence). It does not give back ownership: an
// existing address, route or rule that the new state adopted (same key,
// unmarked) is pruned or left marked by the rollback, and a bond that
// existed before but was not managed keeps the new options.
//
// An invalid st is refused before anything is applied. Try is meant for
// one caller at a time per source; the background loop (Start) keeps
// repairing drift against the new state while check runs.
func (s *Source) Try(ctx context.Context, st State, timeout time.Duration, check func(ctx context.Context, applied netprim.Plan) error) (netprim.Plan, error) {
	r := s.r
	if errs := validateSections(&st); len(errs) > 0 {
		var all []error
		for _, sec := range builtinSections {
			if err := errs[sec.name]; err != nil {
				all = append(all, &SourceError{Source: s.name, Section: sec.name, Err: err})
			}
		}
		return netprim.Plan{}, errors.Join(all...)
	}
	r.passMu.Lock()
	if r.isClosed() {
		r.passMu.Unlock()
		return netprim.Plan{}, errClosed
	}
	before, err := r.prepare(ctx)
	if err != nil {
		r.passMu.Unlock()
		return netprim.Plan{}, err
	}
	saved := s.save()
	if err := s.Set(st); err != nil { // cannot happen: validated above
		s.restore(saved)
		r.passMu.Unlock()
		return netprim.Plan{}, err
	}
	after, err := r.prepare(ctx)
	var (
		links []link.Status
		snap  *snapshot
	)
	if err == nil {
		links, err = link.List(ctx, r.ns, link.WithoutEthtool())
	}
	if err == nil {
		snap, err = r.snapshot(ctx, before, after, links)
	}
	if err != nil {
		s.restore(saved)
		r.passMu.Unlock()
		return netprim.Plan{}, fmt.Errorf("reconcile: try: snapshot: %w", err)
	}
	keep, err := r.ownedNow(ctx, before, links)
	if err != nil {
		s.restore(saved)
		r.passMu.Unlock()
		return netprim.Plan{}, fmt.Errorf("reconcile: try: snapshot: %w", err)
	}
	for name := range r.wg.devs {
		keep.keepWG[name] = true
	}
	rep := r.run(ctx, nil, []string{"try " + s.name})
	r.passMu.Unlock()
	r.report(rep)
	total := rep.Changes
	// Only the stages' own errors decide: another source's refused
	// section is not this change's failure.
	cause := rep.own
	if cause == nil {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		cause = check(cctx, rep.Changes)
		if cause == nil && cctx.Err() != nil {
			cause = cctx.Err()
		}
		cancel()
		if cause == nil {
			return total, nil
		}
	}
	// Roll back, also when ctx is done.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RollbackTimeout)
	defer cancel()
	r.passMu.Lock()
	s.restore(saved)
	var back Pass
	now, err := r.ownedNow(rctx, before, nil)
	if err == nil {
		// Protect what the owner had before the try and still has: what
		// went away meanwhile (another source withdrew it, a pass pruned
		// it) stays away.
		keep.keep.state = intersect(keep.keep.state, now.keep.state)
		back = r.runWith(rctx, nil, []string{"rollback " + s.name}, keep)
	} else {
		back = Pass{Err: err, own: err}
	}
	total.Merge(back.Changes)
	pl, rerr := snap.restore(rctx, r)
	total.Merge(pl)
	if r.isClosed() {
		// Closed during the check: the rollback may have made devices
		// again that nothing would close.
		rerr = errors.Join(rerr, r.wg.closeAll())
	}
	r.passMu.Unlock()
	r.report(back)
	r.markAll("rollback " + s.name)
	if err := errors.Join(back.own, rerr); err != nil {
		return total, fmt.Errorf("reconcile: try: %w: %w; the rollback failed too: %w", ErrRolledBack, cause, err)
	}
	return total, fmt.Errorf("reconcile: try: %w: %w", ErrRolledBack, cause)
}

// keepPriority is the priority of a rollback's keep layer: below every
// source.
const keepPriority = math.MinInt

// ownedNow returns the keep layer of a rollback: what the owner has in the
// kernel now (links, bridges, VLANs, addresses, routes, rules), so that
// the rollback pass prunes only what the try added, also where the
// previous desired state lacks objects of the owner (a Reconciler that
// does not prune; a first pass). Owned bonds cannot be read back into
// Specs: when one exists that the previous state lacks, the rollback does
// not prune bonds.
//
// links is a listing of the namespace's links made just before, or nil to
// list them.
func (r *Reconciler) ownedNow(ctx context.Context, before *pass, links []link.Status) (*rollback, error) {
	owner := r.cfg.owner
	rb := &rollback{keep: contribution{source: "(before the try)", priority: keepPriority}, noPrune: map[string]string{}, keepWG: map[string]bool{}}
	k := &rb.keep.state
	if links == nil {
		var err error
		if links, err = link.List(ctx, r.ns, link.WithoutEthtool()); err != nil {
			return nil, err
		}
	}
	owned := map[string]bool{}
	var plain []link.Status
	for _, l := range links {
		if l.OwnedBy != owner.Name {
			continue
		}
		owned[l.Name] = true
		switch l.Kind {
		case "bond":
			if !slices.ContainsFunc(before.state.Bonds, func(b bond.Spec) bool { return b.Name == l.Name }) {
				rb.noPrune[StageBonds] = "bond " + l.Name + " of the owner existed before the try"
			}
		case "bridge", "vlan", "wireguard":
		default:
			plain = append(plain, l)
		}
	}
	k.Links = Links(link.Specs(plain)...)
	if len(owned) > 0 {
		bridges, err := bridge.List(ctx, r.ns)
		if err != nil {
			return nil, err
		}
		for _, b := range bridges {
			if owned[b.Name] {
				k.Bridges = append(k.Bridges, b.Spec())
			}
		}
		vlans, err := vlan.List(ctx, r.ns)
		if err != nil {
			return nil, err
		}
		for _, v := range vlans {
			if owned[v.Name] {
				k.VLANs = append(k.VLANs, v.Spec())
			}
		}
	}
	addrs, err := addr.List(ctx, r.ns)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.Protocol == owner.ID {
			k.Addresses = append(k.Addresses, a.Spec())
		}
	}
	routes, err := route.List(ctx, r.ns)
	if err != nil {
		return nil, err
	}
	for _, rt := range routes {
		if rt.Protocol == route.Protocol(owner.ID) && !rt.From.IsValid() {
			k.Routes = append(k.Routes, rt.Spec)
		}
	}
	rules, err := route.ListRules(ctx, r.ns)
	if err != nil {
		return nil, err
	}
	for _, ru := range rules {
		if ru.Protocol == route.Protocol(owner.ID) {
			k.Rules = append(k.Rules, ru.Rule)
		}
	}
	// A section the kernel reports in a form a Spec refuses is left out,
	// and its stage does not prune in the rollback.
	for name, err := range validateSections(k) {
		var empty State
		copySection(k, &empty, name)
		rb.noPrune[name] = "what the owner had before the try cannot be read back: " + err.Error()
	}
	return rb, nil
}

// intersect returns the objects of a that b has too, by merge key.
func intersect(a, b State) State {
	return State{
		Links:     common(a.Links, b.Links, linkKey),
		Bridges:   common(a.Bridges, b.Bridges, func(x bridge.Spec) string { return x.Name }),
		VLANs:     common(a.VLANs, b.VLANs, vlanKey),
		Addresses: common(a.Addresses, b.Addresses, addrKey),
		Routes:    common(a.Routes, b.Routes, routeKey),
		Rules:     common(a.Rules, b.Rules, ruleKey),
	}
}

// common returns the elements of a whose key an element of b has.
func common[T any](a, b []T, key func(T) string) []T {
	in := make(map[string]bool, len(b))
	for _, x := range b {
		in[key(x)] = true
	}
	var out []T
	for _, x := range a {
		if in[key(x)] {
			out = append(out, x)
		}
	}
	return out
}

// savedSource is a source's contribution, to put back after a Try.
type savedSource struct {
	raw, use      State
	errs          map[string]error
	blocked, good map[string]bool
	pending       bool
}

func (s *Source) save() savedSource {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return savedSource{raw: s.raw, use: s.use, errs: clone(s.errs), blocked: clone(s.blocked), good: clone(s.good), pending: s.pending}
}

func (s *Source) restore(v savedSource) {
	s.r.mu.Lock()
	s.raw, s.use, s.errs, s.blocked, s.good, s.pending = v.raw, v.use, v.errs, v.blocked, v.good, v.pending
	s.r.gen++
	s.r.mu.Unlock()
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// snapshot is what a rollback must restore beyond the previous desired
// state: things the new state touches that the old one does not manage.
type snapshot struct {
	links    []link.Spec
	bridges  []bridge.Spec
	vlans    []vlan.Spec
	fwDelete string // the firewall table to delete: the new state created it
	files    []savedFile
}

// savedFile is a file as it was: its bytes and mode, or absent.
type savedFile struct {
	path   string
	exists bool
	data   []byte
	mode   os.FileMode
}

// snapshot records what the step from before to after touches outside
// what before manages; links is a listing of the namespace made just
// before.
func (r *Reconciler) snapshot(ctx context.Context, before, after *pass, links []link.Status) (*snapshot, error) {
	snap := &snapshot{}
	byName := map[string]link.Status{}
	for _, l := range links {
		byName[l.Name] = l
	}
	for _, want := range after.links {
		have, ok := byName[want.Name]
		if !ok {
			continue // created by the new state: pruned on rollback
		}
		var old link.Spec
		if i := slices.IndexFunc(before.links, func(l link.Spec) bool { return l.Name == want.Name }); i >= 0 {
			old = before.links[i]
		}
		if rs, ok := restoreLink(want, old, have.Spec()); ok {
			snap.links = append(snap.links, rs)
		}
	}
	if len(after.state.Bridges) > 0 || len(after.state.VLANs) > 0 {
		if err := snap.logical(ctx, r, before, after); err != nil {
			return nil, err
		}
	}
	if fw := after.state.Firewall; fw != nil && before.state.Firewall == nil {
		table := fw.Table
		if table == "" {
			table = firewall.DefaultTable
		}
		_, err := firewall.Get(ctx, r.ns, table)
		switch {
		case errors.Is(err, netprim.ErrNotFound):
			snap.fwDelete = table
		case err != nil:
			return nil, err
		}
	}
	for _, f := range []struct {
		name     string
		now, was bool
	}{
		{"resolv.conf", after.state.Resolvers != nil, before.state.Resolvers != nil},
		{"hosts", len(after.state.Hosts) > 0 || after.state.Hostname != nil, len(before.state.Hosts) > 0 || before.state.Hostname != nil},
		{"hostname", after.state.Hostname != nil, before.state.Hostname != nil},
	} {
		if !f.now || f.was {
			continue
		}
		sf, err := readFile(filepath.Join(r.cfg.root, "etc", f.name))
		if err != nil {
			return nil, err
		}
		snap.files = append(snap.files, sf)
	}
	return snap, nil
}

// restoreLink returns the spec that gives back the attributes want sets
// and old does not manage, from the link as it is (have), and whether
// there is any.
func restoreLink(want, old, have link.Spec) (link.Spec, bool) {
	out := link.Spec{Name: want.Name}
	set := false
	if want.MTU != 0 && old.MTU == 0 && have.MTU != 0 {
		out.MTU, set = have.MTU, true
	}
	if want.Up != nil && old.Up == nil && have.Up != nil {
		out.Up, set = have.Up, true
	}
	if want.HardwareAddr != "" && old.HardwareAddr == "" && have.HardwareAddr != "" {
		out.HardwareAddr, set = have.HardwareAddr, true
	}
	if want.Alias != nil && old.Alias == nil && have.Alias != nil {
		out.Alias, set = have.Alias, true
	}
	if want.TxQueueLen != 0 && old.TxQueueLen == 0 && have.TxQueueLen != 0 {
		out.TxQueueLen, set = have.TxQueueLen, true
	}
	if want.Master != nil && old.Master == nil && have.Master != nil {
		out.Master, set = have.Master, true
	}
	return out, set
}

// logical records existing bridges and VLANs that the new state manages
// and the old one does not.
func (snap *snapshot) logical(ctx context.Context, r *Reconciler, before, after *pass) error {
	if len(after.state.Bridges) > 0 {
		have, err := bridge.List(ctx, r.ns)
		if err != nil {
			return err
		}
		for _, b := range have {
			if slices.ContainsFunc(after.state.Bridges, func(s bridge.Spec) bool { return s.Name == b.Name }) &&
				!slices.ContainsFunc(before.state.Bridges, func(s bridge.Spec) bool { return s.Name == b.Name }) {
				snap.bridges = append(snap.bridges, b.Spec())
			}
		}
	}
	if len(after.state.VLANs) > 0 {
		have, err := vlan.List(ctx, r.ns)
		if err != nil {
			return err
		}
		for _, v := range have {
			if slices.ContainsFunc(after.state.VLANs, func(s vlan.Spec) bool { return vlanKey(s) == v.Name }) &&
				!slices.ContainsFunc(before.state.VLANs, func(s vlan.Spec) bool { return vlanKey(s) == v.Name }) {
				snap.vlans = append(snap.vlans, v.Spec())
			}
		}
	}
	return nil
}

// restore puts back what the snapshot holds, after the pass that restored
// the previous desired state.
func (snap *snapshot) restore(ctx context.Context, r *Reconciler) (netprim.Plan, error) {
	var total netprim.Plan
	var errs []error
	opts := r.options(false, nil)
	if len(snap.links) > 0 {
		p, err := link.Apply(ctx, r.ns, snap.links, opts...)
		total.Merge(p)
		errs = append(errs, err)
	}
	if len(snap.bridges) > 0 {
		p, err := bridge.Apply(ctx, r.ns, snap.bridges, opts...)
		total.Merge(p)
		errs = append(errs, err)
	}
	if len(snap.vlans) > 0 {
		p, err := vlan.Apply(ctx, r.ns, snap.vlans, opts...)
		total.Merge(p)
		errs = append(errs, err)
	}
	if snap.fwDelete != "" {
		err := firewall.Delete(ctx, r.ns, snap.fwDelete, opts...)
		if err == nil {
			total.Append(netprim.Change{Action: netprim.Delete, Kind: "firewall", Object: "table inet " + snap.fwDelete})
		} else if !errors.Is(err, netprim.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	for _, f := range snap.files {
		c, err := f.put()
		if c != nil {
			total.Append(*c)
		}
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// readFile records a file as it is. A symbolic link is refused: the
// resolver files are never written through one either.
func readFile(path string) (savedFile, error) {
	sf := savedFile{path: path}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return sf, nil
	case err != nil:
		return sf, err
	case !fi.Mode().IsRegular():
		return sf, fmt.Errorf("%s: not a regular file: %w", path, netprim.ErrConflict)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return sf, err
	}
	sf.exists, sf.data, sf.mode = true, data, fi.Mode().Perm()
	return sf, nil
}

// put writes the file back as it was (atomically, by rename), or removes
// it when it did not exist; nothing when it is already so.
func (f savedFile) put() (*netprim.Change, error) {
	cur, err := readFile(f.path)
	if err != nil {
		return nil, err
	}
	if cur.exists == f.exists && string(cur.data) == string(f.data) && (!f.exists || cur.mode == f.mode) {
		return nil, nil
	}
	if !f.exists {
		if err := os.Remove(f.path); err != nil {
			return nil, err
		}
		return &netprim.Change{Action: netprim.Delete, Kind: "file", Object: f.path}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".rollback-*")
	if err != nil {
		return nil, err
	}
	_, err = tmp.Write(f.data)
	if err == nil {
		err = tmp.Chmod(f.mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return &netprim.Change{Action: netprim.Modify, Kind: "file", Object: f.path, Field: "content", To: "restored"}, nil
}
