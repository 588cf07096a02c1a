package vip_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

// Kinds of frames a capture records.
const (
	kindGARPRequest = "garp-request" // ARP request, sender IP = target IP
	kindGARPReply   = "garp-reply"   // ARP reply, sender IP = target IP
	kindARPRequest  = "arp-request"  // other ARP requests
	kindARPReply    = "arp-reply"    // other ARP replies
	kindNA          = "na"           // ICMPv6 neighbour advertisement
)

// announcement is one ARP or neighbour advertisement frame a link received,
// as parsed from the wire.
type announcement struct {
	// At is the kernel's receive timestamp (wall clock, no monotonic
	// reading: compare with Sub, never with ==).
	At   time.Time
	Kind string
	// SrcMAC and DstMAC are the Ethernet addresses of the frame.
	SrcMAC, DstMAC net.HardwareAddr

	// ARP: the sender and target hardware and protocol addresses.
	// NA: SenderIP is the IPv6 source address, TargetIP the advertised
	// target address.
	SenderMAC, TargetMAC net.HardwareAddr
	SenderIP, TargetIP   netip.Addr

	// Neighbour advertisements only.
	DstIP                       netip.Addr
	HopLimit                    int
	Router, Solicited, Override bool
	TLLA                        net.HardwareAddr // target link-layer address option, nil if absent
	ChecksumOK                  bool             // the ICMPv6 checksum is right
}

func (a announcement) String() string {
	s := fmt.Sprintf("%s %s %s->%s", a.At.Format("15:04:05.000000"), a.Kind, a.SrcMAC, a.DstMAC)
	if a.Kind == kindNA {
		return s + fmt.Sprintf(" %s->%s target %s R=%t S=%t O=%t tlla=%s hlim=%d csum=%t",
			a.SenderIP, a.DstIP, a.TargetIP, a.Router, a.Solicited, a.Override, a.TLLA, a.HopLimit, a.ChecksumOK)
	}
	return s + fmt.Sprintf(" sender %s/%s target %s/%s", a.SenderIP, a.SenderMAC, a.TargetIP, a.TargetMAC)
}

// capture records the ARP frames and ICMPv6 neighbour advertisements that
// arrive on one link of a namespace (frames the namespace sends itself are
// left out), from an AF_PACKET socket opened inside that namespace.
type capture struct {
	mu      sync.Mutex
	seen    []announcement
	changed chan struct{} // closed and replaced when seen grows
	err     error         // why the reader stopped, unless closed
}

// announceFilter keeps incoming ARP frames and ICMPv6 neighbour
// advertisements without extension headers, for a raw packet socket.
var announceFilter = func() []bpf.RawInstruction {
	raw, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 7},
		bpf.LoadAbsolute{Off: 12, Size: 2}, // EtherType
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_ARP, SkipTrue: 6},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6, SkipFalse: 4},
		bpf.LoadAbsolute{Off: 14 + 6, Size: 1}, // IPv6 next header
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_ICMPV6, SkipFalse: 2},
		bpf.LoadAbsolute{Off: 14 + 40, Size: 1}, // ICMPv6 type
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ndpTypeNA), SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.RetConstant{Val: 0xffff},
	})
	if err != nil {
		panic(err)
	}
	return raw
}()

const ndpTypeNA = 136

// startCapture starts recording on link in ns. Frames that arrive after it
// returns are recorded; the capture stops when the test ends.
func startCapture(t testing.TB, ns *nstest.NS, link string) *capture {
	t.Helper()
	var conn *packet.Conn
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(link)
		if err != nil {
			return err
		}
		conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: announceFilter})
		return err
	})
	if err != nil {
		t.Fatalf("capture on %s in %s: %v", link, ns.Name, err)
	}
	rc, err := conn.SyscallConn()
	if err == nil {
		var serr error
		err = rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		})
		if err == nil {
			err = serr
		}
	}
	if err != nil {
		conn.Close()
		t.Fatalf("capture on %s in %s: timestamps: %v", link, ns.Name, err)
	}
	c := &capture{changed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.read(rc)
	}()
	t.Cleanup(func() {
		c.mu.Lock()
		err := c.err // an error before the socket is closed
		c.mu.Unlock()
		conn.Close()
		<-done
		if err != nil {
			t.Errorf("capture on %s in %s: %v", link, ns.Name, err)
		}
	})
	return c
}

func (c *capture) read(rc interface {
	Read(func(fd uintptr) bool) error
}) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
	for {
		var n, oobn int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		at := time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
					ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
					at = time.Unix(ts.Unix())
				}
			}
		}
		a, ok := parseAnnouncement(buf[:n])
		if !ok {
			continue
		}
		a.At = at
		c.mu.Lock()
		c.seen = append(c.seen, a)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// parseAnnouncement parses an Ethernet frame holding an ARP packet or an
