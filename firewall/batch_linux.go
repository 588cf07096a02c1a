package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// batchWriter carries the transactions google/nftables builds to the
// kernel without the per-message overhead of nftables.Conn.Flush: every
// rule there asks for an echo of itself and every reply is read with its
// own receive, which makes loading rules slower than the nft tool. Here
// the batch goes out in one sendmsg with no echo and one acknowledgement
// (for the last message); the kernel still reports every failing message,
// and the transaction is still all-or-nothing.
//
// It plugs into nftables.Conn as its netlink transport (WithTestDial): the
// Conn marshals the messages exactly as usual, batchWriter sends them, and
// answers the Conn's per-message receives with the outcome.
type batchWriter struct {
	nl  *netlink.Conn
	seq uint32
	err error // outcome of the last batch, reported on the next receive
}

// newWriter returns an nftables.Conn whose Flush sends through a
// batchWriter bound to ns.
func newWriter(ns *netprim.Namespace, bufBytes int) (*nftables.Conn, *batchWriter, error) {
	cfg := &netlink.Config{}
	if ns != nil {
		cfg.NetNS = ns.FD()
	}
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, nil, netprim.KernelError("open", "nftables in netns "+ns.String(), err)
	}
	if err := setBuffers(nl, bufBytes); err != nil {
		nl.Close()
		return nil, nil, err
	}
	w := &batchWriter{nl: nl}
	c, err := nftables.New(nftables.WithTestDial(w.roundTrip))
	if err != nil {
		nl.Close()
		return nil, nil, err
	}
	return c, w, nil
}

// Close closes the netlink socket.
func (w *batchWriter) Close() error { return w.nl.Close() }

// roundTrip is called with the whole batch by Flush's send, and with nil
// by each of Flush's receives.
func (w *batchWriter) roundTrip(reqs []netlink.Message) ([]netlink.Message, error) {
	if reqs == nil {
		if w.err != nil {
			err := w.err
			w.err = nil
			var errno syscall.Errno
			if errors.As(err, &errno) {
				// An NLMSG_ERROR, so that the caller sees the errno.
				data := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
				return []netlink.Message{{Header: netlink.Header{Type: netlink.Error, Length: 20}, Data: data}}, nil
			}
			return nil, err
		}
		return []netlink.Message{{Header: netlink.Header{Type: netlink.Error, Length: 20}, Data: make([]byte, 4)}}, nil
	}
	w.err = w.send(reqs)
	return nil, nil
}

// send sends the batch and waits for the acknowledgement of its last
// message, collecting the first error the kernel reports.
func (w *batchWriter) send(reqs []netlink.Message) error {
	if len(reqs) < 3 {
		return nil // only batch begin and end
	}
	// One buffer with every message, no echo, an acknowledgement only for
	// the last message before batch end.
	size := 0
	for _, m := range reqs {
		size += 16 + (len(m.Data)+3)&^3
	}
	if err := setBuffers(w.nl, 2*size); err != nil {
		return err
	}
	out := make([]byte, 0, size)
	last := len(reqs) - 2
	var seq uint32
	begin := w.seq + 1 // the batch-begin message
	for i, m := range reqs {
		flags := m.Header.Flags &^ (netlink.Acknowledge | unix.NLM_F_ECHO)
		if i == last {
			flags |= netlink.Acknowledge
		}
		w.seq++
		if i == last {
			seq = w.seq
		}
		out = binary.NativeEndian.AppendUint32(out, uint32(16+len(m.Data)))
		out = binary.NativeEndian.AppendUint16(out, uint16(m.Header.Type))
		out = binary.NativeEndian.AppendUint16(out, uint16(flags))
		out = binary.NativeEndian.AppendUint32(out, w.seq)
		out = binary.NativeEndian.AppendUint32(out, 0)
		out = append(out, m.Data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	raw, err := w.nl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), out, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("send batch: %w", serr)
	}
	if err := w.nl.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	var first error
	for done := false; !done; {
		var n int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("receive acknowledgement: %w", err)
		}
		replies, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range replies {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			if errno := -int32(binary.NativeEndian.Uint32(m.Data[:4])); errno != 0 && first == nil {
				first = syscall.Errno(errno)
			}
			// The kernel acknowledges the last message; when it cannot
			// process the batch at all (ENOMEM) it reports an error for
			// the batch-begin message only.
			if m.Header.Seq == seq || (m.Header.Seq == begin && first != nil) {
				done = true
			}
		}
	}
	return first
}

// setBuffers sizes the socket buffers of c (at least 1 MiB) and asks for
// acknowledgements without a copy of the request.
func setBuffers(c *netlink.Conn, bufBytes int) error {
	if bufBytes < 1<<20 {
		bufBytes = 1 << 20
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], bufBytes); e != nil {
				// Without CAP_NET_ADMIN the limit is net.core.[rw]mem_max.
				if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], bufBytes); e != nil {
					serr = e
				}
			}
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	return c.SetOption(netlink.CapAcknowledge, true)
}
