package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// Announcer sends the announcements of a shared IP on one link: for IPv4
// a gratuitous ARP request and a gratuitous ARP reply, for IPv6 an
// unsolicited neighbour advertisement with the override flag, each to all
// nodes of the link. Neighbours that already know the address (an entry in
// their neighbour table, typically STALE after a failover) then send to
// this node's MAC address; neighbours that do not know it learn it when
// they next ask.
//
// The frames are built in full (mdlayher/arp and mdlayher/ndp marshal
// them) and sent on a packet socket bound to the link, so announcing needs
// no address on the link: neither an IPv4 address for ARP nor a link-local
// one for NDP. The socket belongs to the link's namespace. If the link
// goes away and a link of the same name appears, the next round is sent
// on the new one; the MAC address in the frames is the link's at the time
// of the round (a bond's changes with its members).
//
// An Announcer is safe for concurrent use.
type Announcer struct {
	ns   *netprim.Namespace
	link string

	mu     sync.Mutex
	fd     int // AF_PACKET, SOCK_DGRAM, protocol 0: sends only
	index  int // the link's index, as bound
	closed bool
	done   chan struct{} // closed by Close
}

// Link-layer addresses of the announcements.
var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	zeroMAC      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	// allNodesMAC is the Ethernet multicast address of ff02::1.
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	allNodes    = netip.IPv6LinkLocalAllNodes()
)

// minPayload is the shortest payload of an Ethernet frame; shorter ARP
// payloads are padded so that the frame leaves at its minimum size even
// where the driver does not pad it.
const minPayload = 46

// NewAnnouncer opens an announcer for the link named link in ns (nil: the
// caller's namespace). The link must exist and have an Ethernet address
// (veth, physical, macvlan, VLAN, bond, bridge); an unknown link yields an
// error wrapping netprim.ErrNotFound, a link without Ethernet address one
// wrapping netprim.ErrUnsupported. Opening the packet socket needs
// CAP_NET_RAW in ns's user namespace (netprim.ErrPermission otherwise),
// and entering ns CAP_SYS_ADMIN.
func NewAnnouncer(ns *netprim.Namespace, link string) (*Announcer, error) {
	if link == "" {
		return nil, fmt.Errorf("vip: announcer: link: %w: empty name", netprim.ErrInvalidSpec)
	}
	a := &Announcer{ns: ns, link: link, fd: -1, done: make(chan struct{})}
	var serr error
	err := ns.Do(func() error {
		a.fd, serr = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		return nil
	})
	switch {
	case err != nil: // entering ns failed; Do names the capability
		return nil, fmt.Errorf("vip: announcer for link %s: %w", link, err)
	case errors.Is(serr, unix.EPERM) || errors.Is(serr, unix.EACCES):
		return nil, fmt.Errorf("vip: packet socket for link %s in %s: %w: needs CAP_NET_RAW: %w", link, ns, netprim.ErrPermission, serr)
	case serr != nil:
		return nil, fmt.Errorf("vip: packet socket for link %s in %s: %w", link, ns, serr)
	}
	if err := a.bind(); err != nil {
		unix.Close(a.fd)
		return nil, err
	}
	return a, nil
}

// bind looks the link up by name, in the socket's namespace, and binds the
// socket to it (protocol 0: the socket receives nothing). It checks that
// the link has an Ethernet address.
func (a *Announcer) bind() error {
	ifr, err := unix.NewIfreq(a.link)
	if err != nil {
		return fmt.Errorf("vip: link %q: %w: %w", a.link, netprim.ErrInvalidSpec, err)
	}
	if err := unix.IoctlIfreq(a.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("vip: link %s in %s: %w: %w", a.link, a.ns, netprim.ErrNotFound, err)
		}
		return fmt.Errorf("vip: link %s in %s: %w", a.link, a.ns, err)
	}
	index := int(ifr.Uint32())
	if err := unix.Bind(a.fd, &unix.SockaddrLinklayer{Ifindex: index}); err != nil {
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("vip: link %s in %s: %w: %w", a.link, a.ns, netprim.ErrNotFound, err)
		}
		return fmt.Errorf("vip: bind to link %s in %s: %w", a.link, a.ns, err)
	}
	a.index = index
	if _, err := a.mac(); err != nil {
		return err
	}
	return nil
}

// errLinkGone: the link the socket is bound to was deleted.
var errLinkGone = errors.New("link deleted")

