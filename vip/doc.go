// Package vip shares one virtual IP among nodes: an election decides which
// node owns it, the owner takes the address up on its link and announces
// it (gratuitous ARP, unsolicited neighbour advertisement, or a cloud
// provider's API), and the address moves when the owner goes away. It is
// the shared control-plane endpoint of Talos Linux ("vip" on an interface
// or VLAN), built so that two nodes never own the address at once.
//
// # Parts
//
//   - Elector and Term: the election. vip/etcd runs it over etcd (one key
//     per node under a prefix, a lease of the election TTL), vip/kube over
//     a Kubernetes coordination.k8s.io Lease. Each lives in its own package
//     so that a program importing vip compiles neither etcd nor client-go.
//   - Controller: keeps the address on this node while its term is proven
//     and off it otherwise; health gating; drift repair.
//   - Announcer: gratuitous ARP (a request and a reply, sender = target =
//     the address) for IPv4, an unsolicited neighbour advertisement
//     (override set, target link-layer address option, to ff02::1) for
//     IPv6, on a packet socket bound to the link: a physical link, a VLAN,
//     a bond or a bridge. By default a round at once, then every 1.1 s for
//     five rounds (the kernel ignores a second neighbour update within its
//     1 s locktime); AnnounceOptions.Refresh adds periodic rounds.
//   - Handler: moves the address by other means, fenced by the term
//     (Fence); vip/hcloud assigns a Hetzner Cloud floating IP. Equinix
//     Metal, the other provider Talos supported, was shut down on
//     2026-06-30: there is no handler for it.
//
// # Never two owners
//
// A Term's ProvenUntil is the instant before which no other node can win:
// the time this node sent its last successful renewal plus the TTL, less a
// margin. The Controller holds the address only while that instant is
// ahead:
//
//   - the address carries a kernel valid lifetime that ends LifetimeSlack
//     (1.5 s) before ProvenUntil, in whole seconds, refreshed on every
//     renewal: the kernel may drop an expired address up to about 1.25 s
//     late. If this process is killed or hangs, the kernel removes the
//     address by itself before another node can win; with the shortest
//     TTL, 3 s, it is gone 1 to 2.25 s after the last renewal. The
//     electors refuse a TTL whose lifetime would not outlast the time
//     between two renewals;
//   - when no renewal arrives in time (the backend is unreachable), the
//     Controller removes the address before ProvenUntil, then tries to
//     resign;
//   - when the term ends, the link goes down or the caller's health check
//     fails, and on a graceful stop, the address is removed first and the
//     term resigned after, so that the successor, which wins at once on
//     the resignation, never overlaps.
//
// Talos, kube-vip and keepalived do not tie the address to the proof of
// the lease: none gives it a kernel lifetime, so an owner whose process
// hangs keeps answering for the address while another node takes it, and
// keepalived makes two masters whenever the nodes cannot hear each other.
//
// # Ownership
//
// The address is marked with Config.Owner (DefaultOwner: an id next to
// netprim's default) and only the Controller writes it. Keep that owner
// distinct from a Reconciler's: a pruning Reconciler then never deletes the
// shared IP, and the address is never brought back by a pass queued before
// the node stepped down, which would make two owners. A copy of the
// address left by an earlier run of the same owner is removed when Run
// starts.
//
// # Failover times
//
// Measured on a 2-core machine, three nodes on a bridge, etcd elector with
// a TTL of 3 s (see BenchmarkFailover): a graceful stop hands over in
// milliseconds (the owner resigns, the successor's watch fires); after
// a crash the successor wins when etcd expires the lease, TTL plus up to
// half a second for etcd's expiry check.
package vip
