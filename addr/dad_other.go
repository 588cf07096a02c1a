//go:build !linux

package addr

import (
	"context"
	"net/netip"

	"github.com/netprim/netprim"
)

// WaitDAD returns netprim.ErrUnsupported: it reads rtnetlink, which exists
// on Linux only.
func WaitDAD(ctx context.Context, ns *netprim.Namespace, link string, a netip.Addr) (DADResult, error) {
	return 0, netprim.Unsupported("duplicate address detection (Linux only)", "")
}