// mac returns the link's current Ethernet address, read from the socket
// (getsockname reports the bound device's address).
func (a *Announcer) mac() (net.HardwareAddr, error) {
	sa, err := unix.Getsockname(a.fd)
	if err != nil {
		return nil, fmt.Errorf("vip: link %s in %s: %w", a.link, a.ns, err)
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if !ok || ll.Halen == 0 {
		return nil, errLinkGone
	}
	if ll.Hatype != unix.ARPHRD_ETHER || ll.Halen != 6 {
		return nil, fmt.Errorf("vip: link %s in %s: %w: no Ethernet address to announce (hardware type %d)", a.link, a.ns, netprim.ErrUnsupported, ll.Hatype)
	}
	return net.HardwareAddr(append([]byte(nil), ll.Addr[:6]...)), nil
}

// Announce sends one round of announcements of ip on the link: for IPv4 a
// gratuitous ARP request (sender and target IP ip, sender MAC the link's,
// target MAC zero) and a gratuitous ARP reply (sender and target IP ip,
// both MACs the link's), both to ff:ff:ff:ff:ff:ff; for IPv6 an unsolicited
// neighbour advertisement from ip to ff02::1 (override set, solicited and
// router clear, hop limit 255) with a target link-layer address option
// carrying the link's MAC. The IPv6 source address is ip itself, which the
// owner has on the link (added with nodad, so it is usable at once). The
// reply carries the link's MAC as target MAC because Linux counts a reply
// as gratuitous, and lets it override a recent entry, only then.
//
// Announce returns an error wrapping netprim.ErrInvalidSpec for an address
// that cannot be announced (invalid, unspecified, loopback, multicast),
// one wrapping net.ErrClosed after Close, and ctx's error if ctx has
// ended. A link that is down fails with the kernel's ENETDOWN.
func (a *Announcer) Announce(ctx context.Context, ip netip.Addr) error {
	_, err := a.announce(ctx, ip)
	return err
}

// announce sends one round and returns when its first frame went out (the
// zero time if none did).
func (a *Announcer) announce(ctx context.Context, ip netip.Addr) (time.Time, error) {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return time.Time{}, fmt.Errorf("vip: announce: address: %w: none given", netprim.ErrInvalidSpec)
	case ip.IsUnspecified(), ip.IsLoopback(), ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return time.Time{}, fmt.Errorf("vip: announce: address: %w: %s cannot be announced", netprim.ErrInvalidSpec, ip)
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return time.Time{}, fmt.Errorf("vip: announce %s on %s: %w", ip, a.link, net.ErrClosed)
	}
	at, err := a.send(ip)
	if at.IsZero() && (errors.Is(err, errLinkGone) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENODEV)) {
		// The link was deleted: follow its name to a link created since.
		if err = a.bind(); err == nil {
			at, err = a.send(ip)
		}
	}
	if err != nil && !errors.Is(err, netprim.ErrNotFound) && !errors.Is(err, netprim.ErrUnsupported) {
		if errors.Is(err, errLinkGone) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENODEV) {
			err = fmt.Errorf("%w: %w", netprim.ErrNotFound, err)
		}
		err = fmt.Errorf("vip: announce %s on link %s in %s: %w", ip, a.link, a.ns, err)
	}
	return at, err
}

// send sends one round on the bound link.
func (a *Announcer) send(ip netip.Addr) (time.Time, error) {
	mac, err := a.mac()
	if err != nil {
		return time.Time{}, err
	}
	if ip.Is4() {
		return a.sendARP(ip, mac)
	}
	return a.sendNA(ip, mac)
}

func (a *Announcer) sendARP(ip netip.Addr, mac net.HardwareAddr) (time.Time, error) {
	var first time.Time
	var errs []error
	for _, f := range []struct {
		op     arp.Operation
		target net.HardwareAddr
	}{
		{arp.OperationRequest, zeroMAC},
		{arp.OperationReply, mac},
	} {
		p, err := arp.NewPacket(f.op, mac, ip, f.target, ip)
		if err != nil {
			return first, fmt.Errorf("gratuitous ARP %s: %w", f.op, err)
		}
		b, err := p.MarshalBinary()
		if err != nil {
			return first, fmt.Errorf("gratuitous ARP %s: %w", f.op, err)
		}
		if len(b) < minPayload {
			b = append(b, make([]byte, minPayload-len(b))...)
		}
		if err := a.sendto(b, unix.ETH_P_ARP, broadcastMAC); err != nil {
			if len(errs) == 1 && errors.Is(errs[0], err) {
				errs[0] = fmt.Errorf("gratuitous ARP request and reply: %w", err)
			} else {
				errs = append(errs, fmt.Errorf("gratuitous ARP %s: %w", f.op, err))
			}
			continue
		}
		if first.IsZero() {
			first = time.Now()
		}
	}
	return first, errors.Join(errs...)
}

