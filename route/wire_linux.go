package route

import (
	"context"
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/internal/nl"
)

// links maps interface indexes to names and back, from one link dump.
type links struct {
	byIndex map[int32]string
	byName  map[string]int32
}

func (l *links) name(i int32) string {
	if i == 0 {
		return ""
	}
	return l.byIndex[i]
}

// dumpLinks reads the names and indexes of all links with one dump.
func dumpLinks(ctx context.Context, c *nl.Conn) (links, error) {
	l := links{byIndex: map[int32]string{}, byName: map[string]int32{}}
	req := make([]byte, unix.SizeofIfInfomsg)
	err := c.Dump(ctx, unix.RTM_GETLINK, req, func() {
		clear(l.byIndex)
		clear(l.byName)
	}, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWLINK || len(data) < unix.SizeofIfInfomsg {
			return nil
		}
		idx := int32(binary.NativeEndian.Uint32(data[4:]))
		nl.Attrs(data[unix.SizeofIfInfomsg:], func(t uint16, v []byte) bool {
			if t == unix.IFLA_IFNAME {
				n := nl.String(v)
				l.byIndex[idx] = n
				l.byName[n] = idx
				return false
			}
			return true
		})
		return nil
	})
	return l, err
}

// dumpRoutes reads every route of every table and both families with one
// RTM_GETROUTE dump, skipping cached (cloned) routes. opaque marks routes
// a Spec cannot express, which Plan must not touch.
func dumpRoutes(ctx context.Context, c *nl.Conn, l *links) (routes []Status, opaque []bool, err error) {
	// Routes are parsed into blocks of growing size and copied once into a
	// slice of the exact length: appending to one slice would allocate
	// several times the final size for big tables.
	var (
		blocks [][]Status
		cur    = make([]Status, 0, 64)
		total  int
	)
	req := make([]byte, unix.SizeofRtMsg)
	err = c.Dump(ctx, unix.RTM_GETROUTE, req, func() {
		blocks, cur, total, opaque = nil, cur[:0], 0, opaque[:0]
	}, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWROUTE {
			return nil
		}
		if len(cur) == cap(cur) {
			blocks = append(blocks, cur)
			cur = make([]Status, 0, min(2*cap(cur), 4096))
		}
		cur = append(cur, Status{})
		ok, op := parseRoute(data, l.name, &cur[len(cur)-1])
		if !ok {
			cur = cur[:len(cur)-1]
			return nil
		}
		total++
		opaque = append(opaque, op)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if blocks == nil {
		return cur, opaque, nil
	}
	routes = make([]Status, 0, total)
	for _, b := range blocks {
		routes = append(routes, b...)
	}
	return append(routes, cur...), opaque, nil
}

// parseRoute decodes one RTM_NEWROUTE or RTM_DELROUTE message into st,
// naming interface indexes with name. ok is false for messages that are
// not IPv4/IPv6 routing table entries (cache entries, multicast routing,
// MPLS). opaque is set for routes with a source prefix.
func parseRoute(data []byte, name func(int32) string, st *Status) (ok, opaque bool) {
	if len(data) < unix.SizeofRtMsg {
		return false, false
	}
	fam, dstLen, srcLen := data[0], data[1], data[2]
	flags := binary.NativeEndian.Uint32(data[8:])
	if (fam != afInet && fam != afInet6) || flags&unix.RTM_F_CLONED != 0 {
		return false, false
	}
	st.Family = familyFromKernel(fam)
	st.TOS = data[3]
	st.Table = uint32(data[4])
	st.Protocol = Protocol(data[5])
	st.Scope = scopeFromKernel(data[6])
	st.Type = typeFromKernel(data[7])
	st.Flags = Flags(flags & 0xff)
	st.OnLink = flags&unix.RTNH_F_ONLINK != 0
	st.Flags &^= FlagOnLink
	var dst, src netip.Addr
	nl.Attrs(data[unix.SizeofRtMsg:], func(t uint16, v []byte) bool {
		switch t {
		case unix.RTA_DST:
			dst, _ = nl.Addr(v)
		case unix.RTA_SRC:
			src, _ = nl.Addr(v)
		case unix.RTA_OIF:
			st.LinkIndex = int(int32(nl.U32(v)))
		case unix.RTA_GATEWAY:
			st.Gateway, _ = nl.Addr(v)
		case unix.RTA_VIA:
			st.Gateway = parseVia(v)
		case unix.RTA_PRIORITY:
			st.Metric = nl.U32(v)
		case unix.RTA_PREFSRC:
			st.Source, _ = nl.Addr(v)
		case unix.RTA_TABLE:
			st.Table = nl.U32(v)
		case unix.RTA_METRICS:
			nl.Attrs(v, func(mt uint16, mv []byte) bool {
				if mt == unix.RTAX_MTU {
					st.MTU = nl.U32(mv)
				}
				return true
			})
		case unix.RTA_MULTIPATH:
			st.NextHops = parseHops(v, name, &st.Flags)
		}
		return true
	})
	if !dst.IsValid() {
		if fam == afInet6 {
			dst = netip.IPv6Unspecified()
		} else {
			dst = netip.IPv4Unspecified()
		}
	}
	st.Destination = netip.PrefixFrom(dst, int(dstLen))
	if srcLen != 0 && src.IsValid() {
		st.From = netip.PrefixFrom(src, int(srcLen))
	}
	if st.Type.reject() {
		st.LinkIndex = 0
	}
	st.Link = name(int32(st.LinkIndex))
	return true, srcLen != 0
}

// parseVia decodes struct rtvia: a 16-bit family and the address.
func parseVia(v []byte) netip.Addr {
	if len(v) < 2 {
		return netip.Addr{}
	}
	a, _ := nl.Addr(v[2:])
	return a
}

// parseHops decodes RTA_MULTIPATH: rtnexthop structs, each followed by its
// attributes. Hop flags other than onlink are added to flags.
func parseHops(v []byte, name func(int32) string, flags *Flags) []NextHop {
	hops := make([]NextHop, 0, 2)
	for len(v) >= unix.SizeofRtNexthop {
		hl := int(binary.NativeEndian.Uint16(v))
		if hl < unix.SizeofRtNexthop || hl > len(v) {
			break
		}
		hf := v[2]
		h := NextHop{
			Weight: int(v[3]) + 1,
			OnLink: hf&unix.RTNH_F_ONLINK != 0,
			Link:   name(int32(binary.NativeEndian.Uint32(v[4:]))),
		}
		*flags |= Flags(hf) &^ FlagOnLink
		nl.Attrs(v[unix.SizeofRtNexthop:hl], func(t uint16, av []byte) bool {
			switch t {
			case unix.RTA_GATEWAY:
				h.Gateway, _ = nl.Addr(av)
			case unix.RTA_VIA:
				h.Gateway = parseVia(av)
			}
			return true
		})
		hops = append(hops, h)
		al := (hl + 3) &^ 3
		if al > len(v) {
			break
		}
		v = v[al:]
	}
	return hops
}

// rtmsg builds the fixed header of a route message.
func rtmsg(fam, dstLen, tos uint8, table uint32, proto, scope, typ uint8, flags uint32) [unix.SizeofRtMsg]byte {
	var m [unix.SizeofRtMsg]byte
	m[0], m[1], m[3] = fam, dstLen, tos
	if table < 256 {
		m[4] = uint8(table)
	} else {
		m[4] = uint8(tableCompat)
	}
	m[5], m[6], m[7] = proto, scope, typ
	binary.NativeEndian.PutUint32(m[8:], flags)
	return m
}

// encodeRoute appends an RTM_NEWROUTE for s (validated, normalized, with
// resolvable links) with protocol proto.
func encodeRoute(b *nl.Batch, flags uint16, s *Spec, l *links, proto uint8) {
	v4 := s.Destination.Addr().Is4()
	fam := uint8(afInet6)
	if v4 {
		fam = afInet
	}
	scope, _ := s.Scope.kernel()
	var rtf uint32
	if s.OnLink {
		rtf = unix.RTNH_F_ONLINK
	}
	b.Begin(unix.RTM_NEWROUTE, flags)
	m := rtmsg(fam, uint8(s.Destination.Bits()), s.TOS, s.Table, proto, scope, s.Type.kernel(), rtf)
	b.Fixed(m[:])
	b.AttrU32(unix.RTA_TABLE, s.Table)
	if s.Destination.Bits() > 0 {
		b.AttrAddr(unix.RTA_DST, s.Destination.Addr())
	}
	if s.Metric != 0 {
		b.AttrU32(unix.RTA_PRIORITY, s.Metric)
	}
	if s.Link != "" {
		b.AttrU32(unix.RTA_OIF, uint32(l.byName[s.Link]))
	}
	if s.Gateway.IsValid() {
		encodeGateway(b, v4, s.Gateway)
	}
	if s.Source.IsValid() {
		b.AttrAddr(unix.RTA_PREFSRC, s.Source)
	}
	if s.MTU != 0 {
		b.NestBegin(unix.RTA_METRICS)
		b.AttrU32(unix.RTAX_MTU, s.MTU)
		b.NestEnd()
	}
	if len(s.NextHops) > 0 {
		b.NestBegin(unix.RTA_MULTIPATH)
		for i := range s.NextHops {
			h := &s.NextHops[i]
			at := b.Mark()
			var rtnh [unix.SizeofRtNexthop]byte
			if h.OnLink {
				rtnh[2] = unix.RTNH_F_ONLINK
			}
			w := h.Weight
			if w == 0 {
				w = 1
			}
			rtnh[3] = uint8(w - 1)
			if h.Link != "" {
				binary.NativeEndian.PutUint32(rtnh[4:], uint32(l.byName[h.Link]))
			}
			b.Fixed(rtnh[:])
			if h.Gateway.IsValid() {
				encodeGateway(b, v4, h.Gateway)
			}
			b.PatchU16(at, uint16(b.Mark()-at))
		}
		b.NestEnd()
	}
	b.End()
}

// encodeGateway appends RTA_GATEWAY, or RTA_VIA for an IPv6 gateway of an
// IPv4 route (RFC 8950).
func encodeGateway(b *nl.Batch, dst4 bool, gw netip.Addr) {
	if dst4 && gw.Is6() {
		var via [18]byte
		binary.NativeEndian.PutUint16(via[:], afInet6)
		a := gw.As16()
		copy(via[2:], a[:])
		b.Attr(unix.RTA_VIA, via[:])
		return
	}
	b.AttrAddr(unix.RTA_GATEWAY, gw)
}

// encodeDelete appends an RTM_DELROUTE that matches exactly the kernel
// route h: key, type and protocol, and for a single path its gateway and
// link.
func encodeDelete(b *nl.Batch, h *Status) {
	v4 := h.Destination.Addr().Is4()
	fam := uint8(afInet6)
	if v4 {
		fam = afInet
	}
	b.Begin(unix.RTM_DELROUTE, 0)
	m := rtmsg(fam, uint8(h.Destination.Bits()), h.TOS, h.Table, uint8(h.Protocol), rtScopeNowhere, h.Type.kernel(), 0)
	b.Fixed(m[:])
	b.AttrU32(unix.RTA_TABLE, h.Table)
	if h.Destination.Bits() > 0 {
		b.AttrAddr(unix.RTA_DST, h.Destination.Addr())
	}
	if h.Metric != 0 {
		b.AttrU32(unix.RTA_PRIORITY, h.Metric)
	}
	if len(h.NextHops) == 0 {
		if h.LinkIndex != 0 {
			b.AttrU32(unix.RTA_OIF, uint32(h.LinkIndex))
		}
		if h.Gateway.IsValid() {
			encodeGateway(b, v4, h.Gateway)
		}
	}
	b.End()
}
