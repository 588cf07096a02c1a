package link

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

// This file is the pure part of Plan and Apply: it compares the wanted
// specs with a snapshot of the kernel's links and returns the operations
// that make them match. It does no I/O.

// state is a snapshot of the links of one namespace.
type state struct {
	links map[string]*observed // by name
	names map[int]string       // index -> name
}

// observed is one link of a snapshot.
type observed struct {
	Status
	raw  netlink.Link // as dumped; nil in tests and for predicted links
	peer string       // a veth's peer as linkkind.Observed.Peer describes it
	// peerErr says why the peer's namespace could not be looked into.
	peerErr error
	// predicted marks a link that the plan creates: zero MTU, TxQueueLen
	// and HardwareAddr are unknown rather than zero.
	predicted bool
}

func newState(links []*observed) *state {
	st := &state{links: make(map[string]*observed, len(links)), names: make(map[int]string, len(links))}
	for _, l := range links {
		st.links[l.Name] = l
		if l.Index != 0 {
			st.names[l.Index] = l.Name
		}
	}
	return st
}

// opKind is what an operation does; each maps to one kernel write, except
// create (add, then the marker) and recreate (delete, add, marker).
type opKind uint8

const (
	opCreate opKind = iota + 1
	opRecreate
	opKindChange
	opDelete
	opSetUp
	opMTU
	opHardwareAddr
	opTxQueueLen
	opAlias
	opMaster
)

// op is one step of a plan.
type op struct {
	kind        opKind
	name        string         // the link
	change      netprim.Change // how the step renders
	spec        *Spec          // create, recreate
	settings    linkkind.Settings
	index       int  // the existing link's index
	wasUp       bool // the link was administratively up when planned
	up          bool
	mtu         int
	txqlen      int
	hw          net.HardwareAddr
	alias       string
	master      string // "" releases the link from its master
	masterIndex int    // master's index; 0 with master ""
	kc          linkkind.Change
	infoData    []nlattr // kind change sent as IFLA_INFO_DATA (see infoDataChanger)
	raw         netlink.Link
}

// planner holds what a plan depends on besides the specs and the state.
type planner struct {
	owner netprim.Owner
	prune bool
	// scope reports whether owned links of a kind may be pruned.
	scope func(kind string) bool
}

func (p *planner) marker(name string) string { return Marker(p.owner, name) }

// owns reports whether l carries p's marker.
func (p *planner) owns(l *observed) bool {
	m := p.marker(l.Name)
	return markedByAltName(m, l.AltNames) || l.Alias == m
}

// linkErr records a failure for one link, as Apply reports it.
func linkErr(op, name string, err error) error {
	return &netprim.OpError{Op: op, Object: "link " + name, Err: err}
}

// structure plans the creations, recreations and in-place kind changes of
// want against st. failed collects the links that cannot be planned, with
// their errors.
func (p *planner) structure(want []Spec, st *state, failed map[string]error) []op {
	var ops, later []op
	for i := range want {
		s := &want[i]
		set := settingsOf(s)
		if set == nil {
			continue
		}
		if err := lowerMissing(s, set, want, st); err != nil {
			failed[s.Name] = err
			continue
		}
		have := st.links[s.Name]
		if have == nil {
			if _, ok := set.(lowered); ok {
				// After the links it may be created on.
				later = append(later, p.createOp(opCreate, s, set, ""))
				continue
			}
			ops = append(ops, p.createOp(opCreate, s, set, ""))
			continue
		}
		if have.peerErr != nil {
			failed[s.Name] = linkErr("find", s.Name, have.peerErr)
			continue
		}
		if have.Kind != set.Kind() {
			reason := "kind " + orUnknown(have.Kind) + " -> " + set.Kind()
			if !p.owns(have) {
				failed[s.Name] = linkErr("create", s.Name, fmt.Errorf(
					"exists as kind %s and is not owned by %s (no marker %s): not replacing it",
					orUnknown(have.Kind), ownerName(p.owner), p.marker(s.Name)))
				continue
			}
			ops = append(ops, p.recreateOp(s, set, reason, have))
			continue
		}
		recreate, changes := set.Diff(linkkind.Observed{Link: have.raw, Peer: have.peer, Names: st.names})
		if recreate != "" {
			if !p.owns(have) {
				failed[s.Name] = linkErr("recreate", s.Name, fmt.Errorf(
					"needs recreating (%s) but is not owned by %s (no marker %s): not replacing it",
					recreate, ownerName(p.owner), p.marker(s.Name)))
				continue
			}
			ops = append(ops, p.recreateOp(s, set, recreate, have))
			continue
		}
		for _, c := range changes {
			var data []nlattr
			if ic, ok := set.(infoDataChanger); ok {
				data = ic.infoData(c)
			}
			ops = append(ops, op{
				kind: opKindChange, name: s.Name, index: have.Index, kc: c, raw: have.raw,
				settings: set, infoData: data,
				change: netprim.Change{Action: netprim.Modify, Kind: "link", Object: s.Name,
					Field: c.Field, From: c.From, To: c.To, Disruptive: c.Disruptive, Reason: c.Reason},
			})
		}
	}
	return append(ops, later...)
}

