package firewall

import "github.com/netprim/netprim"

type takeOverKey struct{}

// WithTakeOver lets Plan and Apply adopt an existing table of the Spec's
// name that netprim did not write: its chains, rules and sets are replaced
// by the Spec's. Without it such a table is refused with
// netprim.ErrConflict, so that a firewall someone else manages (a
// distribution's "table inet filter", another program using the same
// name) is never wiped by accident.
func WithTakeOver() netprim.Option {
	return func(o *netprim.Options) { o.Set(takeOverKey{}, true) }
}

func takeOver(o netprim.Options) bool {
	b, _ := o.Value(takeOverKey{}).(bool)
	return b
}
