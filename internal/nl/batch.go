//go:build linux

package nl

import (
	"encoding/binary"
	"net/netip"
)

// Batch builds many rtnetlink requests into one buffer, with no allocation
// per message once the buffer has grown. Messages are built with Begin,
// Fixed, the Attr methods and End; Conn.Exec sends them.
type Batch struct {
	buf    []byte
	starts []int
	cur    int
	nests  []int
}

const hdrLen = 16

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.buf = b.buf[:0]
	b.starts = b.starts[:0]
	b.cur = 0
	b.nests = b.nests[:0]
}

// Len returns the number of complete messages.
func (b *Batch) Len() int { return len(b.starts) }

// Grow reserves room for about n more bytes.
func (b *Batch) Grow(n int) {
	if cap(b.buf)-len(b.buf) < n {
		nb := make([]byte, len(b.buf), len(b.buf)+n)
		copy(nb, b.buf)
		b.buf = nb
	}
}

// Begin starts a message of the given type; flags are added to
// NLM_F_REQUEST (Exec sets NLM_F_ACK where needed and the sequence numbers).
func (b *Batch) Begin(typ, flags uint16) {
	b.cur = len(b.buf)
	b.buf = append(b.buf, make([]byte, hdrLen)...)
	binary.NativeEndian.PutUint16(b.buf[b.cur+4:], typ)
	binary.NativeEndian.PutUint16(b.buf[b.cur+6:], flags|flagRequest)
}

// Fixed appends the message's fixed header (ifaddrmsg, rtmsg, ...), padded
// to 4 bytes.
func (b *Batch) Fixed(p []byte) {
	b.buf = append(b.buf, p...)
	b.pad()
}

// Attr appends one attribute.
func (b *Batch) Attr(typ uint16, data []byte) {
	b.attrHeader(typ, len(data))
	b.buf = append(b.buf, data...)
	b.pad()
}

// AttrU8 appends a uint8 attribute.
func (b *Batch) AttrU8(typ uint16, v uint8) {
	b.attrHeader(typ, 1)
	b.buf = append(b.buf, v, 0, 0, 0)
}

// AttrU16 appends a uint16 attribute in host byte order.
func (b *Batch) AttrU16(typ uint16, v uint16) {
	b.attrHeader(typ, 2)
	b.buf = binary.NativeEndian.AppendUint16(b.buf, v)
	b.buf = append(b.buf, 0, 0)
}

// AttrU32 appends a uint32 attribute in host byte order.
func (b *Batch) AttrU32(typ uint16, v uint32) {
	b.attrHeader(typ, 4)
	b.buf = binary.NativeEndian.AppendUint32(b.buf, v)
}

// AttrString appends a NUL-terminated string attribute.
func (b *Batch) AttrString(typ uint16, s string) {
	b.attrHeader(typ, len(s)+1)
	b.buf = append(b.buf, s...)
	b.buf = append(b.buf, 0)
	b.pad()
}

// AttrAddr appends an address attribute: 4 bytes for IPv4 (also for
// IPv4-mapped IPv6), 16 for IPv6.
func (b *Batch) AttrAddr(typ uint16, a netip.Addr) {
	a = a.Unmap()
	if a.Is4() {
		v := a.As4()
		b.Attr(typ, v[:])
		return
	}
	v := a.As16()
	b.Attr(typ, v[:])
}

// NestBegin opens a nested attribute; close it with NestEnd.
func (b *Batch) NestBegin(typ uint16) {
	b.nests = append(b.nests, len(b.buf))
	b.attrHeader(typ, 0)
}

// NestEnd closes the innermost nested attribute.
func (b *Batch) NestEnd() {
	at := b.nests[len(b.nests)-1]
	b.nests = b.nests[:len(b.nests)-1]
	binary.NativeEndian.PutUint16(b.buf[at:], uint16(len(b.buf)-at))
}

// Mark returns the current write offset; Patch writes into bytes already
// appended (used for fixed fields known only later, e.g. rtnexthop length).
func (b *Batch) Mark() int { return len(b.buf) }

// PatchU16 overwrites a uint16 at off.
func (b *Batch) PatchU16(off int, v uint16) { binary.NativeEndian.PutUint16(b.buf[off:], v) }

// End completes the current message.
func (b *Batch) End() {
	binary.NativeEndian.PutUint32(b.buf[b.cur:], uint32(len(b.buf)-b.cur))
	b.starts = append(b.starts, b.cur)
}

func (b *Batch) attrHeader(typ uint16, n int) {
	b.buf = binary.NativeEndian.AppendUint16(b.buf, uint16(4+n))
	b.buf = binary.NativeEndian.AppendUint16(b.buf, typ)
}

func (b *Batch) pad() {
	for len(b.buf)%4 != 0 {
		b.buf = append(b.buf, 0)
	}
}

// msg returns message i.
func (b *Batch) msg(i int) []byte {
	end := len(b.buf)
	if i+1 < len(b.starts) {
		end = b.starts[i+1]
	}
	return b.buf[b.starts[i]:end]
}

// Attrs calls fn for each attribute in p (the bytes after a fixed header or
// the payload of a nested attribute). It stops at the first malformed
// attribute or when fn returns false.
func Attrs(p []byte, fn func(typ uint16, val []byte) bool) {
	for len(p) >= 4 {
		l := int(binary.NativeEndian.Uint16(p))
		if l < 4 || l > len(p) {
			return
		}
		typ := binary.NativeEndian.Uint16(p[2:]) & 0x3fff // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
		if !fn(typ, p[4:l]) {
			return
		}
		al := (l + 3) &^ 3
		if al > len(p) {
			return
		}
		p = p[al:]
	}
}

// U32 decodes a host-order uint32 attribute value (0 when short).
func U32(v []byte) uint32 {
	if len(v) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(v)
}

// U16 decodes a host-order uint16 attribute value (0 when short).
func U16(v []byte) uint16 {
	if len(v) < 2 {
		return 0
	}
	return binary.NativeEndian.Uint16(v)
}

// Addr decodes a 4- or 16-byte address attribute value.
func Addr(v []byte) (netip.Addr, bool) {
	return netip.AddrFromSlice(v)
}

// String decodes a NUL-terminated string attribute value.
func String(v []byte) string {
	for i, c := range v {
		if c == 0 {
			return string(v[:i])
		}
	}
	return string(v)
}
