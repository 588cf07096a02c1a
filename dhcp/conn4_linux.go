package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// errNoAnswer ends an exchange whose retransmissions all went unanswered.
var errNoAnswer = errors.New("no answer")

// noAnswerError is errNoAnswer with the last error sending the message, if
// any (the link was down, no route to the server): a message that could
// not be sent is a lost transmission, retried like an unanswered one.
type noAnswerError struct{ send error }

func (e *noAnswerError) Error() string {
	if e.send == nil {
		return errNoAnswer.Error()
	}
	return errNoAnswer.Error() + " (last send: " + e.send.Error() + ")"
}

func (e *noAnswerError) Is(target error) bool { return target == errNoAnswer }

func (e *noAnswerError) Unwrap() error { return e.send }

// sendErr returns the send error an exchange's error carries, or nil.
func sendErr(err error) error {
	var na *noAnswerError
	if errors.As(err, &na) {
		return na.send
	}
	return nil
}

// lastSend is " (last send: ERR)" for an exchange's error that carries a
// send error, or "".
func lastSend(err error) string {
	if se := sendErr(err); se != nil {
		return " (last send: " + se.Error() + ")"
	}
	return ""
}

// conn4 is the client's link: a packet socket that receives every UDP
// datagram to port 68 on the link (whether or not the link has an address
// yet) and sends broadcasts, both created inside the link's namespace. It
// moves to the link of the same name when the link is created again or
// gets a new MAC address (see follow).
type conn4 struct {
	ns  *netprim.Namespace
	ifi net.Interface
	s   *sock4
	in  chan *dhcpv4.DHCPv4
}

// sock4 is one packet socket of a conn4 and its reader.
type sock4 struct {
	pkt  net.PacketConn   // the packet socket
	raw  net.PacketConn   // nclient4's UDP-over-packet-socket on pkt, from 0.0.0.0
	mac  net.HardwareAddr // the link's when it was opened
	done chan struct{}    // closed when the reader returns
	// closing is set before raw is closed: the socket reports that as
	// EBADF, which read must tell from a link going down.
	closing atomic.Bool
}

// udp68 is a classic BPF program for a packet socket of type SOCK_DGRAM
// (the data starts at the IP header): keep UDP datagrams to port 68 that
// are not later fragments, drop the rest.
var udp68 = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 9, Size: 1}, // IP protocol
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_UDP, SkipFalse: 6},
	bpf.LoadAbsolute{Off: 6, Size: 2}, // fragment offset
	bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 4},
	bpf.LoadMemShift{Off: 0},          // X = IP header length
	bpf.LoadIndirect{Off: 2, Size: 2}, // UDP destination port
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: nclient4.ClientPort, SkipFalse: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}

// interfaceIn looks the link up inside ns.
func interfaceIn(ns *netprim.Namespace, name string) (net.Interface, error) {
	var ifi net.Interface
	err := ns.Do(func() error {
		i, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		ifi = *i
		return nil
	})
	if err != nil {
		return ifi, fmt.Errorf("dhcp: link %s in %s: %w: %w", name, ns, netprim.ErrNotFound, err)
	}
	return ifi, nil
}

func sockErr(what string, ns *netprim.Namespace, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("dhcp: %s in %s: %w (needs CAP_NET_RAW): %w", what, ns, netprim.ErrPermission, err)
	}
	return fmt.Errorf("dhcp: %s in %s: %w", what, ns, err)
}

func openConn4(ns *netprim.Namespace, link string) (*conn4, error) {
	ifi, err := interfaceIn(ns, link)
	if err != nil {
		return nil, err
	}
	s, err := listen4(ns, ifi)
	if err != nil {
		return nil, sockErr("packet socket on "+link, ns, err)
	}
	c := &conn4{ns: ns, ifi: ifi, s: s, in: make(chan *dhcpv4.DHCPv4, 16)}
	go c.read(s)
	return c, nil
}

// listen4 opens the packet socket on ifi inside ns.
func listen4(ns *netprim.Namespace, ifi net.Interface) (*sock4, error) {
	s := &sock4{mac: ifi.HardwareAddr, done: make(chan struct{})}
	err := ns.Do(func() error {
		pc, err := packet.Listen(&ifi, packet.Datagram, unix.ETH_P_IP, &packet.Config{Filter: udp68})
		if err != nil {
			return err
		}
		s.pkt = pc
		s.raw = nclient4.NewBroadcastUDPConn(pc, &net.UDPAddr{Port: nclient4.ClientPort})
		return nil
	})
	return s, err
}

