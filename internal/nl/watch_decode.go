//go:build linux

package nl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// ifinfomsgLen is the size of the fixed header of a link message.
const ifinfomsgLen = 16

// linkMsg is what Watch needs from an RTM_NEWLINK/RTM_DELLINK message.
type linkMsg struct {
	family uint8
	index  int32
	flags  uint32
	name   string
}

// decodeLink decodes an ifinfomsg and its IFLA_IFNAME.
func decodeLink(data []byte) (linkMsg, bool) {
	if len(data) < ifinfomsgLen {
		return linkMsg{}, false
	}
	l := linkMsg{
		family: data[0],
		index:  int32(binary.NativeEndian.Uint32(data[4:])),
		flags:  binary.NativeEndian.Uint32(data[8:]),
	}
	Attrs(data[ifinfomsgLen:], func(typ uint16, v []byte) bool {
		if typ == unix.IFLA_IFNAME {
			l.name = String(v)
			return false
		}
		return true
	})
	return l, true
}
