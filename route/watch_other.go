//go:build !linux

package route

import (
	"context"

	"github.com/netprim/netprim"
)

// Watch returns netprim.ErrUnsupported: rtnetlink notifications of routes and rules
// exist on Linux only.
func Watch(ctx context.Context, ns *netprim.Namespace, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	return nil, netprim.Unsupported("rtnetlink notifications (Linux only)", "")
}
