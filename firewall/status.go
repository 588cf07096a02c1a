package firewall

import "strings"

// EventKind is the Kind of the events Watch sends.
const EventKind = "firewall"

// Status is the firewall as the kernel holds it.
type Status struct {
	// Table is the name of the inet table.
	Table string `json:"table"`
	// DefaultAction is the policy of the input chain.
	DefaultAction DefaultAction `json:"defaultAction"`
	// Rules are the rules of the input chain in order.
	Rules []RuleStatus `json:"rules"`
}

// RuleStatus is one kernel rule with its counters.
type RuleStatus struct {
	// Name is the Spec rule the kernel rule was compiled from, a safety
	// rule ("safety:loopback", "safety:established", "safety:invalid",
	// "safety:icmpv6", "safety:icmp") or "default" (packets that reached
	// the default action). Empty for a rule netprim did not write.
	Name string `json:"name"`
	// Family is "ip" or "ip6" when the Spec rule was split by address
	// family, empty when the kernel rule matches both.
	Family string `json:"family,omitempty"`
	// Handle is the kernel's rule handle (nft -a).
	Handle uint64 `json:"handle"`
	// Comment is the rule's comment: "NAME[/FAMILY] #HASH".
	Comment string `json:"comment,omitempty"`
	// Packets and Bytes are the rule's counter: packets it matched.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Counters returns the packets and bytes matched by the kernel rules
// compiled from the Spec rule name (both families added up).
func (s Status) Counters(name string) (packets, bytes uint64) {
	for _, r := range s.Rules {
		if r.Name == name {
			packets += r.Packets
			bytes += r.Bytes
		}
	}
	return packets, bytes
}

// parseComment splits "NAME[/FAMILY] #HASH"; ok is false for comments
// netprim did not write.
func parseComment(c string) (name, family string, ok bool) {
	id, hash, found := strings.Cut(c, " #")
	if !found || len(hash) != 12 || id == "" {
		return "", "", false
	}
	if n, f, cut := strings.Cut(id, "/"); cut && (f == "ip" || f == "ip6") {
		return n, f, true
	}
	return id, "", true
}
