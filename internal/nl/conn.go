//go:build linux

package nl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

const (
	flagRequest = unix.NLM_F_REQUEST
	flagAck     = unix.NLM_F_ACK
	// chunkBytes bounds one sendmsg (further bounded by the socket's send
	// buffer). The kernel handles every message of a chunk inside sendmsg,
	// so replies are queued when it returns.
	chunkBytes = 256 << 10
	// sockBuf is the socket buffer size asked for (SO_*BUFFORCE as root).
	sockBuf = 8 << 20
	// replyTruesize is what one small reply costs in the receive buffer.
	replyTruesize = 1024
	// dumpRetries bounds retries of a dump interrupted by concurrent changes.
	dumpRetries = 10
)

// ErrDumpInterrupted is returned when a dump kept being interrupted by
// concurrent changes (NLM_F_DUMP_INTR) after retries.
var ErrDumpInterrupted = errors.New("netlink dump interrupted by concurrent changes")

// ErrUnknownResult marks requests whose outcome is unknown because the
// exchange failed after they were sent; re-read kernel state.
var ErrUnknownResult = errors.New("result unknown: re-read kernel state")

// Conn is a raw NETLINK_ROUTE socket, opened inside a namespace, for batched
// requests and dumps. It is safe for concurrent use; calls are serialised.
type Conn struct {
	mu    sync.Mutex
	fd    int
	seq   uint32
	rbuf  []byte
	chunk int // bytes per sendmsg
	msgs  int // requests per sendmsg
}

// DialRoute opens a NETLINK_ROUTE socket in ns (nil: the caller's) with large
// buffers, extended ACKs and strict dump checking.
func DialRoute(ns *netprim.Namespace) (*Conn, error) {
	fd := -1
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, netprim.KernelError("open", "netlink socket in netns "+ns.String(), err)
	}
	// The kernel caps one dump datagram at 32 KiB; 64 KiB always suffices.
	c := &Conn{fd: fd, rbuf: make([]byte, 64<<10)}
	c.setBuffers(sockBuf, sockBuf)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, netprim.KernelError("bind", "netlink socket", err)
	}
	return c, nil
}

// setBuffers asks for socket buffers of snd and rcv bytes (forced where
// the caller has CAP_NET_ADMIN, else capped by net.core.[rw]mem_max) and
// sizes the chunks of Exec to what was granted. A chunk must fit the send
// buffer (netlink refuses larger datagrams with EMSGSIZE), and the error
// replies of a chunk whose every request fails must fit the receive buffer,
// which counts each reply at its buffer size (about 1 KiB for a small
// reply), not at its length.
func (c *Conn) setBuffers(snd, rcv int) {
	if unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, snd) != nil {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, snd)
	}
	if unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcv) != nil {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcv)
	}
	c.chunk, c.msgs = chunkBytes, 1<<30
	gs, err1 := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	gr, err2 := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err1 == nil && err2 == nil {
		c.chunk = max(min(chunkBytes, gs/2), 4096)
		c.msgs = max(gr/(2*replyTruesize), 16)
	}
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// KernelError is an error the kernel returned for one request, with the
// extended-ACK message when the kernel gave one.
type KernelError struct {
	Errno   syscall.Errno
	Message string
}

// Error renders the errno and the kernel's message.
func (e *KernelError) Error() string {
	if e.Message != "" {
		return e.Errno.Error() + ": " + e.Message
	}
	return e.Errno.Error()
}

// Unwrap returns the errno, so errors.Is(err, unix.EEXIST) works.
func (e *KernelError) Unwrap() error { return e.Errno }

// Exec sends every message in b and returns one error per message, nil
// where the kernel accepted it. Messages are sent in chunks; only the last of
// each chunk asks for an ACK, failures are reported by the kernel anyway. A
// non-nil second result means the exchange failed: messages whose fate is
// unknown carry ErrUnknownResult. ctx is checked between chunks.
func (c *Conn) Exec(ctx context.Context, b *Batch) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := b.Len()
	errs := make([]error, n)
	for i := 0; i < n; {
		if err := ctx.Err(); err != nil {
			markUnknown(errs[i:], err)
			return errs, err
		}
		j, size := i, 0
		for j < n && (j == i || size+len(b.msg(j)) <= c.chunk && j-i < c.msgs) {
			size += len(b.msg(j))
			j++
		}
		base := c.seq + 1
		for k := i; k < j; k++ {
			m := b.msg(k)
			c.seq++
			binary.NativeEndian.PutUint32(m[8:], c.seq)
			binary.NativeEndian.PutUint32(m[12:], 0)
			fl := binary.NativeEndian.Uint16(m[6:]) &^ flagAck
			if k == j-1 {
				fl |= flagAck
			}
			binary.NativeEndian.PutUint16(m[6:], fl)
		}
		last := c.seq
		chunk := b.buf[b.starts[i] : b.starts[j-1]+len(b.msg(j-1))]
		if err := unix.Sendto(c.fd, chunk, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			markUnknown(errs[i:], err)
			return errs, fmt.Errorf("netlink send: %w", err)
		}
		err := c.readAcks(base, last, func(seq uint32, e error) {
			if seq >= base && seq <= last {
				errs[i+int(seq-base)] = e
			}
		})
		if err != nil {
			markUnknown(errs[i:], err)
			return errs, err
		}
		i = j
	}
	return errs, nil
}

