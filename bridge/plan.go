package bridge

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/netprim/netprim"
)

// This file is the pure part of Plan and Apply: it compares the wanted
// bridge options and port VLANs with a snapshot of the kernel and returns
// the writes that make them match. It does no I/O.

// VLAN flags as the kernel reports them (BRIDGE_VLAN_INFO_*).
const (
	flagPVID     = 0x2
	flagUntagged = 0x4
)

// Kernel defaults of a new bridge (net/bridge/br_device.c, br_vlan.c).
var defaults = bridgeState{
	exists: false, forwardDelay: 1500, helloTime: 200, maxAge: 2000, ageingTime: 30000,
	priority: 0x8000, defaultPVID: 1, multicastSnooping: true, vlanSupport: true,
}

// bridgeState is a bridge's options as the kernel has them (times in
// centiseconds).
type bridgeState struct {
	exists                                      bool
	index                                       int
	mtu                                         int
	forwardDelay, helloTime, maxAge, ageingTime uint32
	stp                                         bool
	priority                                    uint16
	vlanFiltering                               bool
	defaultPVID                                 uint16
	multicastSnooping                           bool
	// vlanSupport: the kernel reports VLAN filtering attributes.
	vlanSupport bool
}

// portState is a link as far as the bridge planner cares.
type portState struct {
	index  int
	kind   string // "" for a link without a kind (a physical NIC)
	mtu    int
	master string
	vlans  map[uint16]uint16 // vid -> flagPVID|flagUntagged
}

// snapshot is what the planner compares want with.
type snapshot struct {
	bridges map[string]*bridgeState
	links   map[string]*portState
}

// opKind is what one write does.
type opKind uint8

const (
	opAttr    opKind = iota + 1 // set one bridge attribute
	opVLANAdd                   // add VLANs to a port, or change their flags
	opVLANDel                   // remove VLANs from a port
)

// Bridge attributes an opAttr sets.
const (
	attrForwardDelay = "forwardDelay"
	attrHelloTime    = "helloTime"
	attrMaxAge       = "maxAge"
	attrAgeingTime   = "ageingTime"
	attrSTP          = "stp"
	attrPriority     = "priority"
	attrVLANFilter   = "vlanFiltering"
	attrDefaultPVID  = "defaultPVID"
	attrMcastSnoop   = "multicastSnooping"
	attrMTU          = "mtu"
)

// op is one write.
type op struct {
	kind   opKind
	change netprim.Change
	link   string // the bridge (opAttr) or the port (opVLAN*)
	attr   string
	value  uint32
	vid    uint16
	end    uint16 // 0: vid alone
	flags  uint16
}

func centis(d time.Duration) uint32 { return uint32(d / Tick) }

func fmtCentis(v uint32) string { return (time.Duration(v) * Tick).String() }

func fmtBool(v bool) string { return strconv.FormatBool(v) }

