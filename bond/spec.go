package bond

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

// Modes are the bonding modes, as the kernel and "ip link" name them, in
// the order of their kernel numbers (0..6).
var Modes = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}

// Spec is the desired state of one bond.
//
// Every option left at its zero value (nil for pointers) is not managed:
// a new bond gets the kernel's default, an existing bond keeps its value.
// Options that the kernel accepts only in some modes are refused by
// Validate in the others. Durations are in milliseconds.
type Spec struct {
	// Name is the bond's interface name. Required.
	Name string `json:"name" yaml:"name"`
	// Mode is one of Modes. Required.
	Mode string `json:"mode" yaml:"mode"`
	// Members are the names of the links to enslave. They must exist: Plan
	// and Apply refuse a missing member before any write, with an error
	// wrapping netprim.ErrNotFound. Links enslaved to the bond but not
	// listed are released.
	Members []string `json:"members,omitempty" yaml:"members,omitempty"`
	// MemberSelectors pick members by what their hardware reports instead
	// of by name (see package selector), alone or in addition to Members.
	// Plan and Apply resolve them against the links of the namespace:
	// every selector must match at least one link; the members are
	// Members followed by the links that any selector matches, in index
	// order, each once. Only links that can be bond ports are selected:
	// hardware NICs (no link kind), dummy, veth, tun/tap and netdevsim
	// links; never loopback, the bond itself, nor links of any other kind,
	// the stacked and upper kinds among them (vlan, macvlan, macvtap,
	// ipvlan, ipvtap, bond, bridge, vrf, team, ...), which can carry the
	// address of a link below them: a VLAN on the bond or on a selected
	// NIC is never selected. A link enslaved to a bond is matched with the
	// address it had before (the one the bonding driver gives back on
	// release), not the bond's address it carries while enslaved, so a
	// selector by hardwareAddr keeps selecting the same links after Apply.
	MemberSelectors []selector.Selector `json:"memberSelectors,omitempty" yaml:"memberSelectors,omitempty"`

	// MTU, Up and HardwareAddr are the bond's link attributes, managed as
	// package link manages them (see link.Spec).
	MTU          int    `json:"mtu,omitempty" yaml:"mtu,omitempty"`
	Up           *bool  `json:"up,omitempty" yaml:"up,omitempty"`
	HardwareAddr string `json:"hardwareAddr,omitempty" yaml:"hardwareAddr,omitempty"`

	// Miimon is the MII link monitoring interval (miimon).
	Miimon uint32 `json:"miimon,omitempty" yaml:"miimon,omitempty"`
	// UpDelay and DownDelay wait before enabling or disabling a member
	// after a link change (updelay, downdelay); multiples of Miimon,
	// which must be set with them.
	UpDelay   uint32 `json:"upDelay,omitempty" yaml:"upDelay,omitempty"`
	DownDelay uint32 `json:"downDelay,omitempty" yaml:"downDelay,omitempty"`
	// UseCarrier makes MII monitoring use the carrier state (use_carrier).
	UseCarrier *bool `json:"useCarrier,omitempty" yaml:"useCarrier,omitempty"`
	// ARPInterval is the ARP monitoring interval (arp_interval). Not with
	// Miimon.
	ARPInterval uint32 `json:"arpInterval,omitempty" yaml:"arpInterval,omitempty"`
	// ARPIPTargets are the IPv4 addresses ARP monitoring probes
	// (arp_ip_target), at most 16.
	ARPIPTargets []netip.Addr `json:"arpIPTargets,omitempty" yaml:"arpIPTargets,omitempty"`
	// ARPValidate is none, active, backup, all, filter, filter_active or
	// filter_backup (arp_validate).
	ARPValidate string `json:"arpValidate,omitempty" yaml:"arpValidate,omitempty"`
	// ARPAllTargets is any or all (arp_all_targets).
	ARPAllTargets string `json:"arpAllTargets,omitempty" yaml:"arpAllTargets,omitempty"`
	// Primary is the member preferred as the active one (primary); it
	// must be in Members or, once they are resolved, be selected by
	// MemberSelectors.
	Primary string `json:"primary,omitempty" yaml:"primary,omitempty"`
	// PrimaryReselect is always, better or failure (primary_reselect).
	PrimaryReselect string `json:"primaryReselect,omitempty" yaml:"primaryReselect,omitempty"`
	// FailOverMac is none, active or follow (fail_over_mac).
	FailOverMac string `json:"failOverMac,omitempty" yaml:"failOverMac,omitempty"`
	// XmitHashPolicy is layer2, layer3+4, layer2+3, encap2+3, encap3+4
	// or vlan+srcmac (xmit_hash_policy).
	XmitHashPolicy string `json:"xmitHashPolicy,omitempty" yaml:"xmitHashPolicy,omitempty"`
	// LACPRate is slow or fast (lacp_rate).
	LACPRate string `json:"lacpRate,omitempty" yaml:"lacpRate,omitempty"`
	// ADSelect is stable, bandwidth or count (ad_select).
	ADSelect string `json:"adSelect,omitempty" yaml:"adSelect,omitempty"`
	// ADActorSysPrio is the 802.3ad system priority (ad_actor_sys_prio),
	// 1..65535.
	ADActorSysPrio uint16 `json:"adActorSysPrio,omitempty" yaml:"adActorSysPrio,omitempty"`
	// ADUserPortKey is the user part of the 802.3ad port key
	// (ad_user_port_key), 0..1023.
	ADUserPortKey uint16 `json:"adUserPortKey,omitempty" yaml:"adUserPortKey,omitempty"`
	// ADActorSystem is the 802.3ad system MAC address (ad_actor_system).
	ADActorSystem string `json:"adActorSystem,omitempty" yaml:"adActorSystem,omitempty"`
	// MinLinks is the number of members that must be up for the bond to
	// have carrier (min_links).
	MinLinks uint32 `json:"minLinks,omitempty" yaml:"minLinks,omitempty"`
	// AllSlavesActive delivers duplicate frames received on inactive
	// members (all_slaves_active).
	AllSlavesActive *bool `json:"allSlavesActive,omitempty" yaml:"allSlavesActive,omitempty"`
	// PacketsPerSlave is the number of packets sent through a member
	// before moving to the next (packets_per_slave), 1..65535.
	PacketsPerSlave uint32 `json:"packetsPerSlave,omitempty" yaml:"packetsPerSlave,omitempty"`
	// TLBDynamicLB enables dynamic flow shuffling (tlb_dynamic_lb).
	TLBDynamicLB *bool `json:"tlbDynamicLB,omitempty" yaml:"tlbDynamicLB,omitempty"`
	// NumPeerNotif is the number of peer notifications after a failover
	// (num_grat_arp, num_unsol_na), 1..255.
	NumPeerNotif uint8 `json:"numPeerNotif,omitempty" yaml:"numPeerNotif,omitempty"`
	// ResendIGMP is the number of IGMP reports after a failover
	// (resend_igmp), 1..255.
	ResendIGMP uint8 `json:"resendIGMP,omitempty" yaml:"resendIGMP,omitempty"`
	// LPInterval is the interval in seconds between learning packets
	// (lp_interval), 1..2147483647.
	LPInterval uint32 `json:"lpInterval,omitempty" yaml:"lpInterval,omitempty"`
	// PeerNotifDelay is the delay between peer notifications
	// (peer_notif_delay); a multiple of Miimon, which must be set with it.
	PeerNotifDelay uint32 `json:"peerNotifDelay,omitempty" yaml:"peerNotifDelay,omitempty"`
	// NSIP6Targets are the IPv6 addresses NS monitoring probes
	// (ns_ip6_target), at most 16.
	NSIP6Targets []netip.Addr `json:"nsIP6Targets,omitempty" yaml:"nsIP6Targets,omitempty"`
	// ADLACPActive sends LACPDUs periodically (true) or only in answer to
	// the partner (false) (ad_lacp_active).
	ADLACPActive *bool `json:"adLACPActive,omitempty" yaml:"adLACPActive,omitempty"`
	// MissedMax is the number of ARP/NS probes that may be missed before
	// a member is down (arp_missed_max), 1..255.
	MissedMax uint8 `json:"missedMax,omitempty" yaml:"missedMax,omitempty"`
}

