package bond

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/link"
)

// kinds limits link's pruning to bonds.
var kinds = []string{"bond"}

// ErrMemberInUse is wrapped by the error for a member that is enslaved to
// a master that is not a bond in want (another bond, a bridge, a vrf).
var ErrMemberInUse = errors.New("member enslaved elsewhere")

// Plan returns the changes Apply would make to the bonds of ns (nil: the
// caller's namespace) for want, without making them: the same changes, in
// the same order, as the Plan that Apply returns when the kernel does what
// it is asked. With netprim.WithPrune it includes the deletion of owned
// bonds not in want.
//
// A new bond is created down; its members are enslaved, then the options
// its creation request cannot carry are written and it is brought up, each
// a change of its own. A mode change releases the members, changes the
// bond and enslaves them again, each a change of its own.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	specs, snap, err := prepare(ctx, ns, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	p, err := link.PlanKinds(ctx, ns, linkSpecs(specs, snap, ns), kinds, opts...)
	afterRelease(&p, specs, inPlace(specs, snap))
	if err != nil {
		// Apply stops after its first pass.
		return p, err
	}
	p.Changes = append(p.Changes, secondPass(specs, snap, p)...)
	return p, nil
}

// Apply makes the bonds of ns match want and returns the changes it made.
//
// It creates missing bonds (down, marked as owned), changes options in
// place (see the package documentation for the few that need the bond down
// or without members), takes each new member down, enslaves it, brings the
// bond up, releases links that are enslaved to a wanted bond but not
// listed in its Members, and with netprim.WithPrune deletes owned bonds
// not in want (the kernel releases their members). Links that are not
// bonds are never created or deleted.
//
// An invalid spec, a member that does not exist, or a member enslaved to
// a master that is not a bond in want, returns an error before anything
// is written. Other errors are
// those of link.ApplyKinds: per link, joined, with the changes made so far.
// A cancelled ctx stops Apply between two write requests; Apply again
// finishes the work.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	specs, snap, err := prepare(ctx, ns, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	p, err := link.ApplyKinds(ctx, ns, linkSpecs(specs, snap, ns), kinds, opts...)
	if err != nil || len(needsSecondPass(specs, p)) == 0 {
		return p, err
	}
	// The bonds just created, down and with their members: the options
	// vishvananda/netlink cannot send when creating a bond are written
	// now, as in-place changes, and the bonds are brought up.
	snap, err = dumpLinks(ctx, ns)
	if err != nil {
		return p, fmt.Errorf("bond: after creating bonds and enslaving their members (%d changes): %w", len(p.Changes), err)
	}
	p2, err := link.ApplyKinds(ctx, ns, linkSpecs(specs, snap, ns), kinds, opts...)
	if err != nil {
		err = fmt.Errorf("bond: after creating bonds and enslaving their members (%d changes): %w", len(p.Changes), err)
	}
	p.Changes = append(p.Changes, p2.Changes...)
	p.Warnings = append(p.Warnings, p2.Warnings...)
	return p, err
}

// prepare copies, normalizes and validates want, reads the links of ns,
// resolves member selectors into members and refuses members enslaved to
// a master that is not a bond in want.
func prepare(ctx context.Context, ns *netprim.Namespace, want []Spec) ([]Spec, *snapshot, error) {
	specs := make([]Spec, len(want))
	for i, s := range want {
		specs[i] = s.normalized()
	}
	if err := validate(specs); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	snap, err := dumpLinks(ctx, ns)
	if err != nil {
		return nil, nil, err
	}
	var fields [][]string
	if hasSelectors(specs) {
		// The selectors need the driver facts that only link.List reads.
		links, err := link.List(ctx, ns)
		if err != nil {
			return nil, nil, fmt.Errorf("bond: resolving memberSelectors: %w", err)
		}
		if fields, err = resolveMembers(specs, links, snap); err != nil {
			return nil, nil, err
		}
	}
	if err := checkMembers(specs, snap, fields); err != nil {
		return nil, nil, err
	}
	return specs, snap, nil
}

