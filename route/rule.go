package route

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Rule is a desired policy routing rule (ip-rule(8)): packets matching all
// of its selectors are routed by Table (or dropped, for the reject
// actions). A WireGuard mesh typically wants
// {Priority: 100, Family: "inet", FwMark: 0xca6c, Invert: true, Table: 51820}.
//
// A rule is identified by all of its fields: there is no in-place change.
// A changed rule is a new rule; with netprim.WithPrune the old one is
// deleted after the new one is added.
//
// The net/netip fields have no yaml omitempty: yaml.v3 takes every netip
// value for empty (their fields are unexported) and would drop set ones.
type Rule struct {
	// Priority orders the rules, lower first. It is required: without one
	// the kernel picks a number, and the rule could not be found again.
	Priority uint32 `json:"priority" yaml:"priority"`
	// Family is "inet" or "inet6". It may be empty when From or To is set
	// (it is their family then).
	Family Family `json:"family,omitempty" yaml:"family,omitempty"`
	// From matches the source address; empty (or a /0 prefix) matches all.
	From netip.Prefix `json:"from,omitzero" yaml:"from"`
	// To matches the destination address; empty (or /0) matches all.
	To netip.Prefix `json:"to,omitzero" yaml:"to"`
	// FwMark matches the packet mark (ip's fwmark) under FwMask.
	FwMark uint32 `json:"fwMark,omitempty" yaml:"fwMark,omitempty"`
	// FwMask selects the bits of the mark that are compared. With FwMark
	// set and FwMask 0, all bits are compared (FwMask becomes 0xffffffff).
	FwMask uint32 `json:"fwMask,omitempty" yaml:"fwMask,omitempty"`
	// IIF matches the incoming link by name ("lo" for locally generated
	// packets). The link need not exist yet.
	IIF string `json:"iif,omitempty" yaml:"iif,omitempty"`
	// OIF matches the outgoing link by name, for sockets bound to it. The
	// link need not exist yet.
	OIF string `json:"oif,omitempty" yaml:"oif,omitempty"`
	// Table is the routing table to look up; 0 means main. Only for action
	// lookup.
	Table uint32 `json:"table,omitempty" yaml:"table,omitempty"`
	// Action is lookup (empty), blackhole, unreachable or prohibit.
	Action RuleAction `json:"action,omitempty" yaml:"action,omitempty"`
	// Invert matches packets that do NOT match the selectors (ip's "not").
	Invert bool `json:"invert,omitempty" yaml:"invert,omitempty"`
	// SuppressPrefixLength makes a lookup ignore routes with a prefix this
	// long or shorter (ip's suppress_prefixlength; 0 ignores default
	// routes). nil means unset.
	SuppressPrefixLength *int `json:"suppressPrefixLength,omitempty" yaml:"suppressPrefixLength,omitempty"`
}

// RuleAction is what a rule does with the packets it matches.
type RuleAction string

// Rule actions a Rule may ask for.
const (
	ActionLookup      RuleAction = "lookup"      // route by Table
	ActionBlackhole   RuleAction = "blackhole"   // drop silently
	ActionUnreachable RuleAction = "unreachable" // drop, answer network unreachable
	ActionProhibit    RuleAction = "prohibit"    // drop, answer administratively prohibited
)

// Kernel rule actions (FR_ACT_*).
const (
	frActToTbl      = 1
	frActGoto       = 2
	frActNop        = 3
	frActBlackhole  = 6
	frActUnreach    = 7
	frActProhibit   = 8
	fibRuleInvert   = 0x2
	suppressUnset   = -1
	ruleFlagsMasked = 0x1 | 0x4 | 0x8 | 0x10 // permanent, unresolved, detached: reported, not set
)

func actionFromKernel(a uint8) RuleAction {
	switch a {
	case frActToTbl:
		return ActionLookup
	case frActGoto:
		return "goto"
	case frActNop:
		return "nop"
	case frActBlackhole:
		return ActionBlackhole
	case frActUnreach:
		return ActionUnreachable
	case frActProhibit:
		return ActionProhibit
	}
	return RuleAction("action" + strconv.Itoa(int(a)))
}

func (a RuleAction) kernel() uint8 {
	switch a {
	case ActionLookup, "":
		return frActToTbl
	case ActionBlackhole:
		return frActBlackhole
	case ActionUnreachable:
		return frActUnreach
	case ActionProhibit:
		return frActProhibit
	}
	return 0
}

