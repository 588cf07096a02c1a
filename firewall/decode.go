package firewall

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

// ruleText is Rule with subnets as text, so that a bad prefix in a
// document is reported with the rule and field it belongs to.
type ruleText struct {
	Name        string   `json:"name" yaml:"name"`
	Protocol    Protocol `json:"protocol" yaml:"protocol"`
	Ports       []string `json:"ports,omitempty" yaml:"ports,omitempty"`
	Subnets     []string `json:"subnets,omitempty" yaml:"subnets,omitempty"`
	Except      []string `json:"except,omitempty" yaml:"except,omitempty"`
	InInterface string   `json:"inInterface,omitempty" yaml:"inInterface,omitempty"`
	Action      Action   `json:"action" yaml:"action"`
}

func (t ruleText) rule() (Rule, error) {
	r := Rule{Name: t.Name, Protocol: t.Protocol, Ports: t.Ports, InInterface: t.InInterface, Action: t.Action}
	parse := func(field string, in []string) ([]netip.Prefix, error) {
		var out []netip.Prefix
		for i, s := range in {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				if a, aerr := netip.ParseAddr(s); aerr == nil {
					p, err = a.Prefix(a.BitLen())
				}
			}
			if err != nil {
				return nil, fmt.Errorf("firewall: rule %q: %s[%d]: %w: %q is not a prefix: %v", t.Name, field, i, netprim.ErrInvalidSpec, s, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	var err error
	if r.Subnets, err = parse("subnets", t.Subnets); err != nil {
		return r, err
	}
	r.Except, err = parse("except", t.Except)
	return r, err
}

// UnmarshalJSON decodes a rule; subnets may be prefixes or single
// addresses, and a bad one is reported with the rule's name.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var t ruleText
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	rr, err := t.rule()
	if err != nil {
		return err
	}
	*r = rr
	return nil
}

// UnmarshalYAML decodes a rule like UnmarshalJSON.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	var t ruleText
	if err := n.Decode(&t); err != nil {
		return err
	}
	rr, err := t.rule()
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*r = rr
	return nil
}
