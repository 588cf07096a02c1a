package bond

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// IFLA_BOND_* attribute types (linux/if_link.h), here so that the
// option table builds on every platform.
const (
	attrAdActorSystem   = 26
	attrAdActorSysPrio  = 24
	attrAdLacpActive    = 29
	attrAdLacpRate      = 21
	attrAdSelect        = 22
	attrAdUserPortKey   = 25
	attrAllSlavesActive = 17
	attrArpAllTargets   = 10
	attrArpInterval     = 7
	attrArpIpTarget     = 8
	attrArpValidate     = 9
	attrDowndelay       = 5
	attrFailOverMac     = 13
	attrLpInterval      = 19
	attrMiimon          = 3
	attrMinLinks        = 18
	attrMissedMax       = 30
	attrMode            = 1
	attrNsIp6Target     = 31
	attrNumPeerNotif    = 16
	attrPacketsPerSlave = 20
	attrPeerNotifDelay  = 28
	attrPrimary         = 11
	attrPrimaryReselect = 12
	attrResendIgmp      = 15
	attrTlbDynamicLb    = 27
	attrUpdelay         = 4
	attrUseCarrier      = 6
	attrXmitHashPolicy  = 14
)

// modeSet is a set of modes, one bit per kernel mode number.
type modeSet uint8

const (
	rr modeSet = 1 << iota
	ab
	xor
	bc
	ad
	tlb
	alb

	// arpModes are the modes with ARP/NS monitoring.
	arpModes = rr | ab | xor | bc
)