// RuleStatus is a rule as the kernel reports it. For a rule ApplyRules
// wrote, RuleStatus.Rule equals the normalized Rule.
type RuleStatus struct {
	Rule `yaml:",inline"`
	// Protocol records who made the rule: "kernel" for the kernel's
	// default rules, "unspec" for ip rule add, the owner id for rules
	// netprim wrote.
	Protocol Protocol `json:"protocol" yaml:"protocol"`
}

// ruleKey identifies a rule: all of its fields.
type ruleKey struct {
	family   Family
	priority uint32
	from, to netip.Prefix
	mark     uint32
	mask     uint32
	iif, oif string
	table    uint32
	action   RuleAction
	invert   bool
	suppress int
}

func (r *Rule) key() ruleKey {
	k := ruleKey{
		family: r.Family, priority: r.Priority, from: r.From, to: r.To, mark: r.FwMark,
		mask: r.FwMask, iif: r.IIF, oif: r.OIF, table: r.Table, action: r.Action,
		invert: r.Invert, suppress: suppressUnset,
	}
	if r.SuppressPrefixLength != nil {
		k.suppress = *r.SuppressPrefixLength
	}
	return k
}

// Normalize fills in defaults so that equivalent rules compare equal and a
// Rule equals what ListRules reports after ApplyRules: Family from From or
// To, prefixes masked (a /0 prefix of the rule's family is the same as
// none), Action lookup, Table main for lookup, FwMask all ones when FwMark
// is set without one. Invalid values are left for Validate to report
// (Validate checks a normalized copy): a prefix of the other family stays.
func (r *Rule) Normalize() {
	for _, p := range []*netip.Prefix{&r.From, &r.To} {
		if !p.IsValid() {
			continue
		}
		fam := FamilyIPv4
		if p.Addr().Is6() {
			fam = FamilyIPv6
		}
		if r.Family == "" {
			r.Family = fam
		}
		*p = p.Masked()
		if p.Bits() == 0 && fam == r.Family {
			*p = netip.Prefix{}
		}
	}
	if r.Action == "" {
		r.Action = ActionLookup
	}
	if r.Action == ActionLookup && r.Table == 0 {
		r.Table = TableMain
	}
	if r.FwMark != 0 && r.FwMask == 0 {
		r.FwMask = 0xffffffff
	}
	if r.SuppressPrefixLength != nil {
		v := *r.SuppressPrefixLength
		r.SuppressPrefixLength = &v
	}
}

// Validate checks a normalized copy of the rule on its own (r is not
// changed), so it accepts exactly what PlanRules and ApplyRules accept; the
// error names the bad field and wraps netprim.ErrInvalidSpec.
func (r Rule) Validate() error {
	r.Normalize() // copies SuppressPrefixLength
	if f, msg := r.check(); f != "" {
		return &specError{index: -1, field: f, msg: msg}
	}
	return nil
}

// ValidateRules checks every rule of a set, normalized as ApplyRules takes
// them (rules is not changed), and that no two are the same rule; each
// error names the rule as rule[i].field.
func ValidateRules(rules []Rule) error {
	_, err := prepareRules(rules)
	return err
}

