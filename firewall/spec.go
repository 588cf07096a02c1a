package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netprim/netprim"
)

// DefaultTable is the name of the nftables table used when Spec.Table is
// empty.
const DefaultTable = "netprim"

// ChainName is the name of the base chain in the table (hook input,
// priority 0).
const ChainName = "input"

// DefaultAction is what happens to packets no rule matches.
type DefaultAction string

// Default actions.
const (
	DefaultAccept DefaultAction = "accept" // chain policy accept
	DefaultBlock  DefaultAction = "block"  // chain policy drop
)

// Protocol selects the transport protocol of a rule.
type Protocol string

// Protocols.
const (
	TCP    Protocol = "tcp"
	UDP    Protocol = "udp"
	ICMP   Protocol = "icmp"   // ICMP for IPv4
	ICMPv6 Protocol = "icmpv6" // ICMPv6
	Any    Protocol = "any"    // every protocol
)

// Action is what a rule does with the packets it matches.
type Action string

// Actions.
const (
	Accept Action = "accept"
	Drop   Action = "drop"
	// Reject answers with a TCP reset (protocol tcp) or an ICMP/ICMPv6
	// port unreachable (other protocols).
	Reject Action = "reject"
)

// Spec is the wanted ingress firewall.
type Spec struct {
	// Table is the name of the nftables table (family inet) owned by the
	// firewall; empty means DefaultTable.
	Table string `json:"table,omitempty" yaml:"table,omitempty"`
	// DefaultAction applies to packets no rule matches; empty means accept.
	DefaultAction DefaultAction `json:"defaultAction,omitempty" yaml:"defaultAction,omitempty"`
	// Rules are evaluated in order; the first match wins.
	Rules []Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// Rule selects packets and says what to do with them. Every field set must
// match (logical and); within Ports and Subnets any element may match.
type Rule struct {
	// Name identifies the rule in errors, comments and Status; unique
	// within the Spec; letters, digits and "._:-", at most 64 characters.
	Name string `json:"name" yaml:"name"`
	// Protocol is required: tcp, udp, icmp, icmpv6 or any.
	Protocol Protocol `json:"protocol" yaml:"protocol"`
	// Ports are destination ports "N" or ranges "LOW-HIGH" (1-65535); only
	// with protocol tcp or udp. Empty means every port.
	Ports []string `json:"ports,omitempty" yaml:"ports,omitempty"`
	// Subnets are the source subnets (IPv4 and IPv6 may be mixed); empty
	// means every source. Host bits are cleared by Normalize.
	Subnets []netip.Prefix `json:"subnets,omitempty" yaml:"subnets,omitempty"`
	// Except are source subnets excluded from Subnets; each must lie
	// inside one of Subnets.
	Except []netip.Prefix `json:"except,omitempty" yaml:"except,omitempty"`
	// InInterface, when set, matches only packets received on this
	// interface name.
	InInterface string `json:"inInterface,omitempty" yaml:"inInterface,omitempty"`
	// Action is required: accept, drop or reject.
	Action Action `json:"action" yaml:"action"`
}

// PortRange is an inclusive range of ports, First <= Last.
type PortRange struct {
	First, Last uint16
}

// String renders "N" or "LOW-HIGH".
func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return strconv.Itoa(int(r.First)) + "-" + strconv.Itoa(int(r.Last))
}

// ParsePortRange parses "N" or "LOW-HIGH", ports 1-65535, LOW <= HIGH.
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	first, err := parsePort(lo)
	if err != nil {
		return PortRange{}, fmt.Errorf("%q: %w", s, err)
	}
	last := first
	if isRange {
		if last, err = parsePort(hi); err != nil {
			return PortRange{}, fmt.Errorf("%q: %w", s, err)
		}
		if last < first {
			return PortRange{}, fmt.Errorf("%q: reversed range (%d > %d)", s, first, last)
		}
	}
	return PortRange{First: first, Last: last}, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not a port number")
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", n)
	}
	return uint16(n), nil
}

// Normalize fills defaults (table name, default action accept), clears
// host bits of subnets and rewrites ports in canonical form ("0080" ->
// "80"), so that equivalent Specs compare equal. Invalid values are left
// for Validate.
func (s *Spec) Normalize() {
	if s.Table == "" {
		s.Table = DefaultTable
	}
	if s.DefaultAction == "" {
		s.DefaultAction = DefaultAccept
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		r.Protocol = Protocol(strings.ToLower(string(r.Protocol)))
		r.Action = Action(strings.ToLower(string(r.Action)))
		for j, p := range r.Ports {
			if pr, err := ParsePortRange(p); err == nil {
				r.Ports[j] = pr.String()
			}
		}
		for j, p := range r.Subnets {
			if p.IsValid() {
				r.Subnets[j] = p.Masked()
			}
		}
		for j, p := range r.Except {
			if p.IsValid() {
				r.Except[j] = p.Masked()
			}
		}
	}
}