// MaxTargets is the most ARP or NS targets a bond takes
// (BOND_MAX_ARP_TARGETS).
const MaxTargets = 16

// Normalize puts s in canonical form: trimmed names, lowercase mode and
// option names, lowercase colon-separated MAC addresses, unmapped IPv4
// addresses. Invalid values are left for Validate to report.
func (s *Spec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Mode = strings.ToLower(strings.TrimSpace(s.Mode))
	for i, m := range s.Members {
		s.Members[i] = strings.TrimSpace(m)
	}
	s.Primary = strings.TrimSpace(s.Primary)
	for _, p := range []*string{&s.ARPValidate, &s.ARPAllTargets, &s.PrimaryReselect, &s.FailOverMac,
		&s.XmitHashPolicy, &s.LACPRate, &s.ADSelect} {
		*p = strings.ToLower(strings.TrimSpace(*p))
	}
	for _, p := range []*string{&s.HardwareAddr, &s.ADActorSystem} {
		if *p == "" {
			continue
		}
		if hw, err := net.ParseMAC(strings.TrimSpace(*p)); err == nil {
			*p = hw.String()
		}
	}
	for i, a := range s.ARPIPTargets {
		s.ARPIPTargets[i] = a.Unmap()
	}
}

// clone returns a copy of s that shares no slice or pointer with it.
func (s Spec) clone() Spec {
	s.Members = slices.Clone(s.Members)
	s.MemberSelectors = slices.Clone(s.MemberSelectors)
	for i, sel := range s.MemberSelectors {
		if sel.Physical != nil {
			v := *sel.Physical
			s.MemberSelectors[i].Physical = &v
		}
	}
	s.ARPIPTargets = slices.Clone(s.ARPIPTargets)
	s.NSIP6Targets = slices.Clone(s.NSIP6Targets)
	for _, p := range []**bool{&s.Up, &s.UseCarrier, &s.AllSlavesActive, &s.TLBDynamicLB, &s.ADLACPActive} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return s
}

