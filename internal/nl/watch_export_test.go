package nl

import (
	"context"

	"github.com/netprim/netprim"
)

// WatchWithBreak is Watch that also returns a function closing the
// watcher's current socket, so that its next receive fails the way a broken
// subscription would: tests use it to drive the re-open path.
func WatchWithBreak(ctx context.Context, ns *netprim.Namespace, groups []uint32, cfg WatchConfig) (<-chan netprim.Event, func(), error) {
	w, err := newWatcher(ctx, ns, groups, cfg)
	if err != nil {
		return nil, nil, err
	}
	go w.run(ctx)
	brk := func() {
		w.sub.mu.Lock()
		if w.sub.file != nil {
			w.sub.file.Close()
		}
		w.sub.mu.Unlock()
	}
	return w.out, brk, nil
}

// WatchWithMessageBuffer is Watch with a datagram buffer of size bytes
// instead of the default, so that tests can make the kernel truncate.
func WatchWithMessageBuffer(ctx context.Context, ns *netprim.Namespace, groups []uint32, cfg WatchConfig, size int) (<-chan netprim.Event, error) {
	w, err := newWatcher(ctx, ns, groups, cfg)
	if err != nil {
		return nil, err
	}
	w.sub.buf = make([]byte, size)
	go w.run(ctx)
	return w.out, nil
}