// follow moves to the link of the client's link name when it is not the
// one the socket was opened on any more: the link was deleted and created
// again (a new index: the old socket neither sends nor receives again) or
// has a new MAC address (replies go to the hardware address a message
// carries). It reports whether it moved. If the link is missing or the new
// socket cannot be opened, the old one stays, and the next transmission
// tries again.
func (c *conn4) follow() bool {
	ifi, err := interfaceIn(c.ns, c.ifi.Name)
	if err != nil || (ifi.Index == c.ifi.Index && string(ifi.HardwareAddr) == string(c.ifi.HardwareAddr)) {
		return false
	}
	s, err := listen4(c.ns, ifi)
	if err != nil {
		return false
	}
	c.s.close()
	c.ifi, c.s = ifi, s
	go c.read(s)
	return true
}

// read delivers the server replies to s addressed to its hardware address
// until s closes. Other errors do not end it: when the link goes down the
// kernel reports ENETDOWN once on the packet socket, which receives again
// once the link is up.
func (c *conn4) read(s *sock4) {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, _, err := s.raw.ReadFrom(buf)
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			time.Sleep(readErrorPause)
			continue
		}
		m, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || m.OpCode != dhcpv4.OpcodeBootReply || m.HWType != 1 || string(m.ClientHWAddr) != string(s.mac) {
			continue
		}
		select {
		case c.in <- m:
		default: // the client is not listening: a late or foreign reply
		}
	}
}

// readErrorPause is how long a reader waits after an error before it
// reads again (an error that repeats must not spin).
const readErrorPause = 10 * time.Millisecond

func (c *conn4) close() { c.s.close() }

func (s *sock4) close() {
	s.closing.Store(true)
	s.raw.Close()
	<-s.done
}

// broadcast sends m to the limited broadcast address from 0.0.0.0, as a
// client without an address does (RFC 2131 4.1).
func (c *conn4) broadcast(m *dhcpv4.DHCPv4) error {
	_, err := c.s.raw.WriteTo(m.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: nclient4.ServerPort})
	return err
}

// sender returns a function that sends to dst, port 67, from src, the
// leased address, port 68 (RFC 2131 4.1 and 4.4.5: a client that has its
// address sends from it, renewing, rebinding and releasing). It holds a
// UDP socket bound to src open until closeFn, so that the server's
// unicast answer (the packet socket reads it) finds a socket and draws no
// ICMP error. A unicast goes through that socket; a broadcast (dst
// 255.255.255.255: rebinding) through the packet socket, with src as the
// IP source. When src is not on the link (the caller did not apply the
// address), both go through the packet socket from 0.0.0.0, as before a
// lease, so that a server answering by the IP source broadcasts.
func (c *conn4) sender(src, dst netip.Addr) (send func(*dhcpv4.DHCPv4) error, closeFn func()) {
	to := &net.UDPAddr{IP: dst.AsSlice(), Port: nclient4.ServerPort}
	from := &net.UDPAddr{IP: src.AsSlice(), Port: nclient4.ClientPort}
	var uc *net.UDPConn
	err := c.ns.Do(func() error {
		var err error
		uc, err = server4.NewIPv4UDPConn(c.ifi.Name, from)
		return err
	})
	if err != nil {
		return func(m *dhcpv4.DHCPv4) error {
			_, err := c.s.raw.WriteTo(m.ToBytes(), to)
			return err
		}, func() {}
	}
	if dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return func(m *dhcpv4.DHCPv4) error {
			// c.s is read at each send: the client may have moved to a
			// link created again.
			_, err := nclient4.NewBroadcastUDPConn(c.s.pkt, from).WriteTo(m.ToBytes(), to)
			return err
		}, func() { uc.Close() }
	}
	return func(m *dhcpv4.DHCPv4) error {
		_, err := uc.WriteTo(m.ToBytes(), to)
		return err
	}, func() { uc.Close() }
}

// exchange sends m, and sends it again after each wait that next returns
// (next(i) is the wait after the i-th transmission; zero or less stops),
// until a reply with m's transaction ID satisfies match or ctx ends. A
// transmission that fails (the link is down) counts as sent and lost: the
// exchange waits and retransmits as if it went unanswered, and ends with
// errNoAnswer (carrying the last send error) only when next says stop.
func (c *conn4) exchange(ctx context.Context, m *dhcpv4.DHCPv4, send func(*dhcpv4.DHCPv4) error, match func(*dhcpv4.DHCPv4) bool, next func(int) time.Duration) (*dhcpv4.DHCPv4, error) {
	return retransmit(ctx, c.in, next, func(elapsed time.Duration) error {
		m.NumSeconds = uint16(min(elapsed/time.Second, 0xffff))
		if c.follow() {
			m.ClientHWAddr = c.ifi.HardwareAddr // where replies go
		}
		if err := send(m); err != nil {
			return fmt.Errorf("dhcp: send %s: %w", m.MessageType(), err)
		}
		return nil
	}, func(r *dhcpv4.DHCPv4) bool { return r.TransactionID == m.TransactionID && match(r) })
}