// planBridge returns the attribute writes that make bridge st match s.
// A default PVID change while VLAN filtering stays on needs filtering off
// for the change (the kernel refuses it otherwise): that is shown as a
// disruptive change.
func planBridge(s *Spec, st *bridgeState) ([]op, error) {
	var ops []op
	attr := func(name string, value uint32, from, to string) {
		ops = append(ops, op{kind: opAttr, link: s.Name, attr: name, value: value,
			change: netprim.Change{Action: netprim.Modify, Kind: "bridge", Object: s.Name, Field: name, From: from, To: to}})
	}
	if s.MTU != 0 && s.MTU != st.mtu {
		attr(attrMTU, uint32(s.MTU), strconv.Itoa(st.mtu), strconv.Itoa(s.MTU))
	}
	timer := func(name string, want time.Duration, have uint32) {
		if want == 0 {
			return
		}
		w := centis(want)
		if w+1 < have || have+1 < w { // the kernel rounds through jiffies
			attr(name, w, fmtCentis(have), want.String())
		}
	}
	timer(attrForwardDelay, s.ForwardDelay, st.forwardDelay)
	timer(attrHelloTime, s.HelloTime, st.helloTime)
	timer(attrMaxAge, s.MaxAge, st.maxAge)
	timer(attrAgeingTime, s.AgeingTime, st.ageingTime)
	if s.STP != nil && *s.STP != st.stp {
		v := uint32(0)
		if *s.STP {
			v = 1
		}
		attr(attrSTP, v, fmtBool(st.stp), fmtBool(*s.STP))
	}
	if s.Priority != nil && *s.Priority != st.priority {
		attr(attrPriority, uint32(*s.Priority), strconv.Itoa(int(st.priority)), strconv.Itoa(int(*s.Priority)))
	}
	if s.MulticastSnooping != nil && *s.MulticastSnooping != st.multicastSnooping {
		attr(attrMcastSnoop, b2u(*s.MulticastSnooping), fmtBool(st.multicastSnooping), fmtBool(*s.MulticastSnooping))
	}
	wantFilter := st.vlanFiltering
	if s.VLANFiltering != nil {
		wantFilter = *s.VLANFiltering
	}
	needVLAN := wantFilter || (s.DefaultPVID != nil && *s.DefaultPVID != defaults.defaultPVID)
	for _, p := range s.Ports {
		needVLAN = needVLAN || len(p.VLANs) > 0
	}
	if needVLAN && !st.vlanSupport {
		return nil, netprim.Unsupported("bridge VLAN filtering", "bridge (a kernel built with CONFIG_BRIDGE_VLAN_FILTERING)")
	}
	filter := st.vlanFiltering
	if s.DefaultPVID != nil && *s.DefaultPVID != st.defaultPVID {
		from := len(ops)
		wasOn := filter
		if filter {
			attr(attrVLANFilter, 0, "true", "false")
			filter = false
		}
		attr(attrDefaultPVID, uint32(*s.DefaultPVID), strconv.Itoa(int(st.defaultPVID)), strconv.Itoa(int(*s.DefaultPVID)))
		if wasOn {
			const reason = "the kernel changes defaultPVID only with vlanFiltering off: VLAN filtering is off briefly"
			for i := from; i < len(ops); i++ {
				ops[i].change.Disruptive, ops[i].change.Reason = true, reason
			}
		}
	}
	if wantFilter != filter {
		attr(attrVLANFilter, b2u(wantFilter), fmtBool(filter), fmtBool(wantFilter))
	}
	return ops, nil
}

func b2u(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}

// predictBridge applies ops to st, as the kernel would.
func predictBridge(st *bridgeState, ops []op, ports map[string]*portState, bridge string) {
	for _, o := range ops {
		if o.kind != opAttr {
			continue
		}
		switch o.attr {
		case attrMTU:
			st.mtu = int(o.value)
		case attrForwardDelay:
			st.forwardDelay = o.value
		case attrHelloTime:
			st.helloTime = o.value
		case attrMaxAge:
			st.maxAge = o.value
		case attrAgeingTime:
			st.ageingTime = o.value
		case attrSTP:
			st.stp = o.value != 0
		case attrPriority:
			st.priority = uint16(o.value)
		case attrMcastSnoop:
			st.multicastSnooping = o.value != 0
		case attrVLANFilter:
			st.vlanFiltering = o.value != 0
		case attrDefaultPVID:
			// Ports whose PVID is the old default (untagged) move to the
			// new one.
			old, pvid := st.defaultPVID, uint16(o.value)
			st.defaultPVID = pvid
			for _, p := range ports {
				if p.master != bridge || p.vlans == nil || p.vlans[old] != flagPVID|flagUntagged {
					continue
				}
				delete(p.vlans, old)
				if pvid != 0 {
					p.vlans[pvid] = flagPVID | flagUntagged
				}
			}
		}
	}
}

