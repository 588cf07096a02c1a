package link

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/internal/nl"
)

// The kernel backend sends creations in batches (see batcher): vishvananda's
// Handle sends one request per call and looks every new link up again by
// name, which costs as much user time as the kernel spends creating it.

const vethInfoPeer = 1 // VETH_INFO_PEER

func (k *kernel) encodable(l netlink.Link) bool {
	switch v := l.(type) {
	case *netlink.Veth:
		_, fd := v.PeerNamespace.(netlink.NsFd)
		return v.PeerNamespace == nil || fd
	case *netlink.GenericLink, *netlink.Vrf:
		return true
	case *netlink.Macvlan:
		return v.BCQueueLen == 0 && len(v.MACAddrs) == 0
	}
	return false
}

// macvlanModeValue is the kernel's value of a vishvananda macvlan mode.
func macvlanModeValue(m netlink.MacvlanMode) uint32 {
	return macvlanModeValues[macvlanModeName(m)]
}

// encodeAdd appends the RTM_NEWLINK request that creates l.
func encodeAdd(b *nl.Batch, l netlink.Link) {
	a := l.Attrs()
	b.Begin(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	var m [unix.SizeofIfInfomsg]byte
	if a.Flags&net.FlagUp != 0 {
		binary.NativeEndian.PutUint32(m[8:], unix.IFF_UP)  // ifi_flags
		binary.NativeEndian.PutUint32(m[12:], unix.IFF_UP) // ifi_change
	}
	b.Fixed(m[:])
	b.AttrString(unix.IFLA_IFNAME, a.Name)
	if a.MTU > 0 {
		b.AttrU32(unix.IFLA_MTU, uint32(a.MTU))
	}
	if a.TxQLen >= 0 {
		b.AttrU32(unix.IFLA_TXQLEN, uint32(a.TxQLen))
	}
	if a.HardwareAddr != nil {
		b.Attr(unix.IFLA_ADDRESS, a.HardwareAddr)
	}
	if a.ParentIndex != 0 {
		b.AttrU32(unix.IFLA_LINK, uint32(a.ParentIndex))
	}
	b.NestBegin(unix.IFLA_LINKINFO)
	b.AttrString(unix.IFLA_INFO_KIND, l.Type())
	switch v := l.(type) {
	case *netlink.Veth:
		b.NestBegin(unix.IFLA_INFO_DATA)
		b.NestBegin(vethInfoPeer)
		var pm [unix.SizeofIfInfomsg]byte
		b.Fixed(pm[:])
		b.AttrString(unix.IFLA_IFNAME, v.PeerName)
		switch {
		case v.PeerTxQLen >= 0:
			b.AttrU32(unix.IFLA_TXQLEN, uint32(v.PeerTxQLen))
		case a.TxQLen >= 0:
			b.AttrU32(unix.IFLA_TXQLEN, uint32(a.TxQLen))
		}
		switch {
		case v.PeerMTU > 0:
			b.AttrU32(unix.IFLA_MTU, v.PeerMTU)
		case a.MTU > 0:
			b.AttrU32(unix.IFLA_MTU, uint32(a.MTU))
		}
		if v.PeerHardwareAddr != nil {
			b.Attr(unix.IFLA_ADDRESS, v.PeerHardwareAddr)
		}
		if fd, ok := v.PeerNamespace.(netlink.NsFd); ok {
			b.AttrU32(unix.IFLA_NET_NS_FD, uint32(fd))
		}
		b.NestEnd()
		b.NestEnd()
	case *netlink.Macvlan:
		if v.Mode != netlink.MACVLAN_MODE_DEFAULT {
			b.NestBegin(unix.IFLA_INFO_DATA)
			b.AttrU32(unix.IFLA_MACVLAN_MODE, macvlanModeValue(v.Mode))
			b.NestEnd()
		}
	case *netlink.Vrf:
		b.NestBegin(unix.IFLA_INFO_DATA)
		b.AttrU32(unix.IFLA_VRF_TABLE, v.Table)
		b.NestEnd()
	}
	b.NestEnd()
	b.End()
}

func (k *kernel) addMany(links []netlink.Link) []error {
	var b nl.Batch
	b.Grow(256 * len(links))
	for _, l := range links {
		encodeAdd(&b, l)
	}
	errs := k.execMany(&b, len(links))
	for i, err := range errs {
		// The exchange failed after the request may have been made:
		// the link exists now only if the kernel made it.
		if errors.Is(err, nl.ErrUnknownResult) {
			if _, errGet := k.h.LinkByName(links[i].Attrs().Name); errGet == nil {
				errs[i] = nil
			}
		}
	}
	return errs
}

func (k *kernel) markMany(names, markers []string) []error {
	var b nl.Batch
	b.Grow(96 * len(names))
	for i, name := range names {
		b.Begin(unix.RTM_NEWLINKPROP, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_APPEND)
		var m [unix.SizeofIfInfomsg]byte
		b.Fixed(m[:])
		b.AttrString(unix.IFLA_IFNAME, name)
		b.NestBegin(unix.IFLA_PROP_LIST | unix.NLA_F_NESTED)
		b.AttrString(unix.IFLA_ALT_IFNAME, markers[i])
		b.NestEnd()
		b.End()
	}
	errs := k.execMany(&b, len(names))
	for i, err := range errs {
		if errors.Is(err, nl.ErrUnknownResult) {
			if l, errGet := k.h.LinkByName(names[i]); errGet == nil && slices.Contains(l.Attrs().AltNames, markers[i]) {
				errs[i] = nil
			}
		}
	}
	return errs
}

// execMany sends the n requests of b (never interrupted by a
// cancellation: see create) and returns one error per request.
func (k *kernel) execMany(b *nl.Batch, n int) []error {
	c, err := k.conn()
	if err != nil {
		errs := make([]error, n)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	errs, _ := c.Exec(context.Background(), b)
	return errs
}
