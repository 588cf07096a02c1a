//go:build linux

package nl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

const (
	// subMsgBuf is the initial size of a Subscription's datagram buffer;
	// it doubles (up to subMsgBufMax) when the kernel reports a truncated
	// datagram.
	subMsgBuf    = 64 << 10
	subMsgBufMax = 4 << 20
	// subReopenTries bounds attempts to re-open a failed subscription.
	subReopenTries = 5
)

// errNoMessage reports that no datagram arrived within the linger.
var errNoMessage = errors.New("no notification queued")

// SubscriptionConfig describes a netlink multicast subscription.
type SubscriptionConfig struct {
	// Protocol is the netlink family: unix.NETLINK_ROUTE,
	// unix.NETLINK_NETFILTER, ...
	Protocol int
	// Groups are the multicast groups joined (unix.RTNLGRP_*,
	// unix.NFNLGRP_*).
	Groups []uint32
	// ReceiveBuffer is the kernel receive buffer of the socket in bytes
	// (SO_RCVBUF; forced past net.core.rmem_max with CAP_NET_ADMIN). Zero
	// means 8 MiB.
	ReceiveBuffer int
	// Linger is how long a receive waits while the receiver holds changes
	// back (see Handlers.Pending) before Handlers.Flush is called.
	Linger time.Duration
	// Name names the notifications in errors, e.g. "nftables
	// notifications".
	Name string
}

// Subscription is a netlink socket in a namespace joined to multicast
// groups. Run receives from it until ctx ends; when the socket fails, Run
// replaces it, so the subscription outlives a broken socket.
type Subscription struct {
	ns  *netprim.Namespace
	cfg SubscriptionConfig
	buf []byte // owned by Run

	mu   sync.Mutex // guards file for the ctx.AfterFunc callback
	file *os.File
	raw  syscall.RawConn
}

// Subscribe opens a socket subscribed to cfg.Groups of cfg.Protocol in ns
// (nil: the caller's namespace).
func Subscribe(ns *netprim.Namespace, cfg SubscriptionConfig) (*Subscription, error) {
	if cfg.ReceiveBuffer < 0 {
		return nil, fmt.Errorf("subscribe: %w: negative receive buffer %d", netprim.ErrInvalidSpec, cfg.ReceiveBuffer)
	}
	if cfg.ReceiveBuffer == 0 {
		cfg.ReceiveBuffer = sockBuf
	}
	cfg.Groups = append([]uint32(nil), cfg.Groups...)
	s := &Subscription{ns: ns, cfg: cfg, buf: make([]byte, subMsgBuf)}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// open creates the subscribed socket inside the namespace and publishes it.
func (s *Subscription) open() error {
	where := s.cfg.Name + " in netns " + s.ns.String()
	fd := -1
	err := s.ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, s.cfg.Protocol)
		return err
	})
	if err != nil {
		return netprim.KernelError("open", where, err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, s.cfg.ReceiveBuffer) != nil {
		// Without CAP_NET_ADMIN the limit is net.core.rmem_max.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, s.cfg.ReceiveBuffer); err != nil {
			unix.Close(fd)
			return netprim.KernelError("subscribe", where, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return netprim.KernelError("bind", where, err)
	}
	for _, g := range s.cfg.Groups {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(g)); err != nil {
			unix.Close(fd)
			return netprim.KernelError("join", fmt.Sprintf("group %d of %s", g, where), err)
		}
	}
	// A non-blocking descriptor makes the File pollable, so a read
	// deadline (set when ctx ends) interrupts a blocked receive.
	f := os.NewFile(uintptr(fd), "netlink-subscription")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return fmt.Errorf("subscribe: %w", err)
	}
	s.mu.Lock()
	s.file, s.raw = f, raw
	s.mu.Unlock()
	return nil
}

// Close closes the current socket. Closing twice is a no-op.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.file != nil {
		s.file.Close()
		s.file, s.raw = nil, nil
	}
	s.mu.Unlock()
}

