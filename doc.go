// Package netprim holds the types every netprim package shares: Namespace,
// the error classes, and Plan/Change. The packages below it (link, addr,
// route, and later bond, vlan, bridge, wireguard, firewall, resolv, ...)
// each manage one kind of kernel object under one contract.
//
// # The contract
//
// Each object package has a Spec, the desired object: a plain struct with
// net/netip types and lowerCamelCase json/yaml tags, where a zero value means
// "not managed" or "kernel default". Spec.Validate names the bad field
// ("route: spec[3].gateway: ...") and wraps ErrInvalidSpec; Normalize fills
// defaults so two equivalent specs compare equal.
//
// Status is the object as the kernel reports it, as plain values.
// List(ctx, ns) reads every object of the kind with one netlink dump.
//
// Plan(ctx, ns, want, opts...) returns the exact writes Apply would make;
// the diff itself is pure code, tested without a kernel. Apply(ctx, ns, want,
// opts...) makes the kernel match want and returns what it changed. Apply is
// idempotent: a second Apply with the same input sends no write to the
// kernel. It adds before it deletes, so replacing an object leaves no gap.
// Errors from independent objects are joined with errors.Join: one bad
// object does not stop the rest, and every error names its object.
//
// Watch(ctx, ns) streams Events. When the kernel drops notifications the
// watcher reopens its subscription and sends an Event with Resync set, so
// drift is never lost silently.
//
// # Ownership and pruning
//
// With WithPrune, Apply deletes the objects it owns that are not wanted, and
// never anything else. Ownership is recorded in the kernel, so a restarted
// process knows what it owns: routes and rules carry the owner id as their
// protocol number, addresses carry it as IFA_PROTO, links we create carry an
// alternative name "OWNER.IFNAME". The owner is configurable (WithOwner) so
// two products on one host do not fight.
//
// # Namespaces
//
// Every function takes a *Namespace; nil means the caller's network
// namespace. A Namespace is opened by name (OpenNamespace, the files "ip
// netns add" creates), by path, pid or file descriptor, or created
// (NewNamespace). No netprim code leaves a thread in another namespace when
// it returns to the Go scheduler: sockets are opened against the namespace
// file descriptor, and Namespace.Do runs work on a locked thread that is
// switched back before it is unlocked, or destroyed if switching back
// fails. (Simply exiting a locked goroutine is not enough: on the main
// thread the runtime parks the thread instead of destroying it, and the
// process's main thread would stay in the namespace.)
//
// # Privileges
//
// Reading needs no privilege. Writing needs CAP_NET_ADMIN in the user
// namespace that owns the network namespace; errors caused by a missing
// privilege wrap ErrPermission and name the capability. A kernel that lacks
// a feature yields ErrUnsupported naming the module to load, for example
// "kernel lacks bonding: modprobe bonding".
//
// # Concurrency
//
// Functions are safe for concurrent use, but two Applies on the same objects
// in the same namespace race like any two writers of kernel state: serialise
// them (the reconciler does). Plan and Apply read the kernel state afresh on
// every call; nothing is cached between calls.
package netprim