func prepareRules(rules []Rule) ([]Rule, error) {
	out := make([]Rule, len(rules))
	var errs []error
	for i := range rules {
		out[i] = rules[i]
		out[i].Normalize()
		if f, msg := out[i].check(); f != "" {
			errs = append(errs, &specError{list: "rule", index: i, field: f, msg: msg})
		}
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	seen := make(map[ruleKey]int, len(out))
	for i := range out {
		k := out[i].key()
		if j, dup := seen[k]; dup {
			errs = append(errs, &specError{list: "rule", index: i, field: "priority",
				msg: "the same rule as rule[" + strconv.Itoa(j) + "]"})
			continue
		}
		seen[k] = i
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (r *Rule) check() (field, msg string) {
	if r.Priority == 0 {
		return "priority", "required: 0 is the kernel's local rule, and without a priority the kernel picks one"
	}
	switch r.Family {
	case "", FamilyIPv4, FamilyIPv6:
	default:
		return "family", fmt.Sprintf("%q is not inet or inet6", string(r.Family))
	}
	fam := r.Family
	for _, p := range []struct {
		name string
		p    netip.Prefix
	}{{"from", r.From}, {"to", r.To}} {
		if !p.p.IsValid() {
			continue
		}
		pf := FamilyIPv4
		if p.p.Addr().Is6() {
			pf = FamilyIPv6
		}
		if fam == "" {
			fam = pf
		}
		if pf != fam {
			return p.name, p.p.String() + " is not of family " + string(fam)
		}
	}
	if fam == "" {
		return "family", "required when neither from nor to is set"
	}
	if r.FwMark != 0 && r.FwMask != 0 && r.FwMark&^r.FwMask != 0 {
		return "fwMark", fmt.Sprintf("%#x has bits outside fwMask %#x", r.FwMark, r.FwMask)
	}
	if r.IIF != "" {
		if m := checkLinkName(r.IIF); m != "" {
			return "iif", m
		}
	}
	if r.OIF != "" {
		if m := checkLinkName(r.OIF); m != "" {
			return "oif", m
		}
	}
	switch r.Action {
	case "", ActionLookup:
		if r.Table == tableCompat {
			return "table", "252 is reserved by the kernel"
		}
	case ActionBlackhole, ActionUnreachable, ActionProhibit:
		if r.Table != 0 {
			return "table", "only action lookup uses a table"
		}
		if r.SuppressPrefixLength != nil {
			return "suppressPrefixLength", "only action lookup can suppress routes"
		}
	default:
		return "action", fmt.Sprintf("%q is not one of lookup, blackhole, unreachable, prohibit", string(r.Action))
	}
	if p := r.SuppressPrefixLength; p != nil {
		max := 32
		if fam == FamilyIPv6 {
			max = 128
		}
		if *p < 0 || *p > max {
			return "suppressPrefixLength", fmt.Sprintf("%d is outside 0-%d", *p, max)
		}
	}
	return "", ""
}

// String renders the rule in the words of ip-rule(8), e.g.
// "100: not from all fwmark 0xca6c lookup 51820": the Object of the Plan's
// change that adds it, and of the events Watch reports for it once
// ApplyRules wrote it (see RuleStatus.String).
func (r Rule) String() string { return string(appendRule(nil, &r, 0)) }

// String renders the rule as PlanRules and Watch name it: like
// Rule.String, so that the event for a rule ApplyRules wrote names it
// exactly as the Plan did. The protocol is the rule's owner, not part of
// its identity, and is left out, except for the kernel's own rules
// (protocol kernel: the default rules of priorities 0, 32766 and 32767),
// which read "... proto kernel". RuleStatus.Protocol has the owner of every
// rule. Selectors and actions a Rule cannot express (tos, ipproto, ports,
// goto targets, l3mdev) are not named.
func (s RuleStatus) String() string { return string(appendRule(nil, &s.Rule, s.Protocol)) }

// appendRule appends the ip-rule(8) words for r, with "proto kernel" for
// the kernel's own rules.
func appendRule(b []byte, r *Rule, proto Protocol) []byte {
	b = strconv.AppendUint(b, uint64(r.Priority), 10)
	b = append(b, ':')
	if r.Invert {
		b = append(b, " not"...)
	}
	b = append(b, " from "...)
	if r.From.IsValid() {
		b = r.From.AppendTo(b)
	} else {
		b = append(b, "all"...)
	}
	if r.To.IsValid() {
		b = append(b, " to "...)
		b = r.To.AppendTo(b)
	}
	if r.FwMark != 0 || r.FwMask != 0 {
		b = append(b, " fwmark 0x"...)
		b = strconv.AppendUint(b, uint64(r.FwMark), 16)
		if r.FwMask != 0 && r.FwMask != 0xffffffff {
			b = append(b, "/0x"...)
			b = strconv.AppendUint(b, uint64(r.FwMask), 16)
		}
	}
	if r.IIF != "" {
		b = append(b, " iif "...)
		b = append(b, r.IIF...)
	}
	if r.OIF != "" {
		b = append(b, " oif "...)
		b = append(b, r.OIF...)
	}
	switch r.Action {
	case "", ActionLookup:
		b = append(b, " lookup "...)
		t := r.Table
		if t == 0 {
			t = TableMain
		}
		b = appendTable(b, t)
	default:
		b = append(b, ' ')
		b = append(b, r.Action...)
	}
	if r.SuppressPrefixLength != nil {
		b = append(b, " suppress_prefixlength "...)
		b = strconv.AppendInt(b, int64(*r.SuppressPrefixLength), 10)
	}
	if proto == ProtocolKernel {
		b = append(b, " proto kernel"...)
	}
	if !r.From.IsValid() && !r.To.IsValid() && r.Family == FamilyIPv6 {
		b = append(b, " family inet6"...)
	}
	return b
}
