package route

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/netprim/netprim"
)

// WithOwnedTables declares that every route in the given tables belongs to
// the caller: with netprim.WithPrune, Apply then also deletes routes of
// other protocols in these tables when they are not wanted. Routes the
// kernel made for addresses (protocol kernel) are never deleted, and the
// local table (255) cannot be owned; Plan and Apply reject it. Without
// this option only routes carrying the owner's protocol are pruned.
//
// The option is ignored by other packages.
func WithOwnedTables(tables ...uint32) netprim.Option {
	t := slices.Clone(tables)
	return func(o *netprim.Options) {
		withExt(o, func(x *ext) { x.ownedTables = append(x.ownedTables, t...) })
	}
}

// withDumpCounter makes Plan and Apply add the number of route (or rule)
// dumps they request to *tables and of link dumps to *links.
func withDumpCounter(tables, links *int64) netprim.Option {
	return func(o *netprim.Options) {
		withExt(o, func(x *ext) { x.dumps, x.linkDumps = tables, links })
	}
}

// ext holds the options of this package that netprim.Options has no field
// for; it is stored in the Options under extKey.
type ext struct {
	ownedTables []uint32
	dumps       *int64
	linkDumps   *int64
}

type extKey struct{}

func withExt(o *netprim.Options, fn func(*ext)) {
	x, _ := o.Value(extKey{}).(ext)
	x.ownedTables = slices.Clone(x.ownedTables)
	fn(&x)
	o.Set(extKey{}, x)
}

// resolve returns the shared options and this package's own.
func resolve(opts []netprim.Option) (netprim.Options, ext) {
	o := netprim.Resolve(opts...)
	x, _ := o.Value(extKey{}).(ext)
	return o, x
}

func (x *ext) countDump()     { count(x.dumps, 1) }
func (x *ext) countLinkDump() { count(x.linkDumps, 1) }

func count(n *int64, k int) {
	if n != nil && k != 0 {
		atomic.AddInt64(n, int64(k))
	}
}

// checkOptions rejects owner ids the kernel reserves and tables that
// cannot be owned.
func checkOptions(o netprim.Options, x ext) error {
	if err := o.Owner.Validate(); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	for _, t := range x.ownedTables {
		switch t {
		case 0:
			return fmt.Errorf("route: owned table 0: %w: not a table id", netprim.ErrInvalidSpec)
		case TableLocal, tableCompat:
			return fmt.Errorf("route: owned table %d: %w: the kernel keeps this table", t, netprim.ErrInvalidSpec)
		}
	}
	return nil
}
