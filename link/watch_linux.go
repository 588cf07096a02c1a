package link

import (
	"context"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// Watch reports changes of the links in ns (nil: the caller's namespace)
// until ctx ends, then closes the channel.
//
// Each event has Kind "link" and names the link as a Plan does, by its
// interface name (Spec.Name, Status.Name): Action netprim.Add when a
// link appeared or changed (any attribute: MTU, flags, carrier, master,
// ...), netprim.Delete when it was removed or left the namespace. A rename
// is reported as Delete of the old name and Add of the new one. The kernel
// does not announce every change of a link that is down: a new alias or
// alternative name of a down link produces no event (MTU, hardware address,
// txqueuelen, master and flag changes do).
//
// Watch never loses a change silently: when the kernel dropped
// notifications (receive buffer overflow, also because the receiver is
// slow) or the subscription had to be re-opened, the channel carries an
// Event with Resync set, and the receiver must List again. Start Watch
// before the initial List so nothing falls between them. If the channel
// closes while ctx is still alive, the subscription could not be re-opened:
// call Watch again and List.
func Watch(ctx context.Context, ns *netprim.Namespace, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	o := netprim.ResolveWatch(opts...)
	return nl.Watch(ctx, ns, nl.LinkGroups(), nl.WatchConfig{ReceiveBuffer: o.BufferSize})
}
