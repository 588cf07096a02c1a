package firewall

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

const (
	watchQueue = 256 // capacity of the event channel
	// watchLinger is how long changes wait for the end of their
	// transaction before they are sent anyway.
	watchLinger = 20 * time.Millisecond
)

// Notification types the kernel sends to NFNLGRP_NFTABLES that are not
// in golang.org/x/sys/unix.
const (
	nftMsgDestroyTable     = 0x1a
	nftMsgDestroyFlowtable = 0x20
	nftaFlowtableTable     = 1
)

// Watch reports changes of the nftables ruleset in ns (nil: the caller's
// namespace) until ctx ends, then closes the channel. It subscribes to the
// kernel's nftables notifications (NFNLGRP_NFTABLES) in the namespace;
// options: netprim.WatchBufferSize (default 8 MiB).
//
// Every change is reported as the table it belongs to, of any family and
// any owner: a table created or changed, and a chain, rule, set, set
// element, stateful object or flowtable added, replaced or removed in it.
// Events have Kind "firewall" (EventKind) and Object "table FAMILY NAME",
// e.g. "table inet netprim"; Action is netprim.Delete when the table itself
// was deleted, netprim.Add otherwise. The changes of one nftables
// transaction are coalesced into one event per table, sent when the
// transaction's end (the new generation) arrives. Apply's own
// transactions are reported too. Counters and set elements that rules
// update while matching packets are not changes of the ruleset and are not
// reported. A receiver interested in one table filters on its Object.
//
// Watch never loses a change silently: when the kernel dropped
// notifications (the receive buffer overflowed, also because the receiver
// is slow: Watch stops reading while the channel is full) or the
// subscription had to be re-opened, the channel carries an Event with
// Resync set and no Object, and the receiver must read the ruleset again
// (for example Apply again). Start Watch before that first read so that
// nothing falls between them. The channel also closes when a failed
// subscription could not be re-opened (for instance because ns was
// closed); a receiver that sees it closed while ctx is alive must call
// Watch again and re-read. The socket and goroutine are released when the
// channel is closed.
func Watch(ctx context.Context, ns *netprim.Namespace, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := netprim.ResolveWatch(opts...)
	if o.BufferSize < 0 {
		return nil, fmt.Errorf("firewall: watch: %w: negative buffer size %d", netprim.ErrInvalidSpec, o.BufferSize)
	}
	sub, err := nl.Subscribe(ns, nl.SubscriptionConfig{
		Protocol:      unix.NETLINK_NETFILTER,
		Groups:        []uint32{unix.NFNLGRP_NFTABLES},
		ReceiveBuffer: o.BufferSize, // zero: 8 MiB
		Linger:        watchLinger,
		Name:          "nftables notifications",
	})
	if err != nil {
		return nil, err
	}
	w := &watcher{out: make(chan netprim.Event, watchQueue)}
	go func() {
		defer close(w.out)
		sub.Run(ctx, nl.Handlers{
			Handle:  w.handle,
			Resync:  w.resync,
			Pending: func() bool { return len(w.pending) > 0 },
			Flush:   w.flush,
		})
	}()
	return w.out, nil
}

// watchTable is a table named in notifications, with its family.
type watchTable struct {
	family uint8
	name   string
}

// watcher is the firewall's part of a subscription: it turns
// notifications into per-table events.
type watcher struct {
	out chan netprim.Event

	// The tables changed by the transaction being received, in order, and
	// whether each was deleted.
	pending []watchTable
	deleted map[watchTable]bool

	sent       uint64 // events sent
	resyncSent uint64 // sequence number of the last Resync sent; 0: none
}

// resync forgets the pending changes (the receiver re-reads everything)
// and sends a Resync unless one is still queued in the channel: the
// receiver re-reads after reading that one, that is after the loss just
// noticed.
func (w *watcher) resync(ctx context.Context) bool {
	w.pending, w.deleted = w.pending[:0], nil
	if w.resyncSent != 0 && uint64(len(w.out)) > w.sent-w.resyncSent {
		return true
	}
	if !w.send(ctx, netprim.Event{Kind: EventKind, Resync: true}) {
		return false
	}
	w.resyncSent = w.sent
	return true
}