// Validate checks every field of a normalized copy of s (s is not
// changed), so it accepts exactly what Plan and Apply accept: mode
// "Active-Backup" is valid here as it is there. The error names the field,
// e.g. "bond bond0: lacpRate: only valid in mode 802.3ad, not
// active-backup", and wraps netprim.ErrInvalidSpec.
func (s Spec) Validate() error {
	s = s.normalized()
	name := s.Name
	if name == "" {
		name = "(unnamed)"
	}
	return s.validate("bond " + name + ": ")
}

// Validate checks a list of specs as Plan and Apply take them, normalized
// copies (want is not changed): every spec's fields, duplicate names, a
// link that is a member of two bonds, and a bond listed as a member of
// a bond (bonds of bonds are not supported). Errors name the spec by
// index ("bond: spec[2].mode: ..."), are joined, and wrap
// netprim.ErrInvalidSpec. MemberSelectors are checked for syntax only:
// what they select is known once Plan or Apply resolves them, which then
// checks the same rules.
func Validate(want []Spec) error {
	norm := make([]Spec, len(want))
	for i, s := range want {
		norm[i] = s.normalized()
	}
	return validate(norm)
}

// normalized returns a normalized copy of s that shares no slice or
// pointer with it.
func (s Spec) normalized() Spec {
	s = s.clone()
	s.Normalize()
	return s
}

