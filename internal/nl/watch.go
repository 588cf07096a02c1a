//go:build linux

package nl

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// Event kinds reported by Watch, the same words a Plan uses.
const (
	KindLink    = "link"
	KindAddress = "address"
	KindRoute   = "route"
	KindRule    = "rule"
)

// watchQueue is the default capacity of the event channel.
const watchQueue = 256

// WatchConfig tunes a subscription made by Watch. The zero value means the
// defaults.
type WatchConfig struct {
	// ReceiveBuffer is the kernel receive buffer of the socket in bytes
	// (SO_RCVBUF; forced past net.core.rmem_max with CAP_NET_ADMIN). Zero
	// means 8 MiB. The kernel doubles the value and enforces a small
	// minimum; a tiny value makes overflow (and so a Resync) likely, which
	// is how tests force one.
	ReceiveBuffer int
	// Queue is the capacity of the returned channel; zero means 256.
	Queue int
	// Address, Route and Rule name the objects of address, route and rule
	// events. Each watched kind needs its renderer: the packages addr and
	// route pass the ones of their Status types, so that an Event names an
	// object exactly as a Plan's Change does. Links are named by their
	// interface name.
	Address, Route, Rule Renderer
}

// Renderer returns the Object of an event for one rtnetlink message: data
// is the message as the kernel sent it (fixed header and attributes), name
// returns the name of an interface index ("" for 0). ok is false for a
// message that is not reported (a cached route, an unknown family).
type Renderer func(data []byte, name func(index int32) string) (object string, ok bool)

// LinkGroups, AddressGroups, RouteGroups and RuleGroups return the rtnetlink
// multicast groups for one kind of object (both address families where the
// kind has two). AllGroups returns all of them.
func LinkGroups() []uint32 { return []uint32{unix.RTNLGRP_LINK} }

// AddressGroups returns the IPv4 and IPv6 address groups. See LinkGroups.
func AddressGroups() []uint32 {
	return []uint32{unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR}
}

// RouteGroups returns the IPv4 and IPv6 route groups. See LinkGroups.
func RouteGroups() []uint32 { return []uint32{unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE} }

// RuleGroups returns the IPv4 and IPv6 policy-rule groups. See LinkGroups.
func RuleGroups() []uint32 { return []uint32{unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE} }

// AllGroups returns every group Watch understands: links, addresses,
// routes and rules of both families. A reconciler uses it to learn of any
// drift through one socket.
func AllGroups() []uint32 {
	g := LinkGroups()
	g = append(g, AddressGroups()...)
	g = append(g, RouteGroups()...)
	return append(g, RuleGroups()...)
}

// groupKind maps each supported group to the kind of object it reports.
var groupKind = map[uint32]string{
	unix.RTNLGRP_LINK:        KindLink,
	unix.RTNLGRP_IPV4_IFADDR: KindAddress,
	unix.RTNLGRP_IPV6_IFADDR: KindAddress,
	unix.RTNLGRP_IPV4_ROUTE:  KindRoute,
	unix.RTNLGRP_IPV6_ROUTE:  KindRoute,
	unix.RTNLGRP_IPV4_RULE:   KindRule,
	unix.RTNLGRP_IPV6_RULE:   KindRule,
}

