package addr

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// Watch reports changes of the IPv4 and IPv6 addresses in ns (nil: the
// caller's namespace) until ctx ends, then closes the channel.
//
// Each event has Kind "address" and names the address as a Plan does, with
// Status.String: "192.0.2.10/24 dev veth0" or
// "192.0.2.10 peer 192.0.2.1/32 dev veth0", so the event for an address
// Apply added has the Object of the Plan's change that added it. The owner
// (IFA_PROTO) is not part of the name:
// Action netprim.Add when an address appeared or changed (flags such as
// tentative, lifetimes), netprim.Delete when it was removed, also because
// its link went away.
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
	return nl.Watch(ctx, ns, nl.AddressGroups(), nl.WatchConfig{ReceiveBuffer: o.BufferSize, Address: render})
}

// render names the address of an address message as Status.String does.
func render(data []byte, name func(int32) string) (string, bool) {
	if len(data) < unix.SizeofIfAddrmsg {
		return "", false
	}
	a, ok := parseAddr(data)
	if !ok {
		return "", false
	}
	a.link = name(int32(a.ifindex))
	return a.object(), true
}