func markUnknown(errs []error, cause error) {
	for k := range errs {
		if errs[k] == nil {
			errs[k] = fmt.Errorf("%w: %w", ErrUnknownResult, cause)
		}
	}
}

// readAcks reads replies until the ACK (or error) for last arrives.
func (c *Conn) readAcks(base, last uint32, report func(seq uint32, err error)) error {
	for {
		n, _, err := unix.Recvfrom(c.fd, c.rbuf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		done := false
		walk(c.rbuf[:n], func(typ, flags uint16, seq uint32, data []byte) bool {
			if typ != unix.NLMSG_ERROR || seq < base || seq > last {
				return true
			}
			report(seq, ackError(flags, data))
			if seq == last {
				done = true
			}
			return true
		})
		if done {
			return nil
		}
	}
}

// walk calls fn for every netlink message in p.
func walk(p []byte, fn func(typ, flags uint16, seq uint32, data []byte) bool) {
	for len(p) >= hdrLen {
		l := int(binary.NativeEndian.Uint32(p))
		if l < hdrLen || l > len(p) {
			return
		}
		if !fn(binary.NativeEndian.Uint16(p[4:]), binary.NativeEndian.Uint16(p[6:]),
			binary.NativeEndian.Uint32(p[8:]), p[hdrLen:l]) {
			return
		}
		al := (l + 3) &^ 3
		if al > len(p) {
			return
		}
		p = p[al:]
	}
}

// ackError decodes an NLMSG_ERROR payload: nil for an ACK.
func ackError(flags uint16, data []byte) error {
	if len(data) < 4 {
		return &KernelError{Errno: unix.EPROTO}
	}
	code := int32(binary.NativeEndian.Uint32(data))
	if code == 0 {
		return nil
	}
	ke := &KernelError{Errno: syscall.Errno(-code)}
	if flags&unix.NLM_F_ACK_TLVS != 0 {
		off := 4 + hdrLen // errno + original header (payload capped)
		if flags&unix.NLM_F_CAPPED == 0 && len(data) >= 4+hdrLen {
			off = 4 + int(binary.NativeEndian.Uint32(data[4:]))
		}
		if off <= len(data) {
			Attrs(data[off:], func(typ uint16, val []byte) bool {
				if typ == unix.NLMSGERR_ATTR_MSG {
					ke.Message = String(val)
				}
				return true
			})
		}
	}
	return ke
}

// Dump sends a dump request of type typ with the fixed header req (and
// optional attributes already encoded after it) and calls fn for every reply
// message. data is only valid during the call. An interrupted dump
// (NLM_F_DUMP_INTR) is retried from the start after a short back-off (1 ms,
// doubling, at most 50 ms), up to dumpRetries times; reset is called before
// each retry so the caller can drop what it collected.
func (c *Conn) Dump(ctx context.Context, typ uint16, req []byte, reset func(), fn func(typ uint16, data []byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for try := 0; try < dumpRetries; try++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if try > 0 {
			// Back off a little: changes often come in bursts (a prune,
			// DAD finishing), and a dump retried at once meets the same
			// burst again.
			t := time.NewTimer(min(time.Millisecond<<try, 50*time.Millisecond))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			if reset != nil {
				reset()
			}
		}
		intr, err := c.dumpOnce(typ, req, fn)
		if err != nil || !intr {
			return err
		}
	}
	return ErrDumpInterrupted
}

func (c *Conn) dumpOnce(typ uint16, req []byte, fn func(typ uint16, data []byte) error) (bool, error) {
	c.seq++
	seq := c.seq
	msg := make([]byte, hdrLen, hdrLen+len(req))
	msg = append(msg, req...)
	binary.NativeEndian.PutUint32(msg, uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(msg[8:], seq)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, fmt.Errorf("netlink dump send: %w", err)
	}
	intr := false
	for {
		n, _, err := unix.Recvfrom(c.fd, c.rbuf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("netlink dump receive: %w", err)
		}
		var (
			done bool
			ferr error
		)
		walk(c.rbuf[:n], func(mt, flags uint16, s uint32, data []byte) bool {
			if s != seq {
				return true
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch mt {
			case unix.NLMSG_DONE:
				done = true
				if len(data) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(data)); code < 0 {
						ferr = &KernelError{Errno: syscall.Errno(-code)}
					}
				}
				return false
			case unix.NLMSG_ERROR:
				done = true
				ferr = ackError(flags, data)
				return false
			case unix.NLMSG_NOOP:
				return true
			}
			if ferr == nil && !intr {
				ferr = fn(mt, data)
			}
			return true
		})
		if done {
			return intr, ferr
		}
		if ferr != nil {
			// Drain the rest of the dump so the socket stays usable.
			for !done {
				n, _, err := unix.Recvfrom(c.fd, c.rbuf, 0)
				if err == unix.EINTR {
					continue
				}
				if err != nil {
					return false, ferr
				}
				walk(c.rbuf[:n], func(mt, _ uint16, s uint32, _ []byte) bool {
					if s == seq && (mt == unix.NLMSG_DONE || mt == unix.NLMSG_ERROR) {
						done = true
						return false
					}
					return true
				})
			}
			return false, ferr
		}
	}
}
