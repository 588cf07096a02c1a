package selector

import (
	"context"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// Find lists the links of ns (nil: the caller's namespace) with link.List,
// driver facts included, and returns the one s selects, with the errors of
// MatchOne: what a bond port or a VLAN parent given by selector resolves
// to at Apply time.
func Find(ctx context.Context, ns *netprim.Namespace, s Selector) (link.Status, error) {
	if err := s.Validate(); err != nil {
		return link.Status{}, err
	}
	links, err := link.List(ctx, ns)
	if err != nil {
		return link.Status{}, err
	}
	return s.MatchOne(links)
}