// wantVLANs expands a port's VLANs to vid -> flags.
func wantVLANs(vs []VLAN) map[uint16]uint16 {
	m := make(map[uint16]uint16)
	for _, v := range vs {
		fl := uint16(0)
		if v.PVID {
			fl |= flagPVID
		}
		if v.Untagged {
			fl |= flagUntagged
		}
		end := v.VID
		if v.VIDEnd != 0 {
			end = v.VIDEnd
		}
		for vid := v.VID; vid <= end && vid != 0; vid++ {
			m[vid] = fl
		}
	}
	return m
}

// planPortVLANs returns the writes that give port exactly the VLANs of
// want: additions and flag changes first (in VID order, consecutive VIDs
// with the same flags in one range), then removals, so that a port is
// never left without the VLANs it keeps.
func planPortVLANs(bridge, port string, want, have map[uint16]uint16) []op {
	var ops []op
	object := func(vid, end uint16) string {
		o := "vid " + strconv.Itoa(int(vid))
		if end != 0 {
			o += "-" + strconv.Itoa(int(end))
		}
		return o + " dev " + port + " master " + bridge
	}
	var adds []uint16
	for _, vid := range slices.Sorted(maps.Keys(want)) {
		if fl, ok := have[vid]; !ok || fl != want[vid] {
			adds = append(adds, vid)
		}
	}
	for _, r := range runs(adds, func(a, b uint16) bool {
		return want[a] == want[b] && want[a]&flagPVID == 0 && mapsHasSame(have, a, b)
	}) {
		vid, end := r[0], r[1]
		fl := want[vid]
		o := op{kind: opVLANAdd, link: port, vid: vid, end: end, flags: fl}
		if from, ok := have[vid]; ok {
			o.change = netprim.Change{Action: netprim.Modify, Kind: "bridge vlan", Object: object(vid, end),
				Field: "flags", From: flagText(from), To: flagText(fl)}
		} else {
			o.change = netprim.Change{Action: netprim.Add, Kind: "bridge vlan", Object: object(vid, end) + flagWords(fl&flagPVID != 0, fl&flagUntagged != 0, " ")}
		}
		ops = append(ops, o)
	}
	var dels []uint16
	for _, vid := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[vid]; !ok {
			dels = append(dels, vid)
		}
	}
	for _, r := range runs(dels, func(uint16, uint16) bool { return true }) {
		ops = append(ops, op{kind: opVLANDel, link: port, vid: r[0], end: r[1],
			change: netprim.Change{Action: netprim.Delete, Kind: "bridge vlan", Object: object(r[0], r[1])}})
	}
	return ops
}

// mapsHasSame reports whether a and b are both present in have or both
// absent, so that a range is all additions or all flag changes.
func mapsHasSame(have map[uint16]uint16, a, b uint16) bool {
	_, okA := have[a]
	_, okB := have[b]
	return okA == okB && have[a] == have[b]
}

// runs groups sorted vids into ranges [first, last] (last 0 for a single
// vid) of consecutive vids that join pairwise.
func runs(vids []uint16, join func(a, b uint16) bool) [][2]uint16 {
	var out [][2]uint16
	for i := 0; i < len(vids); {
		j := i
		for j+1 < len(vids) && vids[j+1] == vids[j]+1 && join(vids[i], vids[j+1]) {
			j++
		}
		end := uint16(0)
		if j > i {
			end = vids[j]
		}
		out = append(out, [2]uint16{vids[i], end})
		i = j + 1
	}
	return out
}

func flagText(fl uint16) string {
	s := flagWords(fl&flagPVID != 0, fl&flagUntagged != 0, " ")
	if s == "" {
		return "tagged"
	}
	return s[1:]
}

// toVLANs compresses vid -> flags into VLANs, ranges where consecutive
// vids have the same flags (never for the PVID).
func toVLANs(m map[uint16]uint16) []VLAN {
	vids := slices.Sorted(maps.Keys(m))
	out := []VLAN{}
	for _, r := range runs(vids, func(a, b uint16) bool { return m[a] == m[b] && m[a]&flagPVID == 0 }) {
		fl := m[r[0]]
		out = append(out, VLAN{VID: r[0], VIDEnd: r[1], PVID: fl&flagPVID != 0, Untagged: fl&flagUntagged != 0})
	}
	return out
}

