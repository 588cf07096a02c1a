// Package firewall manages an ingress firewall on nftables: one table owned
// by netprim (family inet, name configurable, default "netprim") with one
// base chain "input" (type filter, hook input, priority 0).
//
// # Rules
//
// A Spec lists ordered Rules and a DefaultAction. Each Rule selects packets
// by protocol (tcp, udp, icmp, icmpv6, any), destination ports or port
// ranges ("6443", "30000-32767"), source subnets (IPv4 and IPv6) minus
// Except subnets, and optionally the input interface; its Action accepts,
// drops or rejects them. The first matching rule wins, exactly in the order
// written; packets no rule matches get the DefaultAction, which becomes the
// chain policy (accept, or drop for "block").
//
// A Rule with subnets of both families compiles to two kernel rules, one
// per family; a rule without subnets compiles to one rule for both. Source
// subnets minus exceptions are computed as address intervals: a single
// prefix is matched inline, anything else through a named interval set, as
// are port lists; per-packet cost does not grow with the number of subnets
// or ports.
//
// # Safety rules
//
// Before the user's rules the chain always holds, in this order:
//
//   - iifname "lo" accept: the host talking to itself.
//   - ct state established,related accept: replies and related ICMP errors
//     of connections the host accepted or opened.
//   - ct state invalid drop.
//   - ICMPv6 destination-unreachable, packet-too-big, time-exceeded,
//     parameter-problem and neighbour discovery (router and neighbour
//     solicitation and advertisement, redirect) accept: IPv6 does not work
//     without neighbour discovery, and path MTU discovery needs
//     packet-too-big.
//   - ICMP destination-unreachable (which carries "fragmentation needed"
//     for IPv4 path MTU discovery), time-exceeded, parameter-problem accept.
//
// After the user's rules a rule without verdict counts the packets that
// fall through to the default action ("default" in Status). Every rule has
// a counter.
//
// # Apply, identity and counters
//
// Apply compiles the Spec, reads the table back and computes the smallest
// change: every kernel rule carries a comment "NAME[/FAMILY] #HASH" whose
// hash covers the rule's compiled text (sets are named after a hash of their
// contents), so a rule whose text did not change is recognised and left
// alone: it keeps its handle and its counters. New rules are inserted at
// their position, rules no longer wanted are deleted, sets are added,
// refilled (when their elements drifted) or deleted, the chain policy is
// updated in place. All of it goes to the kernel as one nftables
// transaction (one batch, applied atomically: a packet sees the old
// ruleset or the new one, never a mixture), so established connections and
// new connections to ports both rulesets allow are never interrupted. A
// second Apply of the same Spec sends nothing at all.
//
// A rule is recognised by its comment only: a rule someone replaced in
// place ("nft replace rule") keeping netprim's comment is not detected.
// Set contents are compared element by element and refilled when they
// drifted; missing rules, foreign rules and a changed policy are repaired
// too.
//
// The transaction is built with github.com/google/nftables and sent as one
// sendmsg without the per-rule echo nftables.Conn.Flush asks for, with one
// acknowledgement for the whole batch; the kernel still reports each
// failing message and applies nothing then. Socket buffers are sized from
// the batch. Loading 10,000 rules into a fresh namespace is slightly faster
// than "nft -f" loading the same ruleset (BenchmarkFirewallApply10k: about
// 1.05-1.2 times on a 2-core machine). Without CAP_NET_ADMIN in the initial
// user namespace the socket buffers are capped by net.core.wmem_max/rmem_max,
// which limits the size of one transaction.
//
// # Reading the table
//
// Apply, Plan and Get read the table, not the rest of the ruleset: the
// table, the chain "input", the table's sets, the elements of the sets the
// Spec uses (sets about to be deleted are not read) and the rules of the
// chain, of which only the handle and the comment are decoded (and the
// counter, for Get). Only when the table's use count says it holds more
// than that chain and its sets are its other chains looked up, in a dump
// of the chains of family inet. The elements cost one request per
// set; tables with many sets have them read over a few connections at once
// while the rules are read. The whole read is bracketed by two requests for
// the ruleset generation and starts again when another transaction
// committed meanwhile. An Apply of 10,000 unchanged rules (2,000 sets)
// takes about a fifth of "nft -f" loading them (BenchmarkFirewallApply10k
// noop-ms: about 0.1 s, most of it the kernel answering the dumps).
//
// # Cache
//
// A reconciler applies the same Spec on every resync. WithCache(c) with a
// Cache it keeps makes that cheap: the kernel numbers the nftables ruleset
// of a namespace with a generation that every committed transaction, in
// any table, bumps by one. After an Apply that wrote the Spec, or found it
// in place, c records a hash of the Spec, the namespace and the
// generation; the next Plan or Apply of the same Spec with c asks for the
// generation only and, if it did not move, returns an empty Plan having
// read nothing else (about 1 ms for 10,000 rules, 0.2% of "nft -f"). Any
// other change in the namespace's nftables, also to another table, moves
// the generation: the next call reads the table again and repairs what
// drifted ("nft flush table", a deleted rule, an added set element). An
// Apply records its transaction only when the generation moved by exactly
// one between reading the table and writing it, that is when no one else
// committed in between; otherwise it records nothing and the next call
// reads again. The Cache is the caller's: nothing is kept per namespace
// inside the package.
//
// # Watch
//
// Watch subscribes to the kernel's nftables notifications in a namespace
// and sends an event per table a transaction changed: Kind "firewall",
// Object "table inet NAME" (any family and any table, not only ours), Action
// netprim.Delete when the table was deleted, netprim.Add otherwise. When
// notifications were lost (receive buffer overflow, a slow receiver) or the
// subscription was re-opened it sends an event with Resync set instead:
// read again. Together with a Cache, a loop that applies on every event for
// its table, on every Resync and every minute keeps the firewall in place
// at the cost of one generation request per quiet pass.
//
// # Ownership
//
// Apply creates the table, or adopts an existing one only when it is
// empty (no chains, no sets) or already carries netprim's mark: the safety
// rules above, with netprim's comments, in the chain "input", or, when all
// of its rules were flushed ("nft flush table" keeps chains and sets), an
// empty chain "input" next to netprim's sets "safety_icmp" and
// "safety_icmpv6". Any other
// table of that name belongs to someone else (a distribution's "table inet
// filter", another program using the same name): Plan and Apply then
// write nothing and fail with an error wrapping netprim.ErrConflict that
// names the table. Choose another Spec.Table, or pass WithTakeOver to
// replace its contents.
//
// Inside a table of ours, rules, chains and sets that Apply did not write
// (no comment of ours, or another chain) are removed. No other table is
// ever read or written; changing Spec.Table leaves the old table behind
// (remove it with Delete).
//
// # Inspection
//
// Render returns the whole ruleset as nft text ("nft -f" loads it); Plan
// returns the changes Apply would make, each rule rendered as nft text;
// Get returns the table's rules with their packet and byte counters, named
// after the Spec rule they came from.
//
// # Presets
//
// Preset helpers (APID, Trustd, KubeAPIServer, Etcd, Kubelet, ...,
// ControlPlane, Worker) return ready Rules for the ports Talos Linux and
// Kubernetes nodes need, for the subnets the caller passes.
package firewall
