// Package etcd elects the owner of a shared IP with etcd: an Elector is a
// vip.Elector on an etcd v3 election (the key layout of
// go.etcd.io/etcd/client/v3/concurrency), and the Term it wins is a
// vip.Term whose ProvenUntil is backed by the lease etcd keeps.
//
// # What a term guarantees
//
// Each candidate holds one key under the election's prefix, attached to a
// lease of its own; the key with the lowest create revision leads, and a
// candidate wins once every key created before its own is gone. A leader's
// key goes only when its lease ends (it expires, or is revoked) or someone
// deletes it. etcd expires a lease no earlier than TTL after the last
// renewal it received, so a term that noted the time just before sending
// a renewal knows that no other node can win before that time plus the
// TTL. ProvenUntil is that instant less Options.Margin, which leaves the
// holder of the shared IP time to remove it and covers clocks running at
// slightly different rates. The term renews every Options.RenewInterval
// and retries failed renewals; when ProvenUntil passes without one (etcd
// unreachable, the node cut off), the term ends: Done is closed, nothing
// renews the lease any more, and the lease is revoked if etcd can still be
// reached. Thus the holder gives up the address before another node can
// win, without having to reach etcd to learn it lost.
//
// A watch on the key ends the term at once when the key is deleted or the
// lease revoked by someone else, so an operator can move the IP by
// deleting the leader's key (etcdctl del PREFIX/LEASE).
//
// Resign ends the term first (Done closed, ProvenUntil zero) and only then
// deletes the key and revokes the lease: the next candidate wins at once,
// typically within tens of milliseconds.
//
// # A crashed owner
//
// When the owner dies without resigning, nothing renews its lease: etcd
// expires it TTL after the last renewal it received, plus up to about half
// a second (etcd checks for expired leases every 500 ms), and then deletes
// the key; the next candidate wins right after. With the default TTL of
// 10 s the IP moves 10 to 10.5 s after the owner's last renewal. A smaller
// TTL moves it sooner at the cost of more renewals (one per RenewInterval,
// TTL/4 by default); vip.MinTTL (3 s) is the shortest accepted, and a TTL
// whose address lifetime (vip.HoldLifetime) would not outlast RenewInterval
// is refused.
//
// # Identities and restarts
//
// Each node campaigns under its own identity, the value of its key. A
// Campaign first deletes the keys that its identity left under the prefix
// on other leases, so a node restarted after a crash does not wait a TTL
// behind its own old key. The identity must therefore be unique to one
// running process: a second process campaigning under the same identity
// deletes the first one's key and ends its term.
//
// The Elector does not own the etcd client: close it after the last term
// resigned. Closing the client ends a running term.
package etcd