// checkMembers refuses members that do not exist (an error wrapping
// netprim.ErrNotFound), members that are enslaved to a master other than
// a bond in specs, and members that are masters of the bond. fields names
// the members in errors (see resolveMembers); nil for "members[k]".
func checkMembers(specs []Spec, snap *snapshot, fields [][]string) error {
	wanted := make(map[string]bool, len(specs))
	for _, s := range specs {
		wanted[s.Name] = true
	}
	var errs []error
	for i, s := range specs {
		for k, m := range s.Members {
			l := snap.byName[m]
			if l == nil {
				errs = append(errs, fmt.Errorf("bond: spec[%d].%s: link %s does not exist: %w",
					i, memberField(fields, i, k), m, netprim.ErrNotFound))
				continue
			}
			if l.Master == 0 {
				continue
			}
			master := snap.byIndex[l.Master]
			if master == nil || wanted[master.Name] {
				continue
			}
			kind := master.Kind
			if kind == "" {
				kind = "link"
			}
			errs = append(errs, fmt.Errorf("bond: spec[%d].%s: %s is already enslaved to %s %s, which is not in this list: release it first: %w",
				i, memberField(fields, i, k), m, kind, master.Name, ErrMemberInUse))
		}
		if b := snap.byName[s.Name]; b != nil && b.Master != 0 {
			if master := snap.byIndex[b.Master]; master != nil && slices.Contains(s.Members, master.Name) {
				errs = append(errs, specerr.Invalid(fmt.Sprintf("bond: spec[%d].", i), "members",
					"%s is the master of %s: a bond cannot enslave its own master", master.Name, s.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// linkSpecs turns bonds into link specs: the members (enslaved to their
// bond), the links to release, then the bonds, so that link's attribute
// step enslaves members before it brings their bond up.
//
// A bond that does not exist yet is created down (Up unset): Apply's
// second pass brings it up. A bond that its in-place steps take down, and
// members that they release without enslaving them again, are left to
// those steps, so that what link plans from the links before any write
// is what it does after the steps.
func linkSpecs(specs []Spec, snap *snapshot, ns *netprim.Namespace) []link.Spec {
	var out []link.Spec
	e := inPlace(specs, snap)
	isMember := make(map[string]bool)
	for i := range specs {
		s := &specs[i]
		for _, m := range s.Members {
			master := s.Name
			out = append(out, link.Spec{Name: m, Master: &master})
			isMember[m] = true
		}
	}
	for i := range specs {
		b := snap.byName[specs[i].Name]
		if b == nil || b.Kind != "bond" {
			continue
		}
		for _, l := range snap.members(b.Index) {
			if !isMember[l.Name] {
				isMember[l.Name] = true
				if e.released[l.Name] != "" {
					continue
				}
				none := ""
				out = append(out, link.Spec{Name: l.Name, Master: &none})
			}
		}
	}
	for i := range specs {
		s := &specs[i]
		up := s.Up
		if b := snap.byName[s.Name]; b == nil || b.Kind != "bond" || e.down[s.Name] {
			up = nil
		}
		out = append(out, link.Spec{
			Name: s.Name, Kind: "bond", MTU: s.MTU, Up: up, HardwareAddr: s.HardwareAddr,
			Settings: &settings{spec: s, ns: ns, snap: snap},
		})
	}
	return out
}

// List returns the bonds of ns (nil: the caller's namespace), ordered by
// index, with their members and every option read back.
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap, err := dumpLinks(ctx, ns)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, l := range snap.byIndex {
		if l.Kind == "bond" {
			out = append(out, toStatus(l, snap))
		}
	}
	slices.SortFunc(out, func(a, b Status) int { return a.Index - b.Index })
	return out, nil
}

// toStatus decodes a bond and its members.
func toStatus(l *rawLink, snap *snapshot) Status {
	names := snap.names()
	up := l.up()
	st := Status{
		Spec:      Spec{Name: l.Name, MTU: l.MTU, Up: &up, HardwareAddr: l.HardwareAddr},
		Index:     l.Index,
		OperState: operState(l.OperState),
		Carrier:   l.Flags&unix.IFF_LOWER_UP != 0,
		OwnedBy:   ownedBy(l),
	}
	mode := -1
	if v, ok := decodeNum(tU8, l.Data[attrMode]); ok {
		mode = int(v)
	}
	for _, o := range options {
		p, ok := l.Data[o.attr]
		if !ok || mode < 0 || o.modes != 0 && o.modes&(1<<mode) == 0 {
			continue // the kernel reports some options in every mode
		}
		readOption(&st.Spec, o, p, names)
	}
	if v, ok := l.Data[unix.IFLA_BOND_ACTIVE_SLAVE]; ok && len(v) >= 4 {
		idx, _ := decodeNum(tU32, v)
		st.ActiveMember = names[int(idx)]
	}
	if v, ok := l.Data[unix.IFLA_BOND_AD_INFO]; ok {
		ad := &ADInfo{}
		m := attrMap(v)
		u16 := func(t uint16) int { n, _ := decodeNum(tU16, m[t]); return int(n) }
		ad.AggregatorID = u16(unix.IFLA_BOND_AD_INFO_AGGREGATOR)
		ad.NumPorts = u16(unix.IFLA_BOND_AD_INFO_NUM_PORTS)
		ad.ActorKey = u16(unix.IFLA_BOND_AD_INFO_ACTOR_KEY)
		ad.PartnerKey = u16(unix.IFLA_BOND_AD_INFO_PARTNER_KEY)
		if mac := m[unix.IFLA_BOND_AD_INFO_PARTNER_MAC]; len(mac) == 6 {
			ad.PartnerMAC = net.HardwareAddr(mac).String()
		}
		st.AD = ad
	}
	for _, m := range snap.members(l.Index) {
		st.Members = append(st.Members, m.Name)
		st.MemberStatus = append(st.MemberStatus, toMember(m))
	}
	return st
}

func toMember(m *rawLink) Member {
	d := m.SlaveData
	num := func(t valType, a uint16) int { v, _ := decodeNum(t, d[a]); return int(v) }
	out := Member{
		Name: m.Name, Index: m.Index, Up: m.up(), OperState: operState(m.OperState),
		Carrier:          m.Flags&unix.IFF_LOWER_UP != 0,
		State:            pick([]string{"active", "backup"}, num(tU8, unix.IFLA_BOND_SLAVE_STATE)),
		MIIStatus:        pick([]string{"up", "going_down", "down", "going_back"}, num(tU8, unix.IFLA_BOND_SLAVE_MII_STATUS)),
		LinkFailures:     num(tU32, unix.IFLA_BOND_SLAVE_LINK_FAILURE_COUNT),
		QueueID:          num(tU16, unix.IFLA_BOND_SLAVE_QUEUE_ID),
		AggregatorID:     num(tU16, unix.IFLA_BOND_SLAVE_AD_AGGREGATOR_ID),
		ActorPortState:   num(tU8, unix.IFLA_BOND_SLAVE_AD_ACTOR_OPER_PORT_STATE),
		PartnerPortState: num(tU16, unix.IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE),
	}
	if hw := d[unix.IFLA_BOND_SLAVE_PERM_HWADDR]; len(hw) > 0 {
		out.PermHardwareAddr = net.HardwareAddr(hw).String()
	}
	return out
}

// ownedBy returns the owner of the marker "<owner>.<name>" (link.Marker)
// among the bond's alternative names.
func ownedBy(l *rawLink) string {
	for _, a := range l.AltNames {
		if owner, ok := strings.CutSuffix(a, "."+l.Name); ok && owner != "" {
			if link.Marker(netprim.Owner{Name: owner}, l.Name) == a {
				return owner
			}
		}
	}
	return ""
}