// lowerMissing reports a link created on a lower link (a macvlan's
// parent, a vxlan's dev) that neither exists nor is created by want.
func lowerMissing(s *Spec, set linkkind.Settings, want []Spec, st *state) error {
	lw, ok := set.(lowered)
	if !ok {
		return nil
	}
	field, name := lw.lower()
	if name == "" || st.links[name] != nil {
		return nil
	}
	for i := range want {
		w := &want[i]
		if w.Name == name && w.Kind != "" || w.Veth != nil && w.Veth.PeerNetns == "" && w.Veth.Peer == name {
			return nil
		}
	}
	return linkErr("create", s.Name, fmt.Errorf("%s: %w: link %s does not exist", field, netprim.ErrNotFound, name))
}

// upAtCreate reports whether the link is created up: only without a
// master, since a port is enslaved before it comes up.
func upAtCreate(s *Spec) bool {
	return s.Up != nil && *s.Up && (s.Master == nil || *s.Master == "")
}

func (p *planner) createOp(kind opKind, s *Spec, set linkkind.Settings, reason string) op {
	parts := []string{set.Describe()}
	if s.MTU != 0 {
		parts = append(parts, "mtu "+strconv.Itoa(s.MTU))
	}
	if s.HardwareAddr != "" {
		parts = append(parts, "hardwareAddr "+s.HardwareAddr)
	}
	if s.TxQueueLen != 0 {
		parts = append(parts, "txQueueLen "+strconv.Itoa(s.TxQueueLen))
	}
	if upAtCreate(s) {
		parts = append(parts, "up")
	}
	c := netprim.Change{Action: netprim.Add, Kind: "link", Object: s.Name, Reason: strings.Join(parts, ", ")}
	if kind == opRecreate {
		c.Action = netprim.Recreate
		c.Disruptive = true
		c.Reason = reason + "; " + c.Reason
	}
	return op{kind: kind, name: s.Name, spec: s, settings: set, change: c}
}

func (p *planner) recreateOp(s *Spec, set linkkind.Settings, reason string, have *observed) op {
	o := p.createOp(opRecreate, s, set, reason)
	o.index, o.raw = have.Index, have.raw
	return o
}

// predict updates st as if ops had been made, so that Plan can go on to
// the attributes of links it would create.
func (p *planner) predict(st *state, ops []op) {
	for _, o := range ops {
		if o.kind != opCreate && o.kind != opRecreate {
			continue
		}
		s := o.spec
		st.links[s.Name] = &observed{
			Status: Status{
				Name: s.Name, Kind: o.settings.Kind(), MTU: s.MTU, TxQueueLen: s.TxQueueLen,
				HardwareAddr: s.HardwareAddr, Up: upAtCreate(s), ParentNetnsID: -1,
				AltNames: []string{p.marker(s.Name)}, OwnedBy: ownerName(p.owner),
			},
			predicted: true,
		}
		if s.Veth != nil && s.Veth.PeerNetns == "" {
			st.links[s.Veth.Peer] = &observed{
				Status: Status{
					Name: s.Veth.Peer, Kind: "veth", MTU: s.MTU, TxQueueLen: s.TxQueueLen,
					ParentNetnsID: -1, Peer: s.Name,
				},
				predicted: true,
			}
		}
	}
}

