package vip

import "time"

// Announcement defaults, after MetalLB: a round at once, then every 1.1 s
// (longer than the kernel's 1 s neighbour locktime, which ignores a second
// update within a second) for about 5 s.
const (
	DefaultAnnounceCount    = 5
	DefaultAnnounceInterval = 1100 * time.Millisecond
)

// AnnounceOptions say how often the owner of a shared IP tells its link's
// neighbours: a gratuitous ARP request and reply for IPv4, an unsolicited
// neighbour advertisement (override set) to all nodes for IPv6.
type AnnounceOptions struct {
	// Count is the number of rounds after acquisition, the first at once;
	// 0 means DefaultAnnounceCount, a negative value none.
	Count int `json:"count,omitempty" yaml:"count,omitempty"`
	// Interval is the time between two rounds; 0 means
	// DefaultAnnounceInterval.
	Interval time.Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Refresh, when positive, sends one more round every Refresh for as
	// long as this node owns the address (kube-vip sends one every 3 s).
	Refresh time.Duration `json:"refresh,omitempty" yaml:"refresh,omitempty"`
}
