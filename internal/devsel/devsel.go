// Package devsel resolves a device selector that names one device against
// the links of a namespace, for the packages that let a configuration
// name a device by selector (a VLAN's parent, a link entry of a
// document).
package devsel

import (
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

// stackedKinds take the address of the link they sit on: a selector by
// hardwareAddr that matches the lower link matches them too.
var stackedKinds = map[string]bool{"vlan": true, "ipvlan": true, "ipvtap": true}

// One returns the one link of links that s selects, with the errors of
// selector.MatchOne. A VLAN (or ipvlan) that sits on a link s also
// matches is not counted as a second match: it shows its parent's
// address, so without this rule a selector by hardwareAddr would become
// ambiguous as soon as a VLAN is put on the device it selects.
func One(s selector.Selector, links []link.Status) (link.Status, error) {
	m, err := s.Match(links)
	if err != nil {
		return link.Status{}, err
	}
	if len(m) < 2 {
		return s.MatchOne(links)
	}
	matched := make(map[int]bool, len(m))
	for _, l := range m {
		matched[l.Index] = true
	}
	cand := make([]link.Status, 0, len(links))
	for _, l := range links {
		if stackedKinds[l.Kind] && l.ParentNetnsID < 0 && l.ParentIndex != l.Index &&
			matched[l.Index] && matched[l.ParentIndex] {
			continue
		}
		cand = append(cand, l)
	}
	return s.MatchOne(cand)
}
