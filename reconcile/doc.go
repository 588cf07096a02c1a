// Package reconcile composes netprim's object packages into a network
// daemon: a Reconciler keeps one namespace at the merged desired state of
// several sources, repairs drift as soon as the kernel reports it, verifies
// what it applied, and can try a change with automatic rollback.
//
// # Stages
//
// A pass applies the desired state in stages, in dependency order:
//
//	links → wireguard → bonds → vlans → bridges → addresses → routes → rules → firewall → files
//
// Each built-in stage calls one package's Plan or Apply (link, wireguard,
// bond, vlan, bridge, addr, route, route rules, firewall, resolv). A
// product adds stages of its own with WithStage: a Stage names the stages
// it runs after and the kernel events that wake it.
//
// Additions and changes come first, deletions after their replacements:
// when a stage has something to prune, it applies its additions and
// changes first and deletes only once they succeeded; the stages that
// delete links (links, wireguard, bonds, vlans, bridges) prune at the end
// of the pass, in reverse order, once addresses and routes have moved and
// been verified. A pass with nothing to change reads each stage's objects
// once.
//
// A stage that fails does not stop the others. It does not prune; a stage
// that depends on a failed one (see Stage.After) still applies what it can
// but does not prune either; and a link stage does not prune while a stage
// that depends on it is failing, in this pass or since its last run:
// nothing is deleted while what should replace it may be missing. Errors
// are StageErrors naming the stage. Nothing is pruned either while a
// source has not set its state yet (AddSource) or has had a section
// refused before it ever sent a valid one, or while a device selector does
// not resolve.
//
// # Sources and the one pruner
//
// Several producers contribute desired objects at run time, each through
// a Source with a name and a priority: static configuration, a DHCP lease,
// a shared IP's election, a product's code. The Reconciler merges them per
// object key — a link by name, an address by link and host address, a
// route by table, destination, metric and TOS, a rule by all its fields,
// a bond, VLAN, bridge or WireGuard device by name, a hosts entry by
// address; the firewall, resolv.conf and the host name are single objects.
// When two sources contribute the same key the higher priority wins (equal
// priorities: the lower source name), and Status reports the other as
// shadowed, as Talos Linux merges its configuration layers.
//
// Pruning is owner-wide in every package: Apply with netprim.WithPrune
// deletes every object of the owner that is not in the set it is given.
// Under a Reconciler only the Reconciler prunes, and always over the
// merged set of all sources: an address a VIP source contributes is never
// pruned because the static source's set lacks it, and the other way
// round. Sources never call the packages' Apply with prune themselves.
//
// A source's update is validated section by section (Source.Set). An
// invalid section is reported, by its stage, as a SourceError naming the
// source and the field; the source keeps contributing its last valid
// version of that section, so nothing is deleted because of a bad update,
// and its other sections and the other sources go on.
//
// # Triggers
//
// Start runs passes in the background: on a source's update, on kernel
// events (the packages' Watch of links, addresses, routes and rules; a
// change of the owned nftables table; a change of a managed file), on a
// Watch resync (the kernel dropped notifications: a full pass), every
// minute (WithResync), and after a failure with exponential backoff and
// jitter (WithRetry). Triggers that arrive during a pass are coalesced
// into one next pass; passes are rate-limited (WithRateLimit). An event
// wakes only the stages that depend on its kind: a deleted route runs the
// routes stage, not a full pass. Close, or the end of Start's context,
// stops every goroutine the Reconciler started before it returns.
//
// # Verify
//
// After a stage changed something, the Reconciler plans it again: what
// Plan still reports (the kernel adjusted a value silently, or something
// changed it right back) is a VerifyError naming the object and field, and
// the stage is retried with backoff.
//
// # Try
//
// Source.Try applies a new contribution, runs the caller's check until a
// deadline, and on failure, timeout or cancellation restores the previous
// state: the objects the Reconciler owns, the attributes it changed on
// links it does not own, bond and bridge options, the owned firewall table
// and the files. See Try for what a rollback covers.
//
// # Status
//
// Status reports per stage the last plan, error, success time and run
// count, and per source what it contributes and what of it is shadowed.
// Plan is the merged dry run: what a pass would change now.
package reconcile