// Validate checks a normalized copy of the Spec (s is not changed), so it
// accepts exactly what Apply accepts, without touching the kernel. Errors
// name the rule and the field ("firewall: rules[2] \"etcd\": ports[0]:
// ...") and wrap netprim.ErrInvalidSpec.
func (s Spec) Validate() error {
	s = s.normalized()
	if s.Table != "" && !validName(s.Table, 64) {
		return invalid("table", "%q: use letters, digits and \"_\", at most 64 characters", s.Table)
	}
	switch s.DefaultAction {
	case "", DefaultAccept, DefaultBlock:
	default:
		return invalid("defaultAction", "%q: want accept or block", s.DefaultAction)
	}
	seen := make(map[string]int, len(s.Rules))
	for i, r := range s.Rules {
		where := func() string { return fmt.Sprintf("rules[%d] %q", i, r.Name) }
		if j, ok := seen[r.Name]; ok && r.Name != "" {
			return invalid(where()+".name", "duplicate of rules[%d]", j)
		}
		seen[r.Name] = i
		if err := r.validate(); err != nil {
			return fmt.Errorf("firewall: %s.%w", where(), err)
		}
	}
	return nil
}

// normalized returns a normalized copy of s that shares no slice with it:
// Normalize rewrites the rules and their ports and prefixes in place.
func (s Spec) normalized() Spec {
	s.Rules = slices.Clone(s.Rules)
	for i := range s.Rules {
		r := &s.Rules[i]
		r.Ports, r.Subnets, r.Except = slices.Clone(r.Ports), slices.Clone(r.Subnets), slices.Clone(r.Except)
	}
	s.Normalize()
	return s
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("firewall: %s: %w: %s", field, netprim.ErrInvalidSpec, fmt.Sprintf(format, args...))
}

// fieldError is the error of one field of a rule; Validate prefixes it.
func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", field, netprim.ErrInvalidSpec, fmt.Sprintf(format, args...))
}

func (r Rule) validate() error {
	if r.Name == "" {
		return fieldError("name", "required")
	}
	if !validRuleName(r.Name) {
		return fieldError("name", "%q: use letters, digits and \"._:-\", at most 64 characters", r.Name)
	}
	if strings.HasPrefix(r.Name, "safety:") || r.Name == "default" {
		return fieldError("name", "%q is reserved", r.Name)
	}
	proto := Protocol(strings.ToLower(string(r.Protocol)))
	switch proto {
	case TCP, UDP, ICMP, ICMPv6, Any:
	case "":
		return fieldError("protocol", "required: tcp, udp, icmp, icmpv6 or any")
	default:
		return fieldError("protocol", "unknown protocol %q: want tcp, udp, icmp, icmpv6 or any", r.Protocol)
	}
	switch Action(strings.ToLower(string(r.Action))) {
	case Accept, Drop, Reject:
	case "":
		return fieldError("action", "required: accept, drop or reject")
	default:
		return fieldError("action", "unknown action %q: want accept, drop or reject", r.Action)
	}
	for j, p := range r.Ports {
		if _, err := ParsePortRange(p); err != nil {
			return fieldError(fmt.Sprintf("ports[%d]", j), "%v", err)
		}
	}
	if len(r.Ports) > 0 && proto != TCP && proto != UDP {
		return fieldError("ports", "ports need protocol tcp or udp, not %s", proto)
	}
	var v4, v6 bool
	for j, p := range r.Subnets {
		if !p.IsValid() {
			return fieldError(fmt.Sprintf("subnets[%d]", j), "invalid prefix %s (prefix length beyond the address size?)", p)
		}
		if p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return fieldError(fmt.Sprintf("subnets[%d]", j), "%s: zones and IPv4-mapped IPv6 addresses are not supported", p)
		}
		v4 = v4 || p.Addr().Is4()
		v6 = v6 || p.Addr().Is6()
	}
	for j, p := range r.Except {
		if !p.IsValid() {
			return fieldError(fmt.Sprintf("except[%d]", j), "invalid prefix %s (prefix length beyond the address size?)", p)
		}
		inside := false
		for _, s := range r.Subnets {
			if s.IsValid() && s.Addr().BitLen() == p.Addr().BitLen() && s.Bits() <= p.Bits() && s.Contains(p.Addr()) {
				inside = true
			}
		}
		if !inside {
			return fieldError(fmt.Sprintf("except[%d]", j), "%s is not inside any of subnets", p)
		}
	}
	if len(r.Except) > 0 && len(subtract(r.Subnets, r.Except)) == 0 {
		return fieldError("except", "excludes all of subnets: the rule would never match")
	}
	if proto == ICMP && len(r.Subnets) > 0 && !v4 {
		return fieldError("protocol", "icmp is IPv4 only but all subnets are IPv6 (use icmpv6)")
	}
	if proto == ICMPv6 && len(r.Subnets) > 0 && !v6 {
		return fieldError("protocol", "icmpv6 is IPv6 only but all subnets are IPv4 (use icmp)")
	}
	if r.InInterface != "" && !validIfName(r.InInterface) {
		return fieldError("inInterface", "%q is not an interface name (1-15 characters, no \"/\", space or quote)", r.InInterface)
	}
	if proto == Any && len(r.Subnets) == 0 && r.InInterface == "" {
		return fieldError("subnets", "the rule matches every packet (protocol any, no ports, no subnets, no interface); "+
			"to mean that, list subnets 0.0.0.0/0 and ::/0, or use defaultAction")
	}
	return nil
}

func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return !(s[0] >= '0' && s[0] <= '9')
}

func validRuleName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._:-", c)) {
			return false
		}
	}
	return true
}

func validIfName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/ \t\n\"'\\:")
}
