package reconcile

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// Validate checks every section of s; errors name the section, the entry
// and the field, and wrap netprim.ErrInvalidSpec. The Reconciler checks
// each source's sections on their own (Source.Set) and the merged state
// again, since two valid contributions can collide.
func (s *State) Validate() error {
	var errs []error
	for _, st := range builtinSections {
		if err := st.validate(s); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.validateCross())
	return errors.Join(errs...)
}

// section is one section of a State, validated on its own.
type sectionDef struct {
	name     string
	validate func(s *State) error
}

// builtinSections are the sections of a State, by the name of the stage
// that applies them.
var builtinSections = []sectionDef{
	{StageLinks, func(s *State) error { return validateLinks(s.Links) }},
	{StageWireGuard, func(s *State) error { return validateWireGuard(s.WireGuard) }},
	{StageBonds, func(s *State) error { return bond.Validate(s.Bonds) }},
	{StageVLANs, func(s *State) error { return vlan.Validate(s.VLANs) }},
	{StageBridges, func(s *State) error { return bridge.Validate(s.Bridges) }},
	{StageAddresses, func(s *State) error { return addr.Validate(s.Addresses) }},
	{StageRoutes, func(s *State) error { return route.Validate(s.Routes) }},
	{StageRules, func(s *State) error { return route.ValidateRules(s.Rules) }},
	{StageFirewall, func(s *State) error {
		if s.Firewall == nil {
			return nil
		}
		return s.Firewall.Validate()
	}},
	{StageFiles, func(s *State) error { return s.files().Validate() }},
}

// validateCross checks what involves two sections: a WireGuard device is
// configured by its wireguard entry, not by the links section (the links
// stage runs before the device exists).
func (s *State) validateCross() error {
	links := map[string]int{}
	for i, l := range s.Links {
		if l.Name != "" {
			links[l.Name] = i
		}
	}
	var errs []error
	for i, w := range s.WireGuard {
		if j, ok := links[w.Name]; ok && w.Name != "" {
			errs = append(errs, fmt.Errorf("wireguard[%d].name: %s is also links[%d]: set its mtu in the wireguard entry: %w", i, w.Name, j, netprim.ErrInvalidSpec))
		}
	}
	return errors.Join(errs...)
}

// validateLinks checks the links section: name or deviceSelector (exactly
// one), the selectors, and every entry's fields as link.Validate checks
// them, with a stand-in name for the selected devices, whose names are
// known only once resolved. Errors name the entry ("links[2].kind: ...",
// "link: spec[2].mtu: ...").
func validateLinks(in []Link) error {
	var errs []error
	specs := make([]link.Spec, len(in))
	used := map[string]bool{}
	for _, l := range in {
		used[l.Name] = true
		if l.Master != nil {
			used[*l.Master] = true
		}
		if l.Veth != nil {
			used[l.Veth.Peer] = true
		}
	}
	for i, l := range in {
		specs[i] = l.Spec
		if l.DeviceSelector == nil {
			if l.Name == "" {
				errs = append(errs, fmt.Errorf("links[%d]: give name or deviceSelector: %w", i, netprim.ErrInvalidSpec))
			}
			continue
		}
		if l.Name != "" {
			errs = append(errs, fmt.Errorf("links[%d]: name %s and deviceSelector both given: give one of them: %w", i, l.Name, netprim.ErrInvalidSpec))
			continue
		}
		if err := l.DeviceSelector.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("links[%d].deviceSelector: %w", i, err))
			continue
		}
		s := l.Spec
		s.Normalize()
		if s.Kind != "" {
			errs = append(errs, fmt.Errorf("links[%d].kind: %s: a device chosen by deviceSelector must exist already: %w", i, s.Kind, netprim.ErrInvalidSpec))
			continue
		}
		specs[i].Name = standIn(used)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return link.Validate(specs)
}

// standIn returns a valid interface name that used lacks, and adds it.
func standIn(used map[string]bool) string {
	for i := 0; ; i++ {
		n := "selected" + strconv.Itoa(i)
		if !used[n] {
			used[n] = true
			return n
		}
	}
}

// validateWireGuard checks every entry and that no two name the same
// device.
func validateWireGuard(in []wireguard.Spec) error {
	var errs []error
	seen := map[string]int{}
	for i, w := range in {
		if err := w.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("wireguard[%d]: %w", i, err))
		}
		if w.Name == "" {
			continue
		}
		if j, ok := seen[w.Name]; ok {
			errs = append(errs, fmt.Errorf("wireguard[%d].name: %s is also wireguard[%d]: %w", i, w.Name, j, netprim.ErrInvalidSpec))
			continue
		}
		seen[w.Name] = i
	}
	return errors.Join(errs...)
}
