package firewall

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

const (
	watchQueue      = 256     // capacity of the event channel
	watchRcvBuf     = 8 << 20 // default socket receive buffer
	watchMsgBuf     = 64 << 10
	watchMsgBufMax  = 4 << 20
	watchReopenTrys = 5
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
	w := &watcher{ns: ns, rcvbuf: o.BufferSize, buf: make([]byte, watchMsgBuf), out: make(chan netprim.Event, watchQueue)}
	if w.rcvbuf == 0 {
		w.rcvbuf = watchRcvBuf
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	go w.run(ctx)
	return w.out, nil
}

// watchTable is a table named in notifications, with its family.
type watchTable struct {
	family uint8
	name   string
}

type watcher struct {
	ns     *netprim.Namespace
	rcvbuf int
	buf    []byte
	out    chan netprim.Event

	mu  sync.Mutex // guards nl for interrupt
	nl  *netlink.Conn
	raw syscall.RawConn

	// The tables changed by the transaction being received, in order, and
	// whether each was deleted.
	pending []watchTable
	deleted map[watchTable]bool

	sent       uint64 // events sent
	resyncSent uint64 // sequence number of the last Resync sent; 0: none
}

// open subscribes a new socket in the namespace.
func (w *watcher) open() error {
	cfg := &netlink.Config{}
	if w.ns != nil {
		cfg.NetNS = w.ns.FD()
	}
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return netprim.KernelError("open", "nftables notifications in netns "+w.ns.String(), err)
	}
	raw, err := nl.SyscallConn()
	if err == nil {
		var serr error
		err = raw.Control(func(fd uintptr) {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, w.rcvbuf) != nil {
				// Without CAP_NET_ADMIN the limit is net.core.rmem_max.
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, w.rcvbuf)
			}
		})
		if err == nil {
			err = serr
		}
	}
	if err == nil {
		err = nl.JoinGroup(unix.NFNLGRP_NFTABLES)
	}
	if err != nil {
		nl.Close()
		return netprim.KernelError("subscribe", "nftables notifications in netns "+w.ns.String(), err)
	}
	w.mu.Lock()
	w.nl, w.raw = nl, raw
	w.mu.Unlock()
	return nil
}

func (w *watcher) closeSocket() {
	w.mu.Lock()
	if w.nl != nil {
		w.nl.Close()
		w.nl, w.raw = nil, nil
	}
	w.mu.Unlock()
}

// interrupt wakes a blocked receive; called when ctx ends.
func (w *watcher) interrupt() {
	w.mu.Lock()
	if w.nl != nil {
		_ = w.nl.SetReadDeadline(time.Unix(1, 0))
	}
	w.mu.Unlock()
}

// errWouldBlock reports that no datagram is queued.
var errWouldBlock = errors.New("no notification queued")

func (w *watcher) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, w.interrupt)
	defer func() {
		stop()
		w.closeSocket()
		close(w.out)
	}()
	for ctx.Err() == nil {
		// Wait for a datagram only when no changes are pending: the end
		// of a transaction normally follows its changes at once, but a
		// change is never held back waiting for more.
		n, flags, err := w.recv(len(w.pending) == 0)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errWouldBlock):
			if !w.flush(ctx) {
				return
			}
			continue
		case errors.Is(err, unix.ENOBUFS):
			// The kernel dropped notifications and goes on dropping them
			// until the queue is empty: empty it (what is queued is
			// superseded by the re-read the Resync asks for), then send
			// the Resync, so every silent drop comes before the receiver
			// sees it.
			if w.drain() != nil && !w.reopen(ctx) {
				return
			}
			if !w.resync(ctx) {
				return
			}
			continue
		case err != nil:
			if !w.reopen(ctx) || !w.resync(ctx) {
				return
			}
			continue
		case flags&unix.MSG_TRUNC != 0:
			if len(w.buf) < watchMsgBufMax {
				w.buf = make([]byte, 2*len(w.buf))
			}
			if !w.resync(ctx) {
				return
			}
			continue
		}
		if !w.handle(ctx, w.buf[:n]) {
			return
		}
	}
}

// recv reads one datagram. Without block it waits at most watchLinger
// and then returns errWouldBlock.
func (w *watcher) recv(block bool) (n, flags int, err error) {
	w.mu.Lock()
	raw := w.raw
	w.mu.Unlock()
	if raw == nil {
		return 0, 0, os.ErrClosed
	}
	var rerr error
	polled := false
	err = raw.Read(func(fd uintptr) bool {
		for {
			n, _, flags, _, rerr = unix.Recvmsg(int(fd), w.buf, nil, 0)
			switch {
			case rerr == unix.EINTR:
				continue
			case rerr != unix.EAGAIN:
				return true
			case block:
				return false // wait in the runtime's poller
			case polled:
				rerr = errWouldBlock
				return true
			}
			// A transaction's end follows its changes at once: wait for
			// it a little, so that the transaction makes one event per
			// table.
			polled = true
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, int(watchLinger/time.Millisecond)); err != unix.EINTR {
					break
				}
			}
		}
	})
	if err != nil {
		return 0, 0, err
	}
	return n, flags, rerr
}

// drain discards every queued datagram, which clears the kernel's
// overflow state.
func (w *watcher) drain() error {
	w.mu.Lock()
	raw := w.raw
	w.mu.Unlock()
	if raw == nil {
		return os.ErrClosed
	}
	var rerr error
	err := raw.Control(func(fd uintptr) {
		for {
			_, _, _, _, err := unix.Recvmsg(int(fd), w.buf, nil, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
			switch err {
			case nil, unix.EINTR, unix.ENOBUFS:
				continue
			case unix.EAGAIN:
				return
			}
			rerr = err
			return
		}
	})
	if err != nil {
		return err
	}
	return rerr
}

// reopen replaces a failed socket, retrying with backoff. It reports false
// when ctx ended or every attempt failed.
func (w *watcher) reopen(ctx context.Context) bool {
	w.closeSocket()
	delay := 10 * time.Millisecond
	for try := 0; try < watchReopenTrys; try++ {
		if try > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
			delay *= 4
		}
		if w.open() == nil {
			// ctx may have ended before interrupt could see the new
			// socket: check after publishing it.
			return ctx.Err() == nil
		}
	}
	return false
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