// validate is Validate for normalized specs.
func validate(want []Spec) error {
	var errs []error
	names := make(map[string]int, len(want))
	memberOf := make(map[string]int)
	for i, s := range want {
		prefix := fmt.Sprintf("bond: spec[%d].", i)
		if err := s.validate(prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, ok := names[s.Name]; ok {
			errs = append(errs, specerr.Invalid(prefix, "name", "%s is also spec[%d]", s.Name, j))
			continue
		}
		names[s.Name] = i
		for k, m := range s.Members {
			if j, ok := memberOf[m]; ok {
				errs = append(errs, specerr.Invalid(prefix, fmt.Sprintf("members[%d]", k), "%s is also a member of spec[%d] (%s)", m, j, want[j].Name))
				continue
			}
			memberOf[m] = i
		}
	}
	// Bonds of bonds are refused: a bond in want listed as a member.
	for i, s := range want {
		for k, m := range s.Members {
			if j, ok := names[m]; ok {
				errs = append(errs, specerr.Invalid(fmt.Sprintf("bond: spec[%d].", i), fmt.Sprintf("members[%d]", k),
					"%s is a bond (spec[%d]); a bond cannot be a member of a bond here", m, j))
			}
		}
	}
	return errors.Join(errs...)
}

func (s Spec) validate(prefix string) error {
	if err := link.ValidName(s.Name); err != nil {
		return specerr.Invalid(prefix, "name", "%v", err)
	}
	mode := modeIndex(s.Mode)
	switch {
	case s.Mode == "":
		return specerr.Invalid(prefix, "mode", "required, one of %s", strings.Join(Modes, ", "))
	case mode < 0:
		return specerr.Invalid(prefix, "mode", "unknown mode %q, want one of %s", s.Mode, strings.Join(Modes, ", "))
	}
	seen := make(map[string]int, len(s.Members))
	for i, m := range s.Members {
		field := fmt.Sprintf("members[%d]", i)
		if err := link.ValidName(m); err != nil {
			return specerr.Invalid(prefix, field, "%v", err)
		}
		if m == s.Name {
			return specerr.Invalid(prefix, field, "%s cannot be a member of itself", s.Name)
		}
		if j, ok := seen[m]; ok {
			return specerr.Invalid(prefix, field, "%s is also members[%d]", m, j)
		}
		seen[m] = i
	}
	for j, sel := range s.MemberSelectors {
		if err := sel.Validate(); err != nil {
			return fmt.Errorf("%smemberSelectors[%d]: %w", prefix, j, err)
		}
	}
	if s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
		return specerr.Invalid(prefix, "mtu", "%d out of range 68..65535", s.MTU)
	}
	if s.HardwareAddr != "" {
		if err := validMAC(s.HardwareAddr); err != nil {
			return specerr.Invalid(prefix, "hardwareAddr", "%v", err)
		}
	}
	for _, o := range options {
		if !o.set(&s) {
			continue
		}
		if o.modes != 0 && o.modes&(1<<mode) == 0 {
			return specerr.Invalid(prefix, o.field, "only valid in mode %s, not %s", o.modes, s.Mode)
		}
		if o.check != nil {
			if err := o.check(&s); err != nil {
				return specerr.Invalid(prefix, o.field, "%v", err)
			}
		}
	}
	if s.Miimon != 0 && s.ARPInterval != 0 {
		return specerr.Invalid(prefix, "arpInterval", "ARP monitoring and MII monitoring (miimon %d) exclude each other", s.Miimon)
	}
	for _, d := range []struct {
		field string
		v     uint32
	}{{"upDelay", s.UpDelay}, {"downDelay", s.DownDelay}, {"peerNotifDelay", s.PeerNotifDelay}} {
		if d.v == 0 {
			continue
		}
		if s.Miimon == 0 {
			return specerr.Invalid(prefix, d.field, "needs miimon (the kernel counts it in MII monitoring intervals)")
		}
		if d.v%s.Miimon != 0 {
			return specerr.Invalid(prefix, d.field, "%d is not a multiple of miimon %d", d.v, s.Miimon)
		}
	}
	if s.HardwareAddr != "" && s.FailOverMac == "active" {
		return specerr.Invalid(prefix, "hardwareAddr", "with failOverMac active the bond takes the address of its active member")
	}
	// With selectors, Primary is checked once they are resolved.
	if s.Primary != "" && len(s.MemberSelectors) == 0 && !slices.Contains(s.Members, s.Primary) {
		return specerr.Invalid(prefix, "primary", "%s is not in members", s.Primary)
	}
	return nil
}

// validMAC accepts a unicast, non-zero Ethernet address.
func validMAC(s string) error {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("%q is not an Ethernet address", s)
	}
	if hw[0]&1 != 0 {
		return fmt.Errorf("%s is a multicast address", hw)
	}
	if string(hw) == "\x00\x00\x00\x00\x00\x00" {
		return fmt.Errorf("%s is the zero address", hw)
	}
	return nil
}

// modeIndex returns the kernel number of a mode name, -1 when unknown.
func modeIndex(mode string) int { return slices.Index(Modes, mode) }

// inRange checks v against lo..hi.
func inRange(v, lo, hi uint64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%d out of range %d..%d", v, lo, hi)
	}
	return nil
}