// planOptions plans the bridge attributes and port VLANs of want against
// snap, in the order Apply makes them: a bridge's attributes (before its
// new ports are enslaved), then its port VLANs. With predict (Plan) bridges that do not exist yet are taken as
// the kernel creates them and ports not yet enslaved as the kernel
// enslaves them; without it (Apply, after link's changes) such bridges
// and ports are skipped: link has reported why. Bridges that cannot be
// planned are recorded in failed.
func planOptions(want []Spec, snap *snapshot, failed map[string]error, predict bool) []op {
	var ops []op
	for i := range want {
		s := &want[i]
		if failed[s.Name] != nil {
			continue
		}
		st := snap.bridges[s.Name]
		if st == nil && (!predict || snap.links[s.Name] != nil) {
			// Missing after link's changes, or a link of another kind
			// that link reports: nothing to plan here.
			continue
		}
		if st == nil {
			d := defaults
			d.vlanSupport = anyVLANSupport(snap)
			d.mtu = 1500 // ETH_DATA_LEN, before any port joins
			st = &d
			snap.bridges[s.Name] = st
		}
		bops, err := planBridge(s, st)
		if err != nil {
			failed[s.Name] = &netprim.OpError{Op: "set", Object: "bridge " + s.Name, Err: err}
			continue
		}
		// The options are set before the ports are enslaved; new ports
		// get the (new) default PVID, untagged.
		predictBridge(st, bops, snap.links, s.Name)
		for _, p := range s.Ports {
			if !predict {
				break
			}
			ps := snap.links[p.Name]
			if ps == nil {
				ps = &portState{}
				snap.links[p.Name] = ps
			}
			if ps.master != s.Name {
				ps.master = s.Name
				ps.vlans = map[uint16]uint16{}
				if st.vlanSupport && st.defaultPVID != 0 {
					ps.vlans[st.defaultPVID] = flagPVID | flagUntagged
				}
			}
		}
		ops = append(ops, bops...)
		for _, p := range s.Ports {
			if p.VLANs == nil || snap.links[p.Name] == nil || snap.links[p.Name].master != s.Name {
				continue
			}
			ops = append(ops, planPortVLANs(s.Name, p.Name, wantVLANs(p.VLANs), snap.links[p.Name].vlans)...)
		}
	}
	return ops
}

func anyVLANSupport(snap *snapshot) bool {
	for _, b := range snap.bridges {
		if b.exists {
			return b.vlanSupport
		}
	}
	return true
}

// String is for test failures.
func (o op) String() string { return fmt.Sprintf("%v", o.change) }

// checkPorts refuses the ports of want that are enslaved to a master
// Apply must not take them from: any link that is neither a bridge of
// want (by name) nor an owned bridge this Apply deletes (pruned). Moving
// a port between two bridges of want is allowed. The error names each
// port's field and its current master and wraps ErrPortInUse.
func checkPorts(want []Spec, snap *snapshot, pruned map[string]bool) error {
	ours := make(map[string]bool, len(want))
	for _, s := range want {
		ours[s.Name] = true
	}
	var errs []error
	for i, s := range want {
		for k, p := range s.Ports {
			l := snap.links[p.Name]
			if l == nil || l.master == "" || ours[l.master] || pruned[l.master] {
				continue
			}
			kind := "link"
			if m := snap.links[l.master]; m != nil && m.kind != "" {
				kind = m.kind
			}
			errs = append(errs, fmt.Errorf("bridge: spec[%d].ports[%d]: %s is already enslaved to %s %s, which is not a bridge in this list: release it first: %w",
				i, k, p.Name, kind, l.master, ErrPortInUse))
		}
	}
	return errors.Join(errs...)
}