// retransmit is the loop of both exchanges: it forgets replies to
// earlier exchanges, then sends (send gets the time since the first
// transmission) and sends again after each wait that next returns (next(i)
// is the wait after the i-th transmission; zero or less stops), until a
// reply from in satisfies match or ctx ends. A send that fails counts as a
// lost transmission; the last such error is carried by the noAnswerError
// returned when next says stop.
func retransmit[M any](ctx context.Context, in chan M, next func(int) time.Duration, send func(elapsed time.Duration) error, match func(M) bool) (M, error) {
	var none M
	for len(in) > 0 {
		<-in
	}
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var lastSend error
	for i := 0; ; i++ {
		wait := next(i)
		if wait <= 0 {
			return none, &noAnswerError{send: lastSend}
		}
		lastSend = send(time.Since(start))
		timer.Reset(wait)
	recv:
		for {
			select {
			case <-ctx.Done():
				return none, ctx.Err()
			case <-timer.C:
				break recv
			case r := <-in:
				if match(r) {
					return r, nil
				}
			}
		}
	}
}

// probeNum is RFC 5227's PROBE_NUM.
const probeNum = 3

// arpProbe sends RFC 5227 probes for ip on the link (probeNum of them,
// spread evenly over wait, the first at once) and reports whether another
// host answered or probed for it within wait.
func (c *conn4) arpProbe(ctx context.Context, ip netip.Addr, wait time.Duration) (bool, net.HardwareAddr, error) {
	var pc *packet.Conn
	err := c.ns.Do(func() error {
		var err error
		pc, err = packet.Listen(&c.ifi, packet.Raw, unix.ETH_P_ARP, nil)
		return err
	})
	if err != nil {
		return false, nil, sockErr("ARP socket on "+c.ifi.Name, c.ns, err)
	}
	// Closing a packet socket waits for an RCU grace period (≈ 10 ms):
	// not on the way to binding the lease.
	var once sync.Once
	stop := func() { once.Do(func() { go pc.Close() }) }
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-time.After(wait + time.Second):
		}
	}()
	mac := c.ifi.HardwareAddr
	frame := make([]byte, 42)
	copy(frame[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(frame[6:12], mac)
	frame[12], frame[13] = 0x08, 0x06 // ARP
	copy(frame[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(frame[22:28], mac) // sender hardware address; sender IP 0.0.0.0
	a4 := ip.As4()
	copy(frame[38:42], a4[:]) // target IP
	bcast := &packet.Addr{HardwareAddr: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	start := time.Now()
	deadline := start.Add(wait)
	sent := 0
	buf := make([]byte, 128)
	for time.Now().Before(deadline) {
		if sent < probeNum && time.Since(start) >= time.Duration(sent)*wait/probeNum {
			if _, err := pc.WriteTo(frame, bcast); err != nil {
				return false, nil, fmt.Errorf("dhcp: ARP probe on %s: %w", c.ifi.Name, err)
			}
			sent++
		}
		until := deadline
		if sent < probeNum {
			until = start.Add(time.Duration(sent) * wait / probeNum)
		}
		pc.SetReadDeadline(until)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil, ctx.Err()
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return false, nil, fmt.Errorf("dhcp: ARP probe on %s: %w", c.ifi.Name, err)
		}
		if n < 42 || buf[12] != 0x08 || buf[13] != 0x06 || buf[16] != 8 || buf[17] != 0 {
			continue
		}
		sha := net.HardwareAddr(buf[22:28])
		if string(sha) == string(mac) {
			continue
		}
		spa := netip.AddrFrom4([4]byte(buf[28:32]))
		tpa := netip.AddrFrom4([4]byte(buf[38:42]))
		op := int(buf[20])<<8 | int(buf[21])
		if spa == ip || (op == 1 && spa.IsUnspecified() && tpa == ip) {
			return true, append(net.HardwareAddr(nil), sha...), nil
		}
	}
	return false, nil, nil
}