// String renders the set as "a, b or c".
func (m modeSet) String() string {
	var names []string
	for i, n := range Modes {
		if m&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// valType is how an option is encoded in IFLA_INFO_DATA.
type valType uint8

const (
	tU8 valType = iota + 1
	tU16
	tU32
	tMAC
	tIP4List
	tIP6List
	tPrimary // u32 ifindex, rendered as a name
)

// option describes one bonding option: its Spec field, its attribute and
// where and when the kernel takes it.
type option struct {
	field string // Spec field name as in YAML
	attr  uint16 // IFLA_BOND_*
	typ   valType
	// modes are the modes the option is valid in; 0 means all.
	modes modeSet
	// ifDown: the kernel takes it only while the bond is down.
	// noMembers: only while the bond has no members.
	ifDown, noMembers bool
	// extra: vishvananda/netlink cannot send it when creating a bond, so
	// it is written just after creation.
	extra bool
	// names are the names of enumerated values by number.
	names []string
	// num returns a numeric value (an enum's name is looked up in names,
	// a bool is 0 or 1) and whether it is managed.
	num func(*Spec) (uint64, bool)
	// str returns a non-numeric value (MAC, primary) and whether it is
	// managed.
	str func(*Spec) (string, bool)
	// addrs returns a target list and whether it is managed.
	addrs func(*Spec) ([]netip.Addr, bool)
	// lo, hi bound a managed number.
	lo, hi uint64
	check  func(*Spec) error
}

// set reports whether s manages the option.
func (o *option) set(s *Spec) bool {
	switch {
	case o.num != nil:
		_, ok := o.num(s)
		return ok
	case o.str != nil:
		_, ok := o.str(s)
		return ok
	default:
		_, ok := o.addrs(s)
		return ok
	}
}

func u32(f func(*Spec) uint32) func(*Spec) (uint64, bool) {
	return func(s *Spec) (uint64, bool) { v := f(s); return uint64(v), v != 0 }
}

func flag(f func(*Spec) *bool) func(*Spec) (uint64, bool) {
	return func(s *Spec) (uint64, bool) {
		p := f(s)
		if p == nil {
			return 0, false
		}
		if *p {
			return 1, true
		}
		return 0, true
	}
}

// enum looks the value's name up in names; an unknown name is returned as
// math.MaxUint64 for check to report.
func enum(names []string, f func(*Spec) string) func(*Spec) (uint64, bool) {
	return func(s *Spec) (uint64, bool) {
		v := f(s)
		if v == "" {
			return 0, false
		}
		for i, n := range names {
			if n == v {
				return uint64(i), true
			}
		}
		return math.MaxUint64, true
	}
}

var (
	arpValidateNames     = []string{"none", "active", "backup", "all", "filter", "filter_active", "filter_backup"}
	arpAllTargetsNames   = []string{"any", "all"}
	primaryReselectNames = []string{"always", "better", "failure"}
	failOverMacNames     = []string{"none", "active", "follow"}
	xmitHashPolicyNames  = []string{"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"}
	lacpRateNames        = []string{"slow", "fast"}
	adSelectNames        = []string{"stable", "bandwidth", "count"}
	onOffNames           = []string{"off", "on"}
	boolNames            = []string{"false", "true"}
)

const maxInt = math.MaxInt32

// modeOption is the mode, the first option written.
var modeOption = &option{field: "mode", attr: attrMode, typ: tU8, ifDown: true, noMembers: true,
	names: Modes, num: enum(Modes, func(s *Spec) string { return s.Mode }), hi: 6}

// options are the bonding options of a Spec, in the order Apply writes
// them (mode first, then monitoring intervals before what depends on them).
var options = []*option{
	modeOption,
	{field: "miimon", attr: attrMiimon, typ: tU32, num: u32(func(s *Spec) uint32 { return s.Miimon }), lo: 1, hi: maxInt},
	{field: "upDelay", attr: attrUpdelay, typ: tU32, num: u32(func(s *Spec) uint32 { return s.UpDelay }), lo: 1, hi: maxInt},
	{field: "downDelay", attr: attrDowndelay, typ: tU32, num: u32(func(s *Spec) uint32 { return s.DownDelay }), lo: 1, hi: maxInt},
	{field: "peerNotifDelay", attr: attrPeerNotifDelay, typ: tU32, extra: true,
		num: u32(func(s *Spec) uint32 { return s.PeerNotifDelay }), lo: 1, hi: maxInt},
	{field: "useCarrier", attr: attrUseCarrier, typ: tU8, names: boolNames, num: flag(func(s *Spec) *bool { return s.UseCarrier }), hi: 1},
	{field: "arpInterval", attr: attrArpInterval, typ: tU32, modes: arpModes,
		num: u32(func(s *Spec) uint32 { return s.ARPInterval }), lo: 1, hi: maxInt},
	{field: "arpIPTargets", attr: attrArpIpTarget, typ: tIP4List, modes: arpModes,
		addrs: func(s *Spec) ([]netip.Addr, bool) { return s.ARPIPTargets, s.ARPIPTargets != nil },
		check: func(s *Spec) error { return checkTargets(s.ARPIPTargets, true) }},
	{field: "nsIP6Targets", attr: attrNsIp6Target, typ: tIP6List, modes: arpModes, extra: true,
		addrs: func(s *Spec) ([]netip.Addr, bool) { return s.NSIP6Targets, s.NSIP6Targets != nil },
		check: func(s *Spec) error { return checkTargets(s.NSIP6Targets, false) }},
	{field: "arpValidate", attr: attrArpValidate, typ: tU32, modes: arpModes, names: arpValidateNames,
		num: enum(arpValidateNames, func(s *Spec) string { return s.ARPValidate })},
	{field: "arpAllTargets", attr: attrArpAllTargets, typ: tU32, modes: arpModes, names: arpAllTargetsNames,
		num: enum(arpAllTargetsNames, func(s *Spec) string { return s.ARPAllTargets })},
	{field: "missedMax", attr: attrMissedMax, typ: tU8, modes: arpModes, extra: true,
		num: func(s *Spec) (uint64, bool) { return uint64(s.MissedMax), s.MissedMax != 0 }, lo: 1, hi: 255},
	{field: "primary", attr: attrPrimary, typ: tPrimary, modes: ab | tlb | alb,
		str: func(s *Spec) (string, bool) { return s.Primary, s.Primary != "" }},
	{field: "primaryReselect", attr: attrPrimaryReselect, typ: tU8, modes: ab | tlb | alb, names: primaryReselectNames,
		num: enum(primaryReselectNames, func(s *Spec) string { return s.PrimaryReselect })},
	{field: "failOverMac", attr: attrFailOverMac, typ: tU8, modes: ab, noMembers: true, names: failOverMacNames,
		num: enum(failOverMacNames, func(s *Spec) string { return s.FailOverMac })},
	{field: "xmitHashPolicy", attr: attrXmitHashPolicy, typ: tU8, modes: xor | ad | tlb, names: xmitHashPolicyNames,
		num: enum(xmitHashPolicyNames, func(s *Spec) string { return s.XmitHashPolicy })},
	{field: "resendIGMP", attr: attrResendIgmp, typ: tU32,
		num: func(s *Spec) (uint64, bool) { return uint64(s.ResendIGMP), s.ResendIGMP != 0 }, lo: 1, hi: 255},
	{field: "numPeerNotif", attr: attrNumPeerNotif, typ: tU8,
		num: func(s *Spec) (uint64, bool) { return uint64(s.NumPeerNotif), s.NumPeerNotif != 0 }, lo: 1, hi: 255},
	{field: "allSlavesActive", attr: attrAllSlavesActive, typ: tU8, names: boolNames,
		num: flag(func(s *Spec) *bool { return s.AllSlavesActive }), hi: 1},
	{field: "minLinks", attr: attrMinLinks, typ: tU32, modes: ad,
		num: u32(func(s *Spec) uint32 { return s.MinLinks }), lo: 1, hi: math.MaxUint32},
	{field: "lpInterval", attr: attrLpInterval, typ: tU32, modes: tlb | alb,
		num: u32(func(s *Spec) uint32 { return s.LPInterval }), lo: 1, hi: maxInt},
	{field: "packetsPerSlave", attr: attrPacketsPerSlave, typ: tU32, modes: rr,
		num: u32(func(s *Spec) uint32 { return s.PacketsPerSlave }), lo: 1, hi: 65535},
	{field: "lacpRate", attr: attrAdLacpRate, typ: tU8, modes: ad, ifDown: true, names: lacpRateNames,
		num: enum(lacpRateNames, func(s *Spec) string { return s.LACPRate })},
	{field: "adSelect", attr: attrAdSelect, typ: tU8, modes: ad, ifDown: true, names: adSelectNames,
		num: enum(adSelectNames, func(s *Spec) string { return s.ADSelect })},
	{field: "adActorSysPrio", attr: attrAdActorSysPrio, typ: tU16, modes: ad,
		num: func(s *Spec) (uint64, bool) { return uint64(s.ADActorSysPrio), s.ADActorSysPrio != 0 }, lo: 1, hi: 65535},
	{field: "adUserPortKey", attr: attrAdUserPortKey, typ: tU16, modes: ad, ifDown: true,
		num: func(s *Spec) (uint64, bool) { return uint64(s.ADUserPortKey), s.ADUserPortKey != 0 }, lo: 1, hi: 1023},
	{field: "adActorSystem", attr: attrAdActorSystem, typ: tMAC, modes: ad,
		str:   func(s *Spec) (string, bool) { return s.ADActorSystem, s.ADActorSystem != "" },
		check: func(s *Spec) error { return validMAC(s.ADActorSystem) }},
	{field: "adLACPActive", attr: attrAdLacpActive, typ: tU8, modes: ad, ifDown: true, extra: true, names: onOffNames,
		num: flag(func(s *Spec) *bool { return s.ADLACPActive }), hi: 1},
	{field: "tlbDynamicLB", attr: attrTlbDynamicLb, typ: tU8, modes: tlb, ifDown: true, names: boolNames,
		num: flag(func(s *Spec) *bool { return s.TLBDynamicLB }), hi: 1},
}

func init() {
	// Range checks for numbers and enums, common to all options.
	for _, o := range options {
		if o.num == nil || o.check != nil {
			continue
		}
		o.check = func(s *Spec) error {
			v, _ := o.num(s)
			if o.names != nil {
				if v >= uint64(len(o.names)) {
					name, _ := o.str2(s)
					return fmt.Errorf("unknown value %q, want one of %s", name, strings.Join(o.names, ", "))
				}
				return nil
			}
			return inRange(v, o.lo, o.hi)
		}
	}
}

// str2 returns the name an enum option was given, for error messages.
func (o *option) str2(s *Spec) (string, bool) {
	switch o.field {
	case "mode":
		return s.Mode, true
	case "arpValidate":
		return s.ARPValidate, true
	case "arpAllTargets":
		return s.ARPAllTargets, true
	case "primaryReselect":
		return s.PrimaryReselect, true
	case "failOverMac":
		return s.FailOverMac, true
	case "xmitHashPolicy":
		return s.XmitHashPolicy, true
	case "lacpRate":
		return s.LACPRate, true
	case "adSelect":
		return s.ADSelect, true
	}
	return "", false
}

// checkTargets validates ARP (v4) or NS (IPv6) targets.
func checkTargets(addrs []netip.Addr, v4 bool) error {
	if len(addrs) > MaxTargets {
		return fmt.Errorf("%d targets, more than %d", len(addrs), MaxTargets)
	}
	seen := make(map[netip.Addr]bool, len(addrs))
	for i, a := range addrs {
		switch {
		case !a.IsValid():
			return fmt.Errorf("[%d]: not an address", i)
		case v4 && !a.Is4():
			return fmt.Errorf("[%d]: %s is not an IPv4 address", i, a)
		case !v4 && (!a.Is6() || a.Is4In6()):
			return fmt.Errorf("[%d]: %s is not an IPv6 address", i, a)
		case a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return fmt.Errorf("[%d]: %s cannot be a target", i, a)
		case seen[a]:
			return fmt.Errorf("[%d]: %s is given twice", i, a)
		}
		seen[a] = true
	}
	return nil
}

// encode returns the attribute payload of o as s wants it; index maps a
// link name to its interface index (for primary). ok is false when s does
// not manage o.
func (o *option) encode(s *Spec, index func(string) int) (b []byte, ok bool) {
	switch o.typ {
	case tU8, tU16, tU32:
		v, ok := o.num(s)
		if !ok {
			return nil, false
		}
		return encodeNum(o.typ, v), true
	case tPrimary:
		name, ok := o.str(s)
		if !ok {
			return nil, false
		}
		return binary.NativeEndian.AppendUint32(nil, uint32(index(name))), true
	case tMAC:
		v, ok := o.str(s)
		if !ok {
			return nil, false
		}
		hw, err := net.ParseMAC(v)
		if err != nil {
			return nil, false
		}
		return []byte(hw), true
	default:
		addrs, ok := o.addrs(s)
		if !ok {
			return nil, false
		}
		var out []byte
		for i, a := range addrs {
			raw := a.AsSlice()
			out = binary.NativeEndian.AppendUint16(out, uint16(4+len(raw)))
			out = binary.NativeEndian.AppendUint16(out, uint16(i))
			out = append(out, raw...)
			for len(out)%4 != 0 {
				out = append(out, 0)
			}
		}
		return out, true
	}
}

func encodeNum(t valType, v uint64) []byte {
	switch t {
	case tU8:
		return []byte{uint8(v)}
	case tU16:
		return binary.NativeEndian.AppendUint16(nil, uint16(v))
	}
	return binary.NativeEndian.AppendUint32(nil, uint32(v))
}

// decodeNum reads a number of type t; ok is false when b is too short.
func decodeNum(t valType, b []byte) (uint64, bool) {
	switch {
	case t == tU8 && len(b) >= 1:
		return uint64(b[0]), true
	case t == tU16 && len(b) >= 2:
		return uint64(binary.NativeEndian.Uint16(b)), true
	case (t == tU32 || t == tPrimary) && len(b) >= 4:
		return uint64(binary.NativeEndian.Uint32(b)), true
	}
	return 0, false
}

// decodeAddrs reads a nested target list.
func decodeAddrs(b []byte) []netip.Addr {
	var out []netip.Addr
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b))
		if n < 4 || n > len(b) {
			break
		}
		if a, ok := netip.AddrFromSlice(b[4:n]); ok {
			out = append(out, a)
		}
		step := (n + 3) &^ 3
		if step > len(b) {
			step = len(b)
		}
		b = b[step:]
	}
	return out
}