// Watch subscribes to rtnetlink notifications in ns (nil: the caller's
// namespace) for the given groups (unix.RTNLGRP_*, see AllGroups) and
// returns a channel of changes.
//
// Every NEW message becomes an Event with Action netprim.Add (the object
// appeared or changed), every DEL message one with netprim.Delete. Object
// is the link's name, or what cfg's Renderer of the kind returns (the
// packages' Status strings: "192.0.2.10/24 dev veth0",
// "198.51.100.0/24 via 192.0.2.1 dev veth0 table 100 metric 10",
// "100: from all fwmark 0x40/0x60 lookup 180"). Watching addresses, routes
// or rules without the kind's Renderer is refused. A renamed link is
// reported as Delete of the old name and Add of the new one. Link messages of other families (AF_BRIDGE port state)
// are reported as Add: the link changed, it was not created or removed.
//
// What the kernel does not announce cannot be reported: a new alias or
// alternative name of a link that is down produces no notification.
//
// Watch never loses drift silently. When notifications were lost the
// channel carries one Event with Resync set for each watched kind, and the
// receiver must list that kind again. That happens when
//   - the socket receive buffer overflowed (ENOBUFS), also because the
//     receiver is slow: Watch does not drop events itself, it stops reading
//     while the channel is full, the kernel queue fills and the kernel
//     reports the overflow;
//   - receiving failed otherwise: the socket is closed and re-opened first,
//     so a List made after the Resync misses nothing;
//   - a datagram was truncated;
//   - for routes only: the kernel flushes IPv4 routes without notifying when
//     a link goes down or is deleted (and, on older kernels, when an IPv4
//     address is removed), so Watch follows link and IPv4 address events
//     itself and reports a route Resync after them.
//
// Subscribe before the initial List: then nothing is missed in between.
// The channel is closed when ctx is done, and also when a failed
// subscription could not be re-opened (for instance because ns was closed);
// a receiver that sees the channel closed while ctx is alive must call Watch
// again and List. The socket and goroutine are released when the channel is
// closed. Sends never block past the end of ctx.
func Watch(ctx context.Context, ns *netprim.Namespace, groups []uint32, cfg WatchConfig) (<-chan netprim.Event, error) {
	w, err := newWatcher(ctx, ns, groups, cfg)
	if err != nil {
		return nil, err
	}
	go w.run(ctx)
	return w.out, nil
}

// WatchAll is Watch for AllGroups.
func WatchAll(ctx context.Context, ns *netprim.Namespace, cfg WatchConfig) (<-chan netprim.Event, error) {
	return Watch(ctx, ns, AllGroups(), cfg)
}

// watchLink is what the watcher remembers about one link.
type watchLink struct {
	name  string
	up    bool
	known bool // false for a placeholder "ifN" after a failed lookup
}

type watcher struct {
	ns      *netprim.Namespace
	render  map[string]Renderer // by kind
	sub     *Subscription
	want    map[uint32]bool // requested groups
	join    []uint32        // groups joined: want plus what names/resyncs need
	kinds   []string        // requested kinds, in a fixed order, for Resync
	names   bool            // link names are needed (address, route or link kinds)
	routes4 bool            // IPv4 routes requested: follow silent flushes
	out     chan netprim.Event

	dump  *Conn // for link dumps; nil until needed
	links map[int32]watchLink

	sent      uint64            // events sent so far
	resyncSeq map[string]uint64 // per kind: sequence number of its last Resync
}

func newWatcher(ctx context.Context, ns *netprim.Namespace, groups []uint32, cfg WatchConfig) (*watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("watch: %w: no groups", netprim.ErrInvalidSpec)
	}
	if cfg.ReceiveBuffer < 0 || cfg.Queue < 0 {
		return nil, fmt.Errorf("watch: %w: negative buffer size", netprim.ErrInvalidSpec)
	}
	w := &watcher{
		ns:     ns,
		render: map[string]Renderer{KindAddress: cfg.Address, KindRoute: cfg.Route, KindRule: cfg.Rule},
		want:   map[uint32]bool{},
		links:  map[int32]watchLink{},

		resyncSeq: map[string]uint64{},
	}
	q := cfg.Queue
	if q == 0 {
		q = watchQueue
	}
	kinds := map[string]bool{}
	for _, g := range groups {
		k, ok := groupKind[g]
		if !ok {
			return nil, fmt.Errorf("watch: %w: unsupported rtnetlink group %d", netprim.ErrInvalidSpec, g)
		}
		if k != KindLink && w.render[k] == nil {
			return nil, fmt.Errorf("watch: %w: no renderer for %s events", netprim.ErrInvalidSpec, k)
		}
		w.want[g] = true
		kinds[k] = true
	}
	for _, k := range []string{KindLink, KindAddress, KindRoute, KindRule} {
		if kinds[k] {
			w.kinds = append(w.kinds, k)
		}
	}
	w.names = kinds[KindLink] || kinds[KindAddress] || kinds[KindRoute]
	w.routes4 = w.want[unix.RTNLGRP_IPV4_ROUTE]
	join := map[uint32]bool{}
	for g := range w.want {
		join[g] = true
	}
	if w.names {
		join[unix.RTNLGRP_LINK] = true
	}
	if w.routes4 {
		join[unix.RTNLGRP_IPV4_IFADDR] = true
	}
	for _, g := range AllGroups() { // fixed order
		if join[g] {
			w.join = append(w.join, g)
		}
	}
	sub, err := Subscribe(ns, SubscriptionConfig{
		Protocol:      unix.NETLINK_ROUTE,
		Groups:        w.join,
		ReceiveBuffer: cfg.ReceiveBuffer,
		Name:          "rtnetlink notifications",
	})
	if err != nil {
		return nil, err
	}
	w.sub = sub
	if w.names {
		if err := w.refreshLinks(ctx); err != nil {
			w.closeAll()
			return nil, err
		}
	}
	w.out = make(chan netprim.Event, q)
	return w, nil
}

