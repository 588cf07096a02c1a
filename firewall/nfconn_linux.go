package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// nfconn is a NETLINK_NETFILTER socket in one namespace for the requests
// the firewall makes itself: the ruleset generation, the namespace cookie
// and the dumps of one table. It decodes only the attributes it is asked
// for, straight from its receive buffer.
type nfconn struct {
	nl    *netlink.Conn
	raw   syscall.RawConn
	seq   uint32
	buf   []byte
	req   []byte
	stats *readStats
}

// readStats counts the requests an nfconn sends, by message name; tests
// pass one with withReadStats.
type readStats struct {
	mu   sync.Mutex
	reqs map[string]int
}

func (s *readStats) add(name string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.reqs == nil {
		s.reqs = map[string]int{}
	}
	s.reqs[name]++
	s.mu.Unlock()
}

// snapshot returns a copy of the counts.
func (s *readStats) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.reqs {
		out[k] = v
	}
	return out
}

// errDumpInterrupted reports a dump the kernel marked inconsistent
// (NLM_F_DUMP_INTR): the ruleset changed while it was read.
var errDumpInterrupted = errors.New("nftables dump interrupted by a concurrent change")

func msgType(m int) uint16 { return uint16(unix.NFNL_SUBSYS_NFTABLES<<8 | m) }

// dialNF opens an nfconn in ns.
func dialNF(ns *netprim.Namespace, stats *readStats) (*nfconn, error) {
	cfg := &netlink.Config{}
	if ns != nil {
		cfg.NetNS = ns.FD()
	}
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, netprim.KernelError("open", "nftables in netns "+ns.String(), err)
	}
	raw, err := nl.SyscallConn()
	if err != nil {
		nl.Close()
		return nil, netprim.KernelError("open", "nftables in netns "+ns.String(), err)
	}
	// A dump datagram holds at most 32 KiB.
	return &nfconn{nl: nl, raw: raw, buf: make([]byte, 64<<10), stats: stats}, nil
}

func (c *nfconn) Close() error { return c.nl.Close() }

// cookie returns the network namespace cookie of the socket
// (SO_NETNS_COOKIE, Linux 5.14): unique for the life of the system, never
// reused, unlike a namespace's inode number.
func (c *nfconn) cookie() (uint64, error) {
	var v uint64
	var serr error
	err := c.raw.Control(func(fd uintptr) {
		var n uint64
		n, serr = unix.GetsockoptUint64(int(fd), unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
		v = n
	})
	if err != nil {
		return 0, err
	}
	return v, serr
}

// attr appends a netlink attribute to b.
func attr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func strAttr(b []byte, typ uint16, s string) []byte {
	return attr(b, typ, append([]byte(s), 0))
}

// request sends one request of type typ (an NFT_MSG_* value) for family
// with the attributes attrs, and calls fn with every reply message of
// that type until the kernel is done: after the first reply for a get,
// after NLMSG_DONE for a dump. name labels the request in readStats.
func (c *nfconn) request(name string, typ int, family uint8, dump bool, attrs []byte, fn func(data []byte) error) error {
	c.stats.add(name)
	c.seq++
	seq := c.seq
	flags := uint16(unix.NLM_F_REQUEST)
	if dump {
		flags |= unix.NLM_F_DUMP
	}
	b := c.req[:0]
	b = binary.NativeEndian.AppendUint32(b, uint32(16+4+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, msgType(typ))
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, family, unix.NFNETLINK_V0, 0, 0)
	b = append(b, attrs...)
	c.req = b

	var serr error
	if err := c.raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	if err := c.nl.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	reply := msgType(typ - 1) // NFT_MSG_GETx follows NFT_MSG_NEWx
	interrupted := false
	for {
		var n, rflags int
		var rerr error
		err := c.raw.Read(func(fd uintptr) bool {
			for {
				n, _, rflags, _, rerr = unix.Recvmsg(int(fd), c.buf, nil, 0)
				if rerr != unix.EINTR {
					return rerr != unix.EAGAIN
				}
			}
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
		if rflags&unix.MSG_TRUNC != 0 {
			return fmt.Errorf("%s: reply truncated", name)
		}
		p := c.buf[:n]
		for len(p) >= 16 {
			l := int(binary.NativeEndian.Uint32(p[0:4]))
			if l < 16 || l > len(p) {
				return fmt.Errorf("%s: malformed reply", name)
			}
			mtyp := binary.NativeEndian.Uint16(p[4:6])
			mflags := binary.NativeEndian.Uint16(p[6:8])
			mseq := binary.NativeEndian.Uint32(p[8:12])
			data := p[16:l]
			p = p[min((l+3)&^3, len(p)):]
			if mseq != seq {
				continue // a late reply to an earlier request
			}
			if mflags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch mtyp {
			case unix.NLMSG_DONE:
				if len(data) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(data[:4])); errno > 0 {
						return syscall.Errno(errno)
					}
				}
				if interrupted {
					return errDumpInterrupted
				}
				return nil
			case unix.NLMSG_ERROR:
				if len(data) < 4 {
					return fmt.Errorf("%s: malformed error reply", name)
				}
				if errno := -int32(binary.NativeEndian.Uint32(data[:4])); errno != 0 {
					return syscall.Errno(errno)
				}
				if !dump {
					return nil
				}
				continue
			case reply:
				if len(data) < 4 {
					return fmt.Errorf("%s: malformed reply", name)
				}
				if err := fn(data[4:]); err != nil {
					return err
				}
				if !dump {
					return nil
				}
			}
		}
	}
}

// gen returns the ruleset generation of the namespace: the kernel bumps it
// by one with every committed nftables transaction.
func (c *nfconn) gen() (uint32, error) {
	var id uint32
	found := false
	err := c.request("getgen", unix.NFT_MSG_GETGEN, unix.AF_UNSPEC, false, nil, func(data []byte) error {
		return walkAttrs(data, func(typ uint16, v []byte) error {
			if typ == unix.NFTA_GEN_ID && len(v) == 4 {
				id, found = binary.BigEndian.Uint32(v), true
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, errors.New("generation reply without an id")
	}
	return id, nil
}

// nextGen is the generation after one transaction (the kernel skips 0).
func nextGen(g uint32) uint32 {
	if g++; g == 0 {
		g = 1
	}
	return g
}

// walkAttrs calls fn with the type (without the nested and byte-order
// flags) and payload of every attribute in b.
func walkAttrs(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask
		if l < 4 || l > len(b) {
			return errors.New("malformed netlink attribute")
		}
		if err := fn(typ, b[4:l]); err != nil {
			return err
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return nil
}

// cstring returns a NUL-terminated attribute as a string.
func cstring(v []byte) string {
	for i, c := range v {
		if c == 0 {
			return string(v[:i])
		}
	}
	return string(v)
}

// isCString reports whether v holds s followed by NUL (and padding),
// without allocating.
func isCString(v []byte, s string) bool {
	return len(v) > len(s) && string(v[:len(s)]) == s && v[len(s)] == 0
}

type readStatsKey struct{}

// withReadStats counts the requests Plan and Apply send to read.
func withReadStats(s *readStats) netprim.Option {
	return func(o *netprim.Options) { o.Set(readStatsKey{}, s) }
}

func statsOf(o netprim.Options) *readStats {
	s, _ := o.Value(readStatsKey{}).(*readStats)
	return s
}

// nlaTypeMask strips the nested and byte-order flags from an attribute type.
const nlaTypeMask = ^uint16(unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