// send delivers ev unless ctx ends first.
func (w *watcher) send(ctx context.Context, ev netprim.Event) bool {
	select {
	case w.out <- ev:
		w.sent++
		return true
	case <-ctx.Done():
		return false
	}
}

// flush sends one event per table the pending changes touched.
func (w *watcher) flush(ctx context.Context) bool {
	for _, t := range w.pending {
		ev := netprim.Event{Kind: EventKind, Action: netprim.Add, Object: "table " + familyName(t.family) + " " + t.name}
		if w.deleted[t] {
			ev.Action = netprim.Delete
		}
		if !w.send(ctx, ev) {
			return false
		}
	}
	w.pending, w.deleted = w.pending[:0], nil
	return true
}

// handle records the changes of one datagram, flushing them at the end
// of each transaction.
func (w *watcher) handle(ctx context.Context, p []byte) bool {
	for len(p) >= 16 {
		l := int(binary.NativeEndian.Uint32(p[0:4]))
		if l < 16 || l > len(p) {
			return true // malformed: ignore the rest of the datagram
		}
		typ := binary.NativeEndian.Uint16(p[4:6])
		data := p[16:l]
		p = p[min((l+3)&^3, len(p)):]
		if typ>>8 != unix.NFNL_SUBSYS_NFTABLES || len(data) < 4 {
			continue
		}
		msg := typ & 0xff
		if msg == unix.NFT_MSG_NEWGEN {
			if !w.flush(ctx) {
				return false
			}
			continue
		}
		var tableAttr uint16
		switch msg {
		case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE, nftMsgDestroyTable:
			tableAttr = unix.NFTA_TABLE_NAME
		case unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN:
			tableAttr = unix.NFTA_CHAIN_TABLE
		case unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
			tableAttr = unix.NFTA_RULE_TABLE
		case unix.NFT_MSG_NEWSET, unix.NFT_MSG_DELSET:
			tableAttr = unix.NFTA_SET_TABLE
		case unix.NFT_MSG_NEWSETELEM, unix.NFT_MSG_DELSETELEM:
			tableAttr = unix.NFTA_SET_ELEM_LIST_TABLE
		case unix.NFT_MSG_NEWOBJ, unix.NFT_MSG_DELOBJ:
			tableAttr = unix.NFTA_OBJ_TABLE
		case unix.NFT_MSG_NEWFLOWTABLE, unix.NFT_MSG_DELFLOWTABLE:
			tableAttr = nftaFlowtableTable
		default:
			if msg > nftMsgDestroyTable && msg <= nftMsgDestroyFlowtable {
				// Destroy notifications of chains, rules, sets,
				// elements, objects, flowtables: the table is
				// attribute 1 in each.
				tableAttr = 1
				break
			}
			continue
		}
		name := ""
		_ = walkAttrs(data[4:], func(t uint16, v []byte) error {
			if t == tableAttr && name == "" {
				name = cstring(v)
			}
			return nil
		})
		if name == "" {
			continue
		}
		t := watchTable{family: data[0], name: name}
		if !w.touched(t) {
			w.pending = append(w.pending, t)
		}
		switch msg {
		case unix.NFT_MSG_DELTABLE, nftMsgDestroyTable:
			if w.deleted == nil {
				w.deleted = map[watchTable]bool{}
			}
			w.deleted[t] = true
		case unix.NFT_MSG_NEWTABLE:
			delete(w.deleted, t)
		}
	}
	return true
}

// touched reports whether t is pending already.
func (w *watcher) touched(t watchTable) bool {
	for _, p := range w.pending {
		if p == t {
			return true
		}
	}
	return false
}

// familyName is the nft name of an nftables family.
func familyName(f uint8) string {
	switch f {
	case unix.NFPROTO_INET:
		return "inet"
	case unix.NFPROTO_IPV4:
		return "ip"
	case unix.NFPROTO_IPV6:
		return "ip6"
	case unix.NFPROTO_ARP:
		return "arp"
	case unix.NFPROTO_BRIDGE:
		return "bridge"
	case unix.NFPROTO_NETDEV:
		return "netdev"
	}
	return fmt.Sprintf("family%d", f)
}
