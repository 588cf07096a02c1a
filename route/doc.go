// Package route manages IPv4 and IPv6 routes and policy routing rules in a
// network namespace: Spec and Rule describe what is wanted, Status and
// RuleStatus what the kernel has, List/ListRules read it with one dump,
// Plan/PlanRules compute the writes and Apply/ApplyRules make them.
//
// # Routes
//
// A Spec covers unicast, blackhole, unreachable, prohibit and local routes:
// destination (0.0.0.0/0 and ::/0 are default routes), gateway, link,
// preferred source, table, metric, scope, MTU, onlink, type-of-service, and
// multipath (ECMP) next hops with weights. An IPv4 route may use an IPv6
// gateway (RFC 8950, RTA_VIA). Normalize fills in what the kernel would
// pick (table main, IPv6 metric 1024, scope link for a route without
// gateway, ...) so that List reports exactly the normalized Spec for a route
// Apply wrote.
//
// # Identity
//
// The kernel keys a route by family, table, destination, metric and tos.
// Apply does the same: a wanted route whose key exists in the kernel with
// other attributes (gateway, link, source, scope, type, MTU, onlink, next
// hops, protocol) is replaced in place with one RTM_NEWROUTE carrying
// NLM_F_REPLACE, so traffic never sees a gap (the kernel's own routes for
// addresses excepted, see Ownership). A wanted route with a new
// key is added; the route with the old key is a different route, which
// Apply deletes, after all additions, when pruning.
//
// # Names in Plans and events
//
// A route or rule has one name, used by the Plan's changes and by the
// events of Watch alike (Spec.String, Status.String, Rule.String,
// RuleStatus.String): the words of ip(8) for what identifies and describes
// it, "198.51.100.0/24 via 192.0.2.1 dev veth0 table 100 metric 10". The
// event for a route Apply added names it exactly as the Plan's change did,
// with one limit: a Spec with a gateway and no link leaves the link to the
// kernel, so the Plan names the route without "dev" while the kernel, and
// so List and Watch, report the link it picked; give the link to have one
// name everywhere. The protocol is the owner, not part of the name:
// a Plan that prunes another protocol's route in an owned table says so
// in the change's reason. The one exception is the kernel's own routes and
// rules (protocol kernel), which Apply never touches: their names carry
// "proto kernel", where ip(8) puts it, so a reader tells them apart.
//
// # Ownership
//
// Every route Apply writes carries the owner id (netprim.Options.Owner.ID,
// default netprim.DefaultOwnerID) as its routing protocol number (ip's
// "proto"), so ownership lives in the kernel and survives restarts. The
// policy is explicit:
//
//   - Without netprim.WithPrune, Apply only adds and replaces; it never
//     deletes.
//   - With netprim.WithPrune, Apply deletes the routes that carry the
//     owner's protocol and are not wanted. Routes of every other protocol
//     (kernel, boot, static, dhcp, ra, another owner's id) survive.
//   - WithOwnedTables(ids...) declares whole tables as the owner's: with
//     prune, routes of any protocol in those tables are deleted when not
//     wanted, except the kernel's own routes for addresses (protocol
//     kernel). The local table cannot be owned. Nothing else ever leads
//     Apply to delete foreign routes: there is no "delete everything not
//     mine" mode.
//   - A wanted route whose key exists with another protocol is taken over:
//     Apply replaces it with the owner's protocol (and the wanted
//     attributes), shown in the Plan as a Modify of "protocol".
//   - Routes the kernel made for addresses (protocol kernel: the prefix
//     route of an address, its local route) are never replaced, taken over
//     or deleted, so deleting the address still removes them and the host
//     keeps its connected subnets. A wanted route with such a route's key
//     is satisfied by it when every field the Spec sets matches; fields
//     left zero (Source, MTU) are the kernel's to choose, so
//     {Destination: 192.0.2.0/24, Link: "eth0"} next to the address
//     192.0.2.1/24 on eth0 needs no write and keeps the kernel's preferred
//     source 192.0.2.1. A wanted route that differs from it in a field it
//     sets is refused: Plan and Apply report an error naming the route and
//     the address ("use another metric or table") and go on with the
//     other routes.
//
// Prune is owner-wide: Apply with netprim.WithPrune deletes every route
// of the owner (and of its owned tables) that is not in want, and
// ApplyRules every rule of the owner that is not in its rules, whoever
// wrote them. So when several producers share an owner (static
// configuration, a DHCP client, a VIP), only one caller may prune: in a
// composed daemon, the reconcile package's Reconciler, which prunes over
// the merged desired state of all its sources. The others apply without
// netprim.WithPrune.
//
// # Ordering and batching
//
// Apply assumes links and addresses exist (order link, then address, then
// route). Within the routes it orders by dependency: routes that need no
// gateway resolution (direct link routes, onlink routes, reject and local
// routes) are written before routes whose gateway the kernel must resolve
// through them; deletions come after all additions and remove gateway
// routes first. All requests go to the kernel in batches on one netlink
// socket (many requests per sendmsg, errors reported per request), never
// one round trip per route. A second Apply of the same input makes no
// write at all: it costs one route dump and one link dump.
//
// # Errors
//
// Plan and Apply validate every Spec first and return an error naming each
// bad field (route: spec[3].gateway: ...) without touching the kernel.
// Kernel errors are collected per route with errors.Join, each a
// *netprim.OpError naming the route and carrying the kernel's extended
// error message; one failing route does not stop the others. Apply then
// returns the changes that succeeded together with the error. A delete
// that finds its route (or rule) already gone, removed after the dump with
// its link or by someone else, has reached the wanted state: it counts as
// done, not as an error. If ctx is cancelled, Apply stops between batches;
// applying again converges.
//
// # Rules
//
// Rule describes an ip-rule(8) rule: priority, from, to, fwmark/mask,
// iif, oif, table, action (lookup, blackhole, unreachable, prohibit), not,
// suppress_prefixlength. A rule is identified by all its fields. Rules
// ApplyRules adds carry the owner id as FRA_PROTOCOL (Linux 4.17 and
// later); with prune it deletes only rules with that protocol, so the
// kernel's default rules (priorities 0, 32766, 32767) and rules of others
// are never touched.
//
// Routes are managed per namespace; a nil *netprim.Namespace is the
// caller's. No function changes the namespace of the calling thread.
package route
