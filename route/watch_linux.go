package route

import (
	"context"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// Watch reports changes of the IPv4 and IPv6 routes, in every table, and of
// the policy rules in ns (nil: the caller's namespace) until ctx ends, then
// closes the channel.
//
// Events have Kind "route" or "rule" and name the object as a Plan does,
// with Status.String and RuleStatus.String: the event for a route or rule
// that Apply or ApplyRules wrote has the Object of the Plan's change that
// added it, e.g. "198.51.100.0/24 via 192.0.2.1 dev veth0 table 100" or
// "100: from all fwmark 0x40/0x60 lookup 180". The owner (protocol) is not
// part of the name; the kernel's own routes and rules read
// "... proto kernel ...". Action is netprim.Add when the object appeared or
// was replaced, netprim.Delete when it was removed. The kernel's own
// routes (local table, prefix routes of addresses) are reported too;
// cached clones are not.
//
// Watch never loses a change silently: when the kernel dropped
// notifications (receive buffer overflow, also because the receiver is
// slow) or the subscription had to be re-opened, the channel carries an
// Event with Resync set for each kind, and the receiver must List again.
// The kernel also removes IPv4 routes without any notification when their
// link goes down or is deleted (and, on older kernels, when their source
// address is removed); Watch follows link and address changes itself and
// reports a route Resync then. Start Watch before the initial List so
// nothing falls between them. If the channel closes while ctx is still
// alive, the subscription could not be re-opened: call Watch again and
// List.
func Watch(ctx context.Context, ns *netprim.Namespace, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	o := netprim.ResolveWatch(opts...)
	groups := append(nl.RouteGroups(), nl.RuleGroups()...)
	return nl.Watch(ctx, ns, groups, nl.WatchConfig{ReceiveBuffer: o.BufferSize, Route: renderRoute, Rule: renderRule})
}

// renderRoute names the route of a route message as Status.String does.
func renderRoute(data []byte, name func(int32) string) (string, bool) {
	var st Status
	if ok, _ := parseRoute(data, name, &st); !ok {
		return "", false
	}
	return st.String(), true
}

// renderRule names the rule of a rule message as RuleStatus.String does.
func renderRule(data []byte, _ func(int32) string) (string, bool) {
	var st RuleStatus
	if ok, _ := parseRule(data, &st); !ok {
		return "", false
	}
	return st.String(), true
}
