//go:build !linux

package resolv

import (
	"context"

	"github.com/netprim/netprim"
)

// Watch is only implemented on Linux (it uses inotify); elsewhere it
// returns netprim.ErrUnsupported.
func Watch(ctx context.Context, root string, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	return nil, netprim.Unsupported("inotify, for resolv Watch (Linux only)", "")
}