// closeAll releases the subscription and the dump socket.
func (w *watcher) closeAll() {
	w.sub.Close()
	if w.dump != nil {
		w.dump.Close()
		w.dump = nil
	}
}

// run turns notifications into events until ctx ends or the subscription
// fails for good, then releases everything and closes the channel.
func (w *watcher) run(ctx context.Context) {
	defer func() {
		w.closeAll()
		close(w.out)
	}()
	w.sub.Run(ctx, Handlers{Handle: w.handle, Resync: w.resync})
}

// resync refreshes the link cache and sends one Resync event per kind.
func (w *watcher) resync(ctx context.Context) bool {
	if w.names {
		if err := w.refreshLinks(ctx); err != nil {
			// Names are looked up again on demand.
			clear(w.links)
		}
	}
	for _, k := range w.kinds {
		if !w.send(ctx, netprim.Event{Kind: k, Resync: true}) {
			return false
		}
	}
	return true
}

// send delivers ev unless ctx ends first. A Resync is coalesced with an
// earlier Resync of the same kind that the receiver has not read yet: it
// will List after reading that one, that is after the loss just noticed.
func (w *watcher) send(ctx context.Context, ev netprim.Event) bool {
	if ev.Resync && w.resyncQueued(ev.Kind) {
		return true
	}
	select {
	case w.out <- ev:
	case <-ctx.Done():
		return false
	}
	w.sent++
	if ev.Resync {
		w.resyncSeq[ev.Kind] = w.sent
	}
	return true
}

// resyncQueued reports whether the last Resync of kind is still in the
// channel: fewer events were sent after it than the channel holds. The
// receiver only shortens the channel, so a true answer stays true until
// the receiver reads that Resync.
func (w *watcher) resyncQueued(kind string) bool {
	seq, ok := w.resyncSeq[kind]
	return ok && uint64(len(w.out)) > w.sent-seq
}

// refreshLinks re-reads every link's index, name and up flag with one dump.
func (w *watcher) refreshLinks(ctx context.Context) error {
	if w.dump == nil {
		c, err := DialRoute(w.ns)
		if err != nil {
			return err
		}
		w.dump = c
	}
	fresh := map[int32]watchLink{}
	req := make([]byte, 16) // ifinfomsg, AF_UNSPEC
	err := w.dump.Dump(ctx, unix.RTM_GETLINK, req, func() { clear(fresh) }, func(_ uint16, data []byte) error {
		if l, ok := decodeLink(data); ok && l.family == unix.AF_UNSPEC {
			fresh[l.index] = watchLink{name: l.name, up: l.flags&unix.IFF_UP != 0, known: true}
		}
		return nil
	})
	if err != nil {
		return netprim.KernelError("dump", "links", err)
	}
	w.links = fresh
	return nil
}

// linkName resolves an interface index, dumping links once on a miss and
// remembering a placeholder for indexes that do not exist (any more).
func (w *watcher) linkName(ctx context.Context, index int32) string {
	if index == 0 {
		return ""
	}
	if l, ok := w.links[index]; ok {
		return l.name
	}
	if w.refreshLinks(ctx) == nil {
		if l, ok := w.links[index]; ok {
			return l.name
		}
	}
	name := fmt.Sprintf("if%d", index)
	w.links[index] = watchLink{name: name}
	return name
}

