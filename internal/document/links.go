package document

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

// Link is one entry of the links section: a link.Spec whose link is named
// by Name or, for a device that exists already, chosen by DeviceSelector
// instead, as in a Talos Linux machine configuration:
//
//	links:
//	  - deviceSelector:
//	      busPath: "0*"   # the only PCI network device
//	    mtu: 9000
//	    up: true
//
// Exactly one of Name and DeviceSelector is given. A selected device must
// exist (Kind and the kind parameters stay unset); Plan and Apply resolve
// the selector to the device's name against the links of the namespace,
// and it must match exactly one.
type Link struct {
	link.Spec `yaml:",inline"`
	// DeviceSelector chooses an existing device by what its hardware
	// reports (see package selector) instead of by Name.
	DeviceSelector *selector.Selector `json:"deviceSelector,omitempty" yaml:"deviceSelector,omitempty"`
}

// Links wraps link specs as entries of a document's links section, for
// documents built in Go.
func Links(specs ...link.Spec) []Link {
	out := make([]Link, len(specs))
	for i, s := range specs {
		out[i] = Link{Spec: s}
	}
	return out
}

// hasSelectors reports whether an entry of d's links section has a
// device selector.
func (d *Document) hasSelectors() bool {
	for _, l := range d.Links {
		if l.DeviceSelector != nil {
			return true
		}
	}
	return false
}

// validateLinks checks the links section: name or deviceSelector (exactly
// one), the selectors, and every entry's fields as link.Validate checks
// them, with a stand-in name for the selected devices, whose names are
// known only once resolved. Errors name the entry ("links[2].kind: ...",
// "link: spec[2].mtu: ...").
func (d *Document) validateLinks() error {
	var errs []error
	specs := make([]link.Spec, len(d.Links))
	used := map[string]bool{}
	for _, l := range d.Links {
		used[l.Name] = true
		if l.Master != nil {
			used[*l.Master] = true
		}
		if l.Veth != nil {
			used[l.Veth.Peer] = true
		}
	}
	for i, l := range d.Links {
		specs[i] = l.Spec
		if l.DeviceSelector == nil {
			if l.Name == "" {
				errs = append(errs, fmt.Errorf("document: links[%d]: give name or deviceSelector: %w", i, netprim.ErrInvalidSpec))
			}
			continue
		}
		if l.Name != "" {
			errs = append(errs, fmt.Errorf("document: links[%d]: name %s and deviceSelector both given: give one of them: %w", i, l.Name, netprim.ErrInvalidSpec))
			continue
		}
		if err := l.DeviceSelector.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("document: links[%d].deviceSelector: %w", i, err))
			continue
		}
		s := l.Spec
		s.Normalize()
		if s.Kind != "" {
			errs = append(errs, fmt.Errorf("document: links[%d].kind: %s: a device chosen by deviceSelector must exist already: %w", i, s.Kind, netprim.ErrInvalidSpec))
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

// linkSpecs returns the specs of d's links section for package link, the
// device selectors resolved against links (one listing of the namespace;
// nil when d has no selector). A selector that matches no device
// (netprim.ErrNotFound) or several (selector.ErrAmbiguous) is an error
// naming the entry ("document: links[0].deviceSelector: ..."), and so is a
// device selected twice or also named by another entry.
func (d *Document) linkSpecs(links []link.Status) ([]link.Spec, error) {
	specs := make([]link.Spec, len(d.Links))
	var errs []error
	for i, l := range d.Links {
		specs[i] = l.Spec
		if l.DeviceSelector == nil {
			continue
		}
		dev, err := l.DeviceSelector.MatchOne(links)
		if err != nil {
			errs = append(errs, fmt.Errorf("document: links[%d].deviceSelector: %w", i, err))
			continue
		}
		specs[i].Name = dev.Name
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	seen := map[string]int{}
	for i, s := range specs {
		if j, ok := seen[s.Name]; ok {
			field := "deviceSelector"
			if d.Links[i].DeviceSelector == nil {
				field = "name"
			}
			errs = append(errs, fmt.Errorf("document: links[%d].%s: %s is also links[%d]: %w", i, field, s.Name, j, netprim.ErrInvalidSpec))
			continue
		}
		seen[s.Name] = i
	}
	return specs, errors.Join(errs...)
}

// resolveLinks lists the links of ns when d has device selectors and
// returns the specs of its links section with the selectors resolved.
func (d *Document) resolveLinks(ctx context.Context, ns *netprim.Namespace) ([]link.Spec, error) {
	if !d.hasSelectors() {
		return d.linkSpecs(nil)
	}
	links, err := link.List(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("links: resolving device selectors: %w", err)
	}
	return d.linkSpecs(links)
}