// attributes plans the attribute changes of want against st, skipping
// links in failed and adding the links it cannot plan to it.
func (p *planner) attributes(want []Spec, st *state, failed map[string]error) []op {
	var ops []op
	for i := range want {
		s := &want[i]
		if failed[s.Name] != nil {
			continue
		}
		have := st.links[s.Name]
		if have == nil {
			err := fmt.Errorf("%w: it does not exist", netprim.ErrNotFound)
			if s.Kind == "" {
				err = fmt.Errorf("%w: it does not exist and has no kind, so it is not created", netprim.ErrNotFound)
			}
			failed[s.Name] = linkErr("set", s.Name, err)
			continue
		}
		linkOps, err := p.linkAttributes(s, have, st)
		if err != nil {
			failed[s.Name] = err
			continue
		}
		ops = append(ops, linkOps...)
	}
	return ops
}

// linkAttributes plans one link's attribute changes in the order the
// kernel wants them: down first when the link is to go down, then MTU,
// address, queue length, alias, master, and up last.
func (p *planner) linkAttributes(s *Spec, have *observed, st *state) ([]op, error) {
	var ops []op
	up := have.Up // as it will be when the next op is made
	mod := func(kind opKind, field, from, to string) *op {
		ops = append(ops, op{
			kind: kind, name: s.Name, index: have.Index, wasUp: up, raw: have.raw,
			change: netprim.Change{Action: netprim.Modify, Kind: "link", Object: s.Name, Field: field, From: from, To: to},
		})
		return &ops[len(ops)-1]
	}
	if s.Up != nil && !*s.Up && up {
		mod(opSetUp, "up", "true", "false").up = false
		up = false
	}
	if s.MTU != 0 && s.MTU != have.MTU {
		mod(opMTU, "mtu", p.num(have, have.MTU), strconv.Itoa(s.MTU)).mtu = s.MTU
	}
	if s.HardwareAddr != "" && s.HardwareAddr != have.HardwareAddr {
		hw, err := net.ParseMAC(s.HardwareAddr)
		if err != nil {
			return nil, linkErr("set", s.Name, fmt.Errorf("hardwareAddr: %w", err))
		}
		mod(opHardwareAddr, "hardwareAddr", have.HardwareAddr, s.HardwareAddr).hw = hw
	}
	if s.TxQueueLen != 0 && s.TxQueueLen != have.TxQueueLen {
		mod(opTxQueueLen, "txQueueLen", p.num(have, have.TxQueueLen), strconv.Itoa(s.TxQueueLen)).txqlen = s.TxQueueLen
	}
	if s.Alias != nil && *s.Alias != have.Alias {
		m := p.marker(s.Name)
		if have.Alias == m && !markedByAltName(m, have.AltNames) {
			return nil, linkErr("set", s.Name, fmt.Errorf(
				"alias: the alias holds the ownership marker %s (the kernel lacks alternative names): not changing it", m))
		}
		mod(opAlias, "alias", have.Alias, *s.Alias).alias = *s.Alias
	}
	if s.Master != nil && *s.Master != have.Master {
		m := *s.Master
		if m != "" {
			ml := st.links[m]
			if ml == nil {
				return nil, linkErr("set", s.Name, fmt.Errorf("master: %w: link %s does not exist", netprim.ErrNotFound, m))
			}
			// Bond ports are enslaved while down (older kernels refuse an
			// up port; the bond brings it up itself).
			if ml.Kind == "bond" && up {
				c := mod(opSetUp, "up", "true", "false")
				c.change.Disruptive = true
				c.change.Reason = "enslaved to bond " + m + " while down"
				up = false
			}
		}
		o := mod(opMaster, "master", have.Master, m)
		o.master = m
		if m != "" {
			o.masterIndex = st.links[m].Index
		}
	}
	wantUp := have.Up
	if s.Up != nil {
		wantUp = *s.Up
	}
	if wantUp && !up {
		mod(opSetUp, "up", "false", "true").up = true
	}
	return ops, nil
}