// handle turns one datagram into events.
func (w *watcher) handle(ctx context.Context, p []byte) bool {
	ok := true
	name := func(i int32) string { return w.linkName(ctx, i) }
	walk(p, func(typ, _ uint16, _ uint32, data []byte) bool {
		var evs []netprim.Event
		switch typ {
		case unix.RTM_NEWLINK, unix.RTM_DELLINK:
			evs = w.linkEvents(typ, data)
		case unix.RTM_NEWADDR, unix.RTM_DELADDR:
			fam := family(data)
			if w.want[addrGroup(fam)] {
				if obj, good := w.render[KindAddress](data, name); good {
					evs = append(evs, netprim.Event{Kind: KindAddress, Action: action(typ == unix.RTM_NEWADDR), Object: obj})
				}
			}
			if typ == unix.RTM_DELADDR && fam == unix.AF_INET && w.routes4 {
				evs = append(evs, netprim.Event{Kind: KindRoute, Resync: true})
			}
		case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
			if w.want[routeGroup(family(data))] {
				if obj, good := w.render[KindRoute](data, name); good {
					evs = append(evs, netprim.Event{Kind: KindRoute, Action: action(typ == unix.RTM_NEWROUTE), Object: obj})
				}
			}
		case unix.RTM_NEWRULE, unix.RTM_DELRULE:
			if w.want[ruleGroup(family(data))] {
				if obj, good := w.render[KindRule](data, name); good {
					evs = append(evs, netprim.Event{Kind: KindRule, Action: action(typ == unix.RTM_NEWRULE), Object: obj})
				}
			}
		}
		for _, ev := range evs {
			if !w.send(ctx, ev) {
				ok = false
				return false
			}
		}
		return true
	})
	return ok
}

// linkEvents updates the link cache and returns the events for one link
// message.
func (w *watcher) linkEvents(typ uint16, data []byte) []netprim.Event {
	l, good := decodeLink(data)
	if !good {
		return nil
	}
	emit := w.want[unix.RTNLGRP_LINK]
	var evs []netprim.Event
	if l.family != unix.AF_UNSPEC {
		// AF_BRIDGE and other per-family link messages describe a
		// change of the link (e.g. a bridge port left its bridge), not
		// its creation or removal.
		if emit {
			if l.name == "" {
				l.name = w.links[l.index].name
			}
			evs = append(evs, netprim.Event{Kind: KindLink, Action: netprim.Add, Object: l.name})
		}
		return evs
	}
	old, had := w.links[l.index]
	if typ == unix.RTM_DELLINK {
		delete(w.links, l.index)
		if emit {
			evs = append(evs, netprim.Event{Kind: KindLink, Action: netprim.Delete, Object: l.name})
		}
		if w.routes4 {
			evs = append(evs, netprim.Event{Kind: KindRoute, Resync: true})
		}
		return evs
	}
	up := l.flags&unix.IFF_UP != 0
	w.links[l.index] = watchLink{name: l.name, up: up, known: true}
	if emit && had && old.known && old.name != l.name {
		evs = append(evs, netprim.Event{Kind: KindLink, Action: netprim.Delete, Object: old.name})
	}
	if emit {
		evs = append(evs, netprim.Event{Kind: KindLink, Action: netprim.Add, Object: l.name})
	}
	if w.routes4 && had && old.up && !up {
		evs = append(evs, netprim.Event{Kind: KindRoute, Resync: true})
	}
	return evs
}

// family returns the address family of an ifaddrmsg, rtmsg or
// fib_rule_hdr: their first byte.
func family(data []byte) uint8 {
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

func action(isNew bool) netprim.Action {
	if isNew {
		return netprim.Add
	}
	return netprim.Delete
}

func addrGroup(fam uint8) uint32 {
	switch fam {
	case unix.AF_INET:
		return unix.RTNLGRP_IPV4_IFADDR
	case unix.AF_INET6:
		return unix.RTNLGRP_IPV6_IFADDR
	}
	return 0
}

func routeGroup(fam uint8) uint32 {
	switch fam {
	case unix.AF_INET:
		return unix.RTNLGRP_IPV4_ROUTE
	case unix.AF_INET6:
		return unix.RTNLGRP_IPV6_ROUTE
	}
	return 0
}

func ruleGroup(fam uint8) uint32 {
	switch fam {
	case unix.AF_INET:
		return unix.RTNLGRP_IPV4_RULE
	case unix.AF_INET6:
		return unix.RTNLGRP_IPV6_RULE
	}
	return 0
}