// render renders a payload of o for a Plan; names maps indexes to names.
// A nil payload renders as "".
func (o *option) render(b []byte, names map[int]string) string {
	if b == nil {
		return ""
	}
	switch o.typ {
	case tMAC:
		return net.HardwareAddr(b).String()
	case tIP4List, tIP6List:
		addrs := decodeAddrs(b)
		s := make([]string, len(addrs))
		for i, a := range addrs {
			s[i] = a.String()
		}
		return strings.Join(s, ",")
	}
	v, ok := decodeNum(o.typ, b)
	if !ok {
		return "?"
	}
	switch {
	case o.typ == tPrimary:
		if n := names[int(v)]; n != "" {
			return n
		}
		return "ifindex " + strconv.FormatUint(v, 10)
	case o.names != nil && v < uint64(len(o.names)):
		return o.names[v]
	case o.names != nil:
		return strconv.FormatUint(v, 10)
	}
	return strconv.FormatUint(v, 10)
}

// equal compares a wanted payload with the kernel's. Numbers compare by
// value (the kernel may use a wider type than the request), lists and
// addresses by content.
func (o *option) equal(want, have []byte) bool {
	switch o.typ {
	case tMAC:
		return string(want) == string(have)
	case tIP4List, tIP6List:
		a, b := decodeAddrs(want), decodeAddrs(have)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	w, ok1 := decodeNum(o.typ, want)
	h, ok2 := decodeNum(o.typ, have)
	return ok1 && ok2 && w == h
}
