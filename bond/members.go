package bond

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/link"
)

// This file resolves Spec.MemberSelectors into member names. It does no
// I/O: Plan and Apply give it the links they read.

// attrSlavePermHwaddr is IFLA_BOND_SLAVE_PERM_HWADDR: the address a bond
// port had when it was enslaved, which the bonding driver gives back when
// it releases the port.
const attrSlavePermHwaddr = 4

// hasSelectors reports whether a spec of specs has MemberSelectors.
func hasSelectors(specs []Spec) bool {
	return slices.ContainsFunc(specs, func(s Spec) bool { return len(s.MemberSelectors) > 0 })
}

// portKinds are the link kinds (IFLA_INFO_KIND) that a member selector
// may select: "" (a device its driver registered without a link kind:
// every hardware NIC, virtio_net included), dummy, veth, tun (tap) and
// netdevsim. Every other kind is left out, the stacked and upper kinds
// first of all (vlan, macvlan, macvtap, ipvlan, ipvtap, bond, bridge,
// vrf, team, ...): a VLAN or macvlan carries the address of the link it
// sits on (a VLAN on the bond carries the bond's, which is a member's),
// so a selector by hardwareAddr that picks a NIC would pick them too, and
// Apply would take them down to enslave them. Such a link can still be
// named in Members.
var portKinds = map[string]bool{"": true, "dummy": true, "veth": true, "tun": true, "netdevsim": true}

// candidates returns the links that a member selector may select: the
// links of a kind in portKinds but loopback and links named like a bond
// of specs. A link enslaved to a bond shows the address it had before
// (snap's IFLA_BOND_SLAVE_PERM_HWADDR) instead of the bond's. snap may
// be nil.
func candidates(specs []Spec, links []link.Status, snap *snapshot) []link.Status {
	bonds := make(map[string]bool, len(specs))
	for _, s := range specs {
		bonds[s.Name] = true
	}
	out := make([]link.Status, 0, len(links))
	for _, l := range links {
		if !portKinds[l.Kind] || bonds[l.Name] || slices.Contains(l.Flags, "LOOPBACK") {
			continue
		}
		if snap != nil {
			if r := snap.byName[l.Name]; r != nil && r.Index == l.Index && r.SlaveKind == "bond" {
				if hw := r.SlaveData[attrSlavePermHwaddr]; len(hw) > 0 {
					l.HardwareAddr = net.HardwareAddr(hw).String()
				}
			}
		}
		out = append(out, l)
	}
	return out
}

// resolveMembers sets the Members of every spec that has MemberSelectors
// to its Members followed by the links (of candidates) that any of its
// selectors matches, in the order of links, each once, and clears its
// MemberSelectors. It returns, per spec, the field that names each member
// in errors: "members[k]" or the first "memberSelectors[j]" that selected
// it.
//
// A selector that matches no link is an error wrapping
// netprim.ErrNotFound; a link selected for two bonds, or a Primary that
// is neither listed nor selected, an error wrapping
// netprim.ErrInvalidSpec. Errors name the field ("bond:
// spec[0].memberSelectors[1]: ...") and are joined; on error specs are
// left as they were.
func resolveMembers(specs []Spec, links []link.Status, snap *snapshot) ([][]string, error) {
	cands := candidates(specs, links, snap)
	fields := make([][]string, len(specs))
	members := make([][]string, len(specs))
	var errs []error
	for i, s := range specs {
		members[i] = s.Members
		for k := range s.Members {
			fields[i] = append(fields[i], fmt.Sprintf("members[%d]", k))
		}
		if len(s.MemberSelectors) == 0 {
			continue
		}
		prefix := fmt.Sprintf("bond: spec[%d].", i)
		by := make([]int, len(cands)) // selector index + 1 that picked a candidate
		for j, sel := range s.MemberSelectors {
			field := fmt.Sprintf("memberSelectors[%d]", j)
			if err := sel.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %w", prefix, field, err))
				continue
			}
			n := 0
			for c, l := range cands {
				if sel.Matches(l) {
					n++
					if by[c] == 0 {
						by[c] = j + 1
					}
				}
			}
			if n == 0 {
				errs = append(errs, fmt.Errorf("%s%s: selector %s: no link matches (among %d that may be members): %w",
					prefix, field, sel, len(cands), netprim.ErrNotFound))
			}
		}
		merged := slices.Clone(s.Members)
		for c, l := range cands {
			if by[c] != 0 && !slices.Contains(merged, l.Name) {
				merged = append(merged, l.Name)
				fields[i] = append(fields[i], fmt.Sprintf("memberSelectors[%d]", by[c]-1))
			}
		}
		members[i] = merged
		if s.Primary != "" && !slices.Contains(merged, s.Primary) {
			errs = append(errs, specerr.Invalid(prefix, "primary", "%s is neither in members nor selected by memberSelectors (members: %v)", s.Primary, merged))
		}
	}
	// A link may be a member of one bond only.
	memberOf := make(map[string]int)
	for i := range specs {
		for k, m := range members[i] {
			if j, ok := memberOf[m]; ok {
				errs = append(errs, specerr.Invalid(fmt.Sprintf("bond: spec[%d].", i), fields[i][k],
					"%s is also a member of spec[%d] (%s)", m, j, specs[j].Name))
				continue
			}
			memberOf[m] = i
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i := range specs {
		specs[i].Members = members[i]
		specs[i].MemberSelectors = nil
	}
	return fields, nil
}

// memberField returns the field that names member k of spec i in errors.
func memberField(fields [][]string, i, k int) string {
	if i < len(fields) && k < len(fields[i]) {
		return fields[i][k]
	}
	return fmt.Sprintf("members[%d]", k)
}
