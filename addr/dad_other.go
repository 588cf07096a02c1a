//go:build !linux

package addr

import (
	"context"
	"net/netip"

	"github.com/netprim/netprim"
)

// DADWatch follows the kernel's duplicate address detection of one IPv6
// address; Linux only.
type DADWatch struct{}

// NewDADWatch returns netprim.ErrUnsupported: it reads rtnetlink, which
// exists on Linux only.
func NewDADWatch(ns *netprim.Namespace, link string, a netip.Addr) (*DADWatch, error) {
	return nil, netprim.Unsupported("duplicate address detection (Linux only)", "")
}

// Close does nothing.
func (w *DADWatch) Close() {}

// Wait returns netprim.ErrUnsupported.
func (w *DADWatch) Wait(ctx context.Context) (DADResult, error) {
	return 0, netprim.Unsupported("duplicate address detection (Linux only)", "")
}

// WaitDAD returns netprim.ErrUnsupported: it reads rtnetlink, which exists
// on Linux only.
func WaitDAD(ctx context.Context, ns *netprim.Namespace, link string, a netip.Addr) (DADResult, error) {
	return 0, netprim.Unsupported("duplicate address detection (Linux only)", "")
}
