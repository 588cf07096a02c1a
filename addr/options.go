package addr

import "github.com/netprim/netprim"

// WithRefresh makes Plan and Apply rewrite the lifetimes of every wanted
// address that has a finite lifetime (relative or absolute), even when the
// kernel's countdown is within the tolerance that normally leaves it alone
// (see "Lifetimes" in the package documentation). Each such address costs
// one in-place write per Apply, so Apply with WithRefresh is not idempotent
// by design.
//
// It is for a caller that keeps a short lifetime alive on its own schedule:
// a shared IP whose address must vanish by itself, a few seconds after its
// owner stops renewing, refreshes it with a short ValidLifetime on every
// tick. Without the option a refresh would only be written once half of
// the lifetime has passed.
//
// The option is ignored by other packages.
func WithRefresh() netprim.Option {
	return func(o *netprim.Options) { o.Set(refreshKey{}, true) }
}

type refreshKey struct{}

// refreshOf reports whether WithRefresh is among the options.
func refreshOf(o netprim.Options) bool {
	v, _ := o.Value(refreshKey{}).(bool)
	return v
}
