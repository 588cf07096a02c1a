package link

// ListOption changes what List reads.
type ListOption func(*listOptions)

type listOptions struct {
	noEthtool bool
	sysfsPCI  string // directory of PCI devices; "" is the real one
}

// WithoutEthtool makes List skip the ethtool ioctls: Driver, BusInfo,
// PCIID, Speed and Duplex stay empty, and List is one netlink dump only.
func WithoutEthtool() ListOption { return func(o *listOptions) { o.noEthtool = true } }
