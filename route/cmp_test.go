package route

import (
	"net/netip"

	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpIP makes go-cmp compare netip values with ==.
var cmpIP = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// prepare validates specs and returns normalized copies.
func prepare(specs []Spec) ([]Spec, error) {
	if err := Validate(specs); err != nil {
		return nil, err
	}
	out := make([]Spec, len(specs))
	for i := range specs {
		out[i] = normalized(&specs[i])
	}
	return out, nil
}
