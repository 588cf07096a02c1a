package route

import "net/netip"

// Status is a route as the kernel reports it. Its Spec part uses the same
// conventions as a normalized Spec, so for a route that Apply wrote
// Status.Spec equals the normalized Spec (with Link filled in when the
// Spec left it to the kernel).
//
// For blackhole, unreachable and prohibit routes Link is empty even though
// the kernel reports IPv6 ones on "lo".
type Status struct {
	Spec `yaml:",inline"`
	// Family is "inet" or "inet6".
	Family Family `json:"family" yaml:"family"`
	// Protocol records who made the route: "kernel" for routes of
	// addresses, "boot" for ip route add, the owner id for routes netprim
	// wrote.
	Protocol Protocol `json:"protocol" yaml:"protocol"`
	// Flags are the kernel's next-hop flags (onlink, linkdown, dead, ...),
	// for multipath routes those of every hop together.
	Flags Flags `json:"flags,omitempty" yaml:"flags,omitempty"`
	// LinkIndex is the interface index of Link (0 when none or multipath).
	LinkIndex int `json:"linkIndex,omitempty" yaml:"linkIndex,omitempty"`
	// From is the source prefix of a source-specific route (ip's "from",
	// RTA_SRC; IPv6 only), zero for every other route. A Spec cannot ask
	// for one: Plan and Apply never change or delete such a route.
	From netip.Prefix `json:"from,omitzero" yaml:"from"`
}