// ICMPv6 neighbour advertisement.
func parseAnnouncement(b []byte) (announcement, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return announcement{}, false
	}
	a := announcement{SrcMAC: f.Source, DstMAC: f.Destination}
	switch f.EtherType {
	case ethernet.EtherTypeARP:
		var p arp.Packet
		if err := p.UnmarshalBinary(f.Payload); err != nil {
			return a, false
		}
		a.SenderMAC, a.TargetMAC = p.SenderHardwareAddr, p.TargetHardwareAddr
		a.SenderIP, a.TargetIP = p.SenderIP, p.TargetIP
		switch {
		case p.Operation == arp.OperationRequest && p.SenderIP == p.TargetIP:
			a.Kind = kindGARPRequest
		case p.Operation == arp.OperationReply && p.SenderIP == p.TargetIP:
			a.Kind = kindGARPReply
		case p.Operation == arp.OperationRequest:
			a.Kind = kindARPRequest
		case p.Operation == arp.OperationReply:
			a.Kind = kindARPReply
		default:
			return a, false
		}
		return a, true
	case ethernet.EtherTypeIPv6:
		h := f.Payload
		if len(h) < 40 || h[0]>>4 != 6 || h[6] != unix.IPPROTO_ICMPV6 {
			return a, false
		}
		plen := int(binary.BigEndian.Uint16(h[4:6]))
		if len(h) < 40+plen {
			return a, false
		}
		a.HopLimit = int(h[7])
		a.SenderIP = netip.AddrFrom16([16]byte(h[8:24]))
		a.DstIP = netip.AddrFrom16([16]byte(h[24:40]))
		body := h[40 : 40+plen]
		m, err := ndp.ParseMessage(body)
		if err != nil {
			return a, false
		}
		na, ok := m.(*ndp.NeighborAdvertisement)
		if !ok {
			return a, false
		}
		a.Kind = kindNA
		a.TargetIP = na.TargetAddress
		a.Router, a.Solicited, a.Override = na.Router, na.Solicited, na.Override
		for _, o := range na.Options {
			if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
				a.TLLA = lla.Addr
			}
		}
		a.ChecksumOK = icmp6Checksum(h[8:24], h[24:40], body) == 0xffff
		return a, true
	}
	return a, false
}

// icmp6Checksum sums an ICMPv6 message with its pseudo header (RFC 8200
// section 8.1), checksum field included: 0xffff for a correct message.
func icmp6Checksum(src, dst, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	add(src)
	add(dst)
	var l [8]byte
	binary.BigEndian.PutUint32(l[:4], uint32(len(msg)))
	l[7] = unix.IPPROTO_ICMPV6
	add(l[:])
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// all returns the frames recorded so far, in order of arrival.
func (c *capture) all() []announcement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]announcement(nil), c.seen...)
}

// announcements returns the announcements of ip recorded so far: the
// gratuitous ARP requests and replies or the neighbour advertisements
// whose target is ip, in order of arrival.
func (c *capture) announcements(ip netip.Addr) []announcement {
	var out []announcement
	for _, a := range c.all() {
		if aboutIP(ip, kindGARPRequest, kindGARPReply, kindNA)(a) {
			out = append(out, a)
		}
	}
	return out
}

// wait returns the frames recorded so far that match, once there are at
// least n of them; it fails the test if there are not within timeout (a
// guard against a hang, not a timing assertion).
func (c *capture) wait(t testing.TB, timeout time.Duration, n int, match func(announcement) bool) []announcement {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		var got []announcement
		for _, a := range c.seen {
			if match == nil || match(a) {
				got = append(got, a)
			}
		}
		changed, err := c.changed, c.err
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if err != nil {
			t.Fatalf("capture stopped after %d of %d frames: %v", len(got), n, err)
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%d of %d frames after %v; all frames:\n%s", len(got), n, timeout, c)
		}
	}
}

func (c *capture) String() string {
	var b strings.Builder
	for _, a := range c.all() {
		fmt.Fprintln(&b, a)
	}
	return b.String()
}

// aboutIP returns a match for frames of one of kinds whose target is ip.
func aboutIP(ip netip.Addr, kinds ...string) func(announcement) bool {
	return func(a announcement) bool {
		if a.TargetIP != ip {
			return false
		}
		for _, k := range kinds {
			if a.Kind == k {
				return true
			}
		}
		return len(kinds) == 0
	}
}