func (a *Announcer) sendNA(ip netip.Addr, mac net.HardwareAddr) (time.Time, error) {
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, ip, allNodes)
	if err != nil {
		return time.Time{}, fmt.Errorf("neighbour advertisement: %w", err)
	}
	b := make([]byte, ipv6HeaderLen, ipv6HeaderLen+len(icmp))
	b[0] = 6 << 4                                    // version; traffic class and flow label 0
	b[4], b[5] = byte(len(icmp)>>8), byte(len(icmp)) // payload length
	b[6] = unix.IPPROTO_ICMPV6                       // next header
	b[7] = 255                                       // hop limit: neighbours drop NDP messages with any other
	src, dst := ip.As16(), allNodes.As16()
	copy(b[8:24], src[:])
	copy(b[24:40], dst[:])
	b = append(b, icmp...)
	if err := a.sendto(b, unix.ETH_P_IPV6, allNodesMAC); err != nil {
		return time.Time{}, fmt.Errorf("neighbour advertisement: %w", err)
	}
	return time.Now(), nil
}

const ipv6HeaderLen = 40

// sendto sends one frame of the given EtherType to dst; the kernel adds
// the link-layer header (source: the link's MAC).
func (a *Announcer) sendto(b []byte, ethertype uint16, dst net.HardwareAddr) error {
	sa := &unix.SockaddrLinklayer{
		Protocol: ethertype<<8 | ethertype>>8, // network byte order
		Ifindex:  a.index,
		Halen:    uint8(len(dst)),
	}
	copy(sa.Addr[:], dst)
	for {
		err := unix.Sendto(a.fd, b, 0, sa)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// Run announces ip: a round at once, then every o.Interval until o.Count
// rounds went out (defaults DefaultAnnounceCount and
// DefaultAnnounceInterval; a negative Count sends none), then, when
// o.Refresh is positive, one round every o.Refresh. The time between two
// rounds is measured from the first frame of one to the start of the next,
// so it is never shorter than the interval. Run returns when the rounds are
// done (never with a positive Refresh), when ctx ends or when the Announcer
// is closed.
//
// report, which may be nil, is called after each round with its number
// (from 1), the time its first frame went out (zero when none did) and the
// round's error. A failed round does not stop Run: the next one is sent on
// time. Calls to report come from Run's goroutine, one at a time; a slow
// report delays the next round.
func (a *Announcer) Run(ctx context.Context, ip netip.Addr, o AnnounceOptions, report func(round int, at time.Time, err error)) {
	count, interval := o.Count, o.Interval
	if count == 0 {
		count = DefaultAnnounceCount
	}
	if interval <= 0 {
		interval = DefaultAnnounceInterval
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// wait sleeps d and reports whether Run should go on.
	wait := func(d time.Duration) bool {
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		case <-a.done:
			return false
		}
	}
	last := time.Now()
	round := func(n int) bool {
		if ctx.Err() != nil {
			return false
		}
		start := time.Now()
		at, err := a.announce(ctx, ip)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return false
		}
		last = at
		if at.IsZero() {
			last = start
		}
		if report != nil {
			report(n, at, err)
		}
		return !errors.Is(err, net.ErrClosed)
	}
	n := 0
	for ; n < count; n++ {
		if n > 0 && !wait(time.Until(last.Add(interval))) {
			return
		}
		if !round(n + 1) {
			return
		}
	}
	if o.Refresh <= 0 {
		return
	}
	for {
		n++
		if !wait(time.Until(last.Add(o.Refresh))) || !round(n) {
			return
		}
	}
}

// Close stops the announcer's Run calls and releases its socket; later
// calls to Announce fail with net.ErrClosed. Closing twice is a no-op.
//
// Close returns at once: the kernel releases a packet socket only after an
// RCU grace period (7-16 ms measured), which would otherwise delay whoever
// closes the announcer on a step-down. The socket is released in the
// background; closing a socket cannot fail in a way the caller could act
// on.
func (a *Announcer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	close(a.done)
	go unix.Close(a.fd)
	return nil
}