// num renders a number From a link, "" when a predicted link's value is
// unknown.
func (p *planner) num(have *observed, v int) string {
	if have.predicted && v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

// prunes plans the deletion of owned links that are not wanted, in index
// order. Warnings explain owned links that are kept.
func (p *planner) prunes(want []Spec, st *state) (ops []op, warnings []string) {
	if !p.prune {
		return nil, nil
	}
	wanted := make(map[string]bool, len(want))
	for _, s := range want {
		wanted[s.Name] = true
		if s.Veth != nil && s.Veth.PeerNetns == "" {
			wanted[s.Veth.Peer] = true
		}
	}
	links := make([]*observed, 0, len(st.links))
	for _, l := range st.links {
		links = append(links, l)
	}
	slices.SortFunc(links, func(a, b *observed) int { return a.Index - b.Index })
	deleted := make(map[string]bool)
	for _, l := range links {
		if wanted[l.Name] || !p.owns(l) || !p.scope(l.Kind) {
			continue
		}
		if l.Kind == "veth" && l.Peer != "" {
			if wanted[l.Peer] {
				warnings = append(warnings, fmt.Sprintf(
					"owned link %s is not wanted but is kept: it is the veth peer of wanted link %s", l.Name, l.Peer))
				continue
			}
			if deleted[l.Peer] {
				continue // goes away with its peer
			}
		}
		deleted[l.Name] = true
		ops = append(ops, op{
			kind: opDelete, name: l.Name, index: l.Index, raw: l.raw,
			change: netprim.Change{Action: netprim.Delete, Kind: "link", Object: l.Name},
		})
	}
	return ops, warnings
}

// defaultScope is the prune scope of Plan and Apply: every kind except
// those created by their own packages.
func defaultScope(kind string) bool { return kind != "" && packageKinds[kind] == "" }

// kindsScope limits pruning to kinds.
func kindsScope(kinds []string) func(string) bool {
	return func(kind string) bool { return kind != "" && slices.Contains(kinds, kind) }
}

// joinFailed returns the errors of failed in the order of want, then any
// others sorted by name.
func joinFailed(want []Spec, failed map[string]error) error {
	if len(failed) == 0 {
		return nil
	}
	var errs []error
	seen := make(map[string]bool, len(failed))
	for _, s := range want {
		if err := failed[s.Name]; err != nil && !seen[s.Name] {
			errs = append(errs, err)
			seen[s.Name] = true
		}
	}
	var rest []string
	for name := range failed {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		errs = append(errs, failed[name])
	}
	return errors.Join(errs...)
}

// prepare copies and normalizes want and validates it with the options.
func prepare(want []Spec, o netprim.Options) ([]Spec, error) {
	if err := validOwner(o.Owner); err != nil {
		return nil, err
	}
	out := make([]Spec, len(want))
	for i, s := range want {
		out[i] = s.normalized()
	}
	if err := validate(out); err != nil {
		return nil, err
	}
	return out, nil
}

// planAll is Plan without I/O: every operation Apply would make against
// st, with the creations' effects predicted. Like Apply, it skips the links
// it cannot plan and returns the plan of the others together with their
// joined errors.
func (p *planner) planAll(want []Spec, st *state) (netprim.Plan, error) {
	failed := make(map[string]error)
	ops := p.structure(want, st, failed)
	p.predict(st, ops)
	ops = append(ops, p.attributes(want, st, failed)...)
	prunes, warnings := p.prunes(want, st)
	ops = append(ops, prunes...)
	plan := netprim.Plan{Warnings: warnings}
	for _, o := range ops {
		plan.Append(o.change)
	}
	return plan, joinFailed(want, failed)
}

func orUnknown(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
