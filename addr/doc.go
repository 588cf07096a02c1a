// Package addr manages IPv4 and IPv6 addresses of links: Spec is a wanted
// address, Status an address the kernel has, List reads them all with one
// dump, Plan shows the writes Apply would make and Apply makes them.
//
// # Identity
//
// An address is identified by its link and host address. Two Specs with
// the same host address on one link are duplicates even with different
// prefix lengths. The kernel's own notion differs by family: IPv6 keeps one
// address per host address and link, IPv4 one per host address, prefix
// length and peer network, so 192.0.2.10/24 and 192.0.2.10/16 can coexist.
//
// # Ownership and pruning
//
// Every address Apply adds carries the owner id (netprim.Owner.ID, 78 by
// default) in IFA_PROTO, so a restarted process knows its addresses from
// the kernel alone. With netprim.WithPrune, Apply deletes addresses marked
// with the owner id that are not wanted. It never deletes an address
// without that mark: addresses added by hand ("ip address add", IFA_PROTO
// 0), by another owner id, or by the kernel (IPv6 link-local and
// router-advertised addresses, IFA_PROTO kernel_ll and kernel_ra) survive.
// A wanted address that exists unmarked is adopted: Apply marks it with the
// owner id in place. IPv4 addresses are adopted on Linux 6.3 and later
// only: older kernels ignore a new IFA_PROTO when an IPv4 address is
// replaced, so such an address stays unmarked (and is never pruned). A
// wanted address marked by another owner id keeps that owner's mark.
//
// Prune is owner-wide: Apply with netprim.WithPrune deletes every address
// marked with the owner id that is not in want, whoever added it. So when
// several producers share an owner (static configuration, a DHCP client, a
// VIP), only one caller may prune: in a composed daemon, the reconcile
// package's Reconciler, which prunes over the merged desired state of all
// its sources. The others apply without netprim.WithPrune.
//
// IFA_PROTO needs Linux 5.18. On older kernels the mark is silently dropped
// by the kernel, so Apply adopts nothing and prunes nothing, and the Plan
// carries a warning when pruning was asked for. (A mode that treats every
// address on an owned link as owned would be the alternative there; it is
// not implemented.)
//
// # What is compared
//
// Only the flags a Spec manages are compared: nodad, noprefixroute,
// homeaddress and mngtmpaddr. Flags the kernel sets (secondary, temporary,
// tentative, optimistic, dadfailed, deprecated, permanent, stable-privacy)
// never cause a change, so duplicate address detection or a promoted
// secondary do not lead to a delete/re-add loop. "optimistic" is asked for
// when an address is added and never compared, because the kernel clears
// it when duplicate address detection ends.
//
// # Lifetimes
//
// Lifetimes count down in the kernel, which removes an address when its
// valid lifetime runs out (and marks it deprecated when its preferred one
// does), whether or not anybody applies again. A Spec gives them either
// relative (ValidLifetime, PreferredLifetime) or absolute (ValidUntil,
// PreferredUntil), never both. The kernel reports whole seconds left.
//
// A relative lifetime is refreshed only when more than half of it has
// passed (this includes a preferred lifetime that ran out), when the
// remaining time is longer than wanted (the Spec was shortened), or when
// one side is forever and the other is not. A process that applies more
// often than every half lifetime keeps the address alive without writing
// on every Apply - and, if it dies, the address outlives its last Apply by
// up to the whole lifetime.
//
// An absolute lifetime is for an end that is known, such as a DHCP lease's
// expiry. Plan and Apply compute the wanted lifetime when they plan: the
// whole seconds left until ValidUntil (PreferredUntil), rounded down, so
// the kernel removes the address no later than ValidUntil (give or take a
// fraction of a second: the time from planning to the write and the
// kernel's own timer slack), even when no Apply ever follows. A Spec less
// than a second before its ValidUntil, or after it, has expired: Apply does
// not add its address, the Plan carries a warning, and an existing one is
// left to the kernel's countdown or, with netprim.WithPrune, deleted if it
// is ours. A passed PreferredUntil makes the address deprecated (preferred
// lifetime 0). Apply writes the lifetimes again when the kernel would keep
// the address longer than wanted: its remaining seconds exceed the wanted
// ones by more than one (the kernel's rounding: it reports the seconds
// written less the whole seconds passed, so a lifetime written from a
// ValidUntil reads as the wanted one or one more; an address given a
// lifetime by someone else may thus outlive ValidUntil by less than a
// second); or when they fall short of the wanted ones by more than two
// seconds (the rounding and a second of drift between the kernel's clock
// and the one ValidUntil is read on). So Applies with the same ValidUntil
// make no writes, however often they run, and a renewal (a later
// ValidUntil) makes exactly one. Unlike a relative lifetime, an absolute one
// never pushes the kernel's countdown past the end the caller knows.
//
// WithRefresh makes Apply write every finite lifetime regardless, for a
// caller that keeps a short relative lifetime alive on its own schedule.
//
// # In place or recreated
//
// The metric, the lifetimes and (for IPv6) the managed flags change in
// place with RTM_NEWADDR and NLM_F_REPLACE. The kernel cannot change an
// IPv4 address's label, scope, broadcast address, flags or peer, nor an
// IPv6 address's prefix length or peer, in place: such an address is
// recreated (deleted and added again, a disruptive change marked in the
// Plan), and only if it is ours; an unowned address yields an error
// instead. A new IPv4 prefix length for an address of ours is a new kernel
// address: the new one is added first and the old one deleted afterwards.
//
// # Secondary addresses
//
// Deleting a primary IPv4 address makes the kernel delete the secondary
// addresses of its subnet too, unless net.ipv4.conf.LINK.promote_secondaries
// (or .all.) is set, in which case a secondary becomes primary. Apply
// models this: deletes of secondaries that go with their primary are not
// sent, and secondaries that must stay (wanted, or not ours) are added
// again right after the delete. The Plan marks those changes disruptive and
// warns, suggesting promote_secondaries=1.
//
// # Duplicate address detection
//
// The kernel probes a new IPv6 address (unless it has "nodad") before it
// uses it; while it does, the address is "tentative". WaitDAD waits for
// the outcome: passed, or failed because another host of the link has
// the address (the kernel marks it "dadfailed", and removes it at once
// when its valid lifetime is finite). A DADWatch made before the address
// is added (NewDADWatch, then Wait) misses nothing, not even a detection
// that fails at once. Apply does not wait for it.
//
// # Batching
//
// Apply sends its writes in two netlink batches (adds and in-place
// changes, then deletes and what must follow them) and checks the kernel's
// answer to every request. A cancelled context stops between batches or
// between chunks of a batch; whatever was added is marked, so the next
// Apply converges and, with pruning, removes what is no longer wanted.
package addr