// interrupt wakes a blocked receive; called when ctx ends.
func (s *Subscription) interrupt() {
	s.mu.Lock()
	if s.file != nil {
		_ = s.file.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
}

// Handlers are a watcher's own part of Run: decoding, coalescing and what
// to do after a loss. Run calls them on its goroutine; each returns false
// to stop Run (when a send was cut short by the end of ctx).
type Handlers struct {
	// Handle is called with each datagram received whole. p is valid
	// until Handle returns.
	Handle func(ctx context.Context, p []byte) bool
	// Resync is called after notifications may have been lost: the
	// kernel dropped some (the receive buffer overflowed), a datagram was
	// truncated, or the socket failed and was replaced. When it is called,
	// every notification lost so far has been discarded, so a re-read
	// that follows misses nothing.
	Resync func(ctx context.Context) bool
	// Pending, if set, reports whether the watcher holds changes back
	// (waiting for the end of a transaction). Then the next receive waits
	// at most the Linger of the SubscriptionConfig, and Flush is called if
	// nothing arrived by then. Without Pending, receives block.
	Pending func() bool
	// Flush sends the changes held back; needed with Pending.
	Flush func(ctx context.Context) bool
}

// Run receives datagrams and hands them to h until ctx ends, a handler
// returns false, or a failed socket could not be re-opened. It closes the
// subscription when it returns. Run is called once.
func (s *Subscription) Run(ctx context.Context, h Handlers) {
	stop := context.AfterFunc(ctx, s.interrupt)
	defer func() {
		stop()
		s.Close()
	}()
	for ctx.Err() == nil {
		// Wait for a datagram only when no changes are held back: a
		// change is never held back waiting for more.
		n, flags, err := s.receive(h.Pending == nil || !h.Pending())
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errNoMessage):
			if !h.Flush(ctx) {
				return
			}
			continue
		case errors.Is(err, unix.ENOBUFS):
			// The kernel dropped notifications, and goes on dropping
			// them without another error until its queue is empty.
			// Empty it (what is queued is superseded by the re-read
			// the Resync asks for), then resync: every silent drop
			// happens before the receiver learns of it.
			if s.drain() != nil && !s.reopen(ctx) {
				return
			}
			if !h.Resync(ctx) {
				return
			}
			continue
		case err != nil:
			if !s.reopen(ctx) || !h.Resync(ctx) {
				return
			}
			continue
		case flags&unix.MSG_TRUNC != 0:
			if len(s.buf) < subMsgBufMax {
				s.buf = make([]byte, 2*len(s.buf))
			}
			if !h.Resync(ctx) {
				return
			}
			continue
		}
		if !h.Handle(ctx, s.buf[:n]) {
			return
		}
	}
}

// receive reads one datagram into s.buf. Without block it waits at most
// the linger and then returns errNoMessage.
func (s *Subscription) receive(block bool) (n, flags int, err error) {
	s.mu.Lock()
	raw := s.raw
	s.mu.Unlock()
	if raw == nil {
		return 0, 0, os.ErrClosed
	}
	var rerr error
	polled := false
	err = raw.Read(func(fd uintptr) bool {
		for {
			n, _, flags, _, rerr = unix.Recvmsg(int(fd), s.buf, nil, 0)
			switch {
			case rerr == unix.EINTR:
				continue
			case rerr != unix.EAGAIN:
				return true
			case block:
				return false // wait in the runtime's poller
			case polled:
				rerr = errNoMessage
				return true
			}
			// Changes are held back for what normally follows them at
			// once (a transaction's end): wait for it a little.
			polled = true
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, int(s.cfg.Linger/time.Millisecond)); err != unix.EINTR {
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

// drain discards every datagram queued on the socket, which clears the
// kernel's congestion state (set on overflow, cleared when a receive
// empties the queue).
func (s *Subscription) drain() error {
	s.mu.Lock()
	raw := s.raw
	s.mu.Unlock()
	if raw == nil {
		return os.ErrClosed
	}
	var rerr error
	err := raw.Control(func(fd uintptr) {
		for {
			_, _, _, _, err := unix.Recvmsg(int(fd), s.buf, nil, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
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
func (s *Subscription) reopen(ctx context.Context) bool {
	s.Close()
	delay := 10 * time.Millisecond
	for try := 0; try < subReopenTries; try++ {
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
		if s.open() == nil {
			// ctx may have ended before the new file was visible to
			// interrupt; checking after publishing it closes that gap.
			return ctx.Err() == nil
		}
	}
	return false
}
