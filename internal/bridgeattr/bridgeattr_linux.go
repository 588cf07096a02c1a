package bridgeattr

import (
	"context"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/internal/nl"
)

// Attributes of the AF_BRIDGE IFLA_AF_SPEC nest and flags of struct
// bridge_vlan_info (include/uapi/linux/if_bridge.h); x/sys/unix lacks
// them.
const (
	iflaBridgeFlags    = 0
	iflaBridgeVLANInfo = 2

	bridgeFlagsMaster = 1

	VLANInfoMaster     = 0x1
	VLANInfoPVID       = 0x2
	VLANInfoUntagged   = 0x4
	VLANInfoRangeBegin = 0x8
	VLANInfoRangeEnd   = 0x10
	VLANInfoBrEntry    = 0x20

	rtextFilterBRVLAN = 0x2
	ifinfomsgLen      = 16
	iffUp             = 0x1
)

// Port STP states (BR_STATE_*).
var portStates = [...]string{0: "disabled", 1: "listening", 2: "learning", 3: "forwarding", 4: "blocking"}

// PortStateName names a port STP state as "ip -d link" does.
func PortStateName(s uint8) string {
	if int(s) < len(portStates) {
		return portStates[s]
	}
	return fmt.Sprintf("state %d", s)
}

// ID is a bridge identifier: priority and address.
type ID struct {
	Priority uint16
	Addr     [6]byte
}

// String renders the id as "PRIO.ADDR", e.g. "8000.02:00:00:00:00:01".
func (id ID) String() string {
	a := id.Addr
	return fmt.Sprintf("%04x.%02x:%02x:%02x:%02x:%02x:%02x", id.Priority, a[0], a[1], a[2], a[3], a[4], a[5])
}

// Bridge holds the IFLA_BR_* attributes of a bridge. Times are in
// centiseconds (USER_HZ), as the kernel reports them.
type Bridge struct {
	ForwardDelay, HelloTime, MaxAge, AgeingTime uint32
	STPState                                    uint32
	Priority                                    uint16
	VLANFiltering                               bool
	VLANProtocol                                uint16
	DefaultPVID                                 uint16
	MulticastSnooping                           bool
	BridgeID, RootID                            ID
	RootPort                                    uint16
	RootPathCost                                uint32
	TopologyChange                              bool
	// VLANSupport is set when the kernel reports VLAN filtering
	// attributes (it is built with CONFIG_BRIDGE_VLAN_FILTERING).
	VLANSupport bool
}

// Port holds the IFLA_BRPORT_* attributes of a bridge port.
type Port struct {
	State      uint8
	Priority   uint16
	Cost       uint32
	DesigRoot  ID
	DesigBrdge ID
}

// Link is one link of the AF_UNSPEC dump, with bridge or bridge port
// attributes when it is one.
type Link struct {
	Index  int
	Name   string
	Kind   string
	Master int
	MTU    int
	Up     bool
	Bridge *Bridge // kind bridge
	Port   *Port   // a port of a bridge
}

// VLAN is one bridge_vlan_info entry: a VLAN id and its VLANInfo* flags.
type VLAN struct {
	VID   uint16
	Flags uint16
}

// Dump lists the links of c's namespace with one RTM_GETLINK dump.
func Dump(ctx context.Context, c *nl.Conn) ([]Link, error) {
	req := make([]byte, ifinfomsgLen)
	req[0] = unix.AF_UNSPEC
	var out []Link
	err := c.Dump(ctx, unix.RTM_GETLINK, req, func() { out = out[:0] }, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWLINK {
			return nil
		}
		if l, ok := ParseLink(data); ok {
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ParseLink decodes an RTM_NEWLINK payload (ifinfomsg and attributes).
func ParseLink(data []byte) (Link, bool) {
	if len(data) < ifinfomsgLen {
		return Link{}, false
	}
	l := Link{
		Index: int(int32(binary.NativeEndian.Uint32(data[4:]))),
		Up:    binary.NativeEndian.Uint32(data[8:])&iffUp != 0,
	}
	var slaveKind string
	var slaveData, infoData []byte
	nl.Attrs(data[ifinfomsgLen:], func(typ uint16, val []byte) bool {
		switch typ {
		case unix.IFLA_IFNAME:
			l.Name = nl.String(val)
		case unix.IFLA_MTU:
			l.MTU = int(nl.U32(val))
		case unix.IFLA_MASTER:
			l.Master = int(nl.U32(val))
		case unix.IFLA_LINKINFO:
			nl.Attrs(val, func(typ uint16, val []byte) bool {
				switch typ {
				case unix.IFLA_INFO_KIND:
					l.Kind = nl.String(val)
				case unix.IFLA_INFO_DATA:
					infoData = val
				case unix.IFLA_INFO_SLAVE_KIND:
					slaveKind = nl.String(val)
				case unix.IFLA_INFO_SLAVE_DATA:
					slaveData = val
				}
				return true
			})
		}
		return true
	})
	if l.Kind == "bridge" {
		l.Bridge = parseBridge(infoData)
	}
	if slaveKind == "bridge" {
		l.Port = parsePort(slaveData)
	}
	return l, true
}

func u8(v []byte) uint8 {
	if len(v) < 1 {
		return 0
	}
	return v[0]
}

func parseID(v []byte) ID {
	var id ID
	if len(v) >= 8 {
		id.Priority = binary.BigEndian.Uint16(v)
		copy(id.Addr[:], v[2:8])
	}
	return id
}

func parseBridge(data []byte) *Bridge {
	b := &Bridge{}
	nl.Attrs(data, func(typ uint16, v []byte) bool {
		switch typ {
		case unix.IFLA_BR_FORWARD_DELAY:
			b.ForwardDelay = nl.U32(v)
		case unix.IFLA_BR_HELLO_TIME:
			b.HelloTime = nl.U32(v)
		case unix.IFLA_BR_MAX_AGE:
			b.MaxAge = nl.U32(v)
		case unix.IFLA_BR_AGEING_TIME:
			b.AgeingTime = nl.U32(v)
		case unix.IFLA_BR_STP_STATE:
			b.STPState = nl.U32(v)
		case unix.IFLA_BR_PRIORITY:
			b.Priority = nl.U16(v)
		case unix.IFLA_BR_VLAN_FILTERING:
			b.VLANFiltering = u8(v) != 0
		case unix.IFLA_BR_VLAN_PROTOCOL:
			if len(v) >= 2 {
				b.VLANProtocol = binary.BigEndian.Uint16(v)
			}
			// Reported only by kernels with VLAN filtering (unlike
			// IFLA_BR_VLAN_FILTERING, which every kernel reports).
			b.VLANSupport = true
		case unix.IFLA_BR_VLAN_DEFAULT_PVID:
			b.DefaultPVID = nl.U16(v)
		case unix.IFLA_BR_MCAST_SNOOPING:
			b.MulticastSnooping = u8(v) != 0
		case unix.IFLA_BR_BRIDGE_ID:
			b.BridgeID = parseID(v)
		case unix.IFLA_BR_ROOT_ID:
			b.RootID = parseID(v)
		case unix.IFLA_BR_ROOT_PORT:
			b.RootPort = nl.U16(v)
		case unix.IFLA_BR_ROOT_PATH_COST:
			b.RootPathCost = nl.U32(v)
		case unix.IFLA_BR_TOPOLOGY_CHANGE:
			b.TopologyChange = u8(v) != 0
		}
		return true
	})
	return b
}

func parsePort(data []byte) *Port {
	p := &Port{}
	nl.Attrs(data, func(typ uint16, v []byte) bool {
		switch typ {
		case unix.IFLA_BRPORT_STATE:
			p.State = u8(v)
		case unix.IFLA_BRPORT_PRIORITY:
			p.Priority = nl.U16(v)
		case unix.IFLA_BRPORT_COST:
			p.Cost = nl.U32(v)
		case unix.IFLA_BRPORT_ROOT_ID:
			p.DesigRoot = parseID(v)
		case unix.IFLA_BRPORT_BRIDGE_ID:
			p.DesigBrdge = parseID(v)
		}
		return true
	})
	return p
}

// DumpVLANs returns the VLANs of every bridge port (and of bridges
// themselves), by interface index, from one AF_BRIDGE RTM_GETLINK dump
// with RTEXT_FILTER_BRVLAN: one entry per VLAN id, in the order the
// kernel reports them.
func DumpVLANs(ctx context.Context, c *nl.Conn) (map[int][]VLAN, error) {
	req := ifinfomsg(unix.AF_BRIDGE, 0)
	req = binary.NativeEndian.AppendUint16(req, 8)
	req = binary.NativeEndian.AppendUint16(req, unix.IFLA_EXT_MASK)
	req = binary.NativeEndian.AppendUint32(req, rtextFilterBRVLAN)
	out := make(map[int][]VLAN)
	err := c.Dump(ctx, unix.RTM_GETLINK, req, func() { clear(out) }, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWLINK || len(data) < ifinfomsgLen {
			return nil
		}
		index := int(int32(binary.NativeEndian.Uint32(data[4:])))
		nl.Attrs(data[ifinfomsgLen:], func(typ uint16, val []byte) bool {
			if typ != unix.IFLA_AF_SPEC {
				return true
			}
			vs := parseVLANs(val)
			if vs != nil {
				out[index] = append(out[index], vs...)
			}
			return true
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseVLANs decodes the IFLA_BRIDGE_VLAN_INFO entries of an
// IFLA_AF_SPEC nest, expanding ranges.
func parseVLANs(spec []byte) []VLAN {
	var out []VLAN
	var begin *VLAN
	nl.Attrs(spec, func(typ uint16, v []byte) bool {
		if typ != iflaBridgeVLANInfo || len(v) < 4 {
			return true
		}
		e := VLAN{Flags: binary.NativeEndian.Uint16(v), VID: binary.NativeEndian.Uint16(v[2:])}
		switch {
		case e.Flags&VLANInfoRangeBegin != 0:
			begin = &e
		case e.Flags&VLANInfoRangeEnd != 0 && begin != nil:
			fl := begin.Flags &^ (VLANInfoRangeBegin | VLANInfoRangeEnd)
			for vid := begin.VID; vid <= e.VID && vid != 0; vid++ {
				out = append(out, VLAN{VID: vid, Flags: fl})
			}
			begin = nil
		default:
			out = append(out, e)
		}
		return true
	})
	return out
}

func ifinfomsg(family uint8, index int) []byte {
	m := make([]byte, ifinfomsgLen)
	m[0] = family
	binary.NativeEndian.PutUint32(m[4:], uint32(int32(index)))
	return m
}

// Settings are the bridge attributes SetBridge writes; nil fields are not
// sent. Times are in centiseconds.
type Settings struct {
	MTU                                         *uint32
	ForwardDelay, HelloTime, MaxAge, AgeingTime *uint32
	STPState                                    *uint32
	Priority                                    *uint16
	VLANFiltering                               *bool
	DefaultPVID                                 *uint16
	MulticastSnooping                           *bool
}

// SetBridge appends to b one RTM_NEWLINK request that changes the given
// attributes of the existing bridge index in place.
func SetBridge(b *nl.Batch, index int, s Settings) {
	b.Begin(unix.RTM_NEWLINK, 0)
	b.Fixed(ifinfomsg(unix.AF_UNSPEC, index))
	if s.MTU != nil {
		b.AttrU32(unix.IFLA_MTU, *s.MTU)
	}
	b.NestBegin(unix.IFLA_LINKINFO)
	b.AttrString(unix.IFLA_INFO_KIND, "bridge")
	b.NestBegin(unix.IFLA_INFO_DATA)
	// The kernel applies them in its own order (br_changelink): timers,
	// then the STP state, the priority, VLAN filtering, the default PVID.
	u32 := func(typ uint16, v *uint32) {
		if v != nil {
			b.AttrU32(typ, *v)
		}
	}
	u32(unix.IFLA_BR_FORWARD_DELAY, s.ForwardDelay)
	u32(unix.IFLA_BR_HELLO_TIME, s.HelloTime)
	u32(unix.IFLA_BR_MAX_AGE, s.MaxAge)
	u32(unix.IFLA_BR_AGEING_TIME, s.AgeingTime)
	u32(unix.IFLA_BR_STP_STATE, s.STPState)
	if s.Priority != nil {
		b.AttrU16(unix.IFLA_BR_PRIORITY, *s.Priority)
	}
	if s.VLANFiltering != nil {
		b.AttrU8(unix.IFLA_BR_VLAN_FILTERING, boolByte(*s.VLANFiltering))
	}
	if s.DefaultPVID != nil {
		b.AttrU16(unix.IFLA_BR_VLAN_DEFAULT_PVID, *s.DefaultPVID)
	}
	if s.MulticastSnooping != nil {
		b.AttrU8(unix.IFLA_BR_MCAST_SNOOPING, boolByte(*s.MulticastSnooping))
	}
	b.NestEnd()
	b.NestEnd()
	b.End()
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// AddVLAN appends one RTM_SETLINK AF_BRIDGE request that adds VLANs
// vid..end (end 0: vid alone) with flags (VLANInfoPVID, VLANInfoUntagged)
// to the bridge port index, or changes their flags when present.
func AddVLAN(b *nl.Batch, port int, vid, end, flags uint16) {
	vlanRequest(b, unix.RTM_SETLINK, port, vid, end, flags)
}

// DelVLAN appends one RTM_DELLINK AF_BRIDGE request that removes VLANs
// vid..end (end 0: vid alone) from the bridge port index.
func DelVLAN(b *nl.Batch, port int, vid, end uint16) {
	vlanRequest(b, unix.RTM_DELLINK, port, vid, end, 0)
}

func vlanRequest(b *nl.Batch, typ uint16, port int, vid, end, flags uint16) {
	b.Begin(typ, 0)
	b.Fixed(ifinfomsg(unix.AF_BRIDGE, port))
	b.NestBegin(unix.IFLA_AF_SPEC)
	b.AttrU16(iflaBridgeFlags, bridgeFlagsMaster)
	info := func(fl, v uint16) {
		var p [4]byte
		binary.NativeEndian.PutUint16(p[:], fl)
		binary.NativeEndian.PutUint16(p[2:], v)
		b.Attr(iflaBridgeVLANInfo, p[:])
	}
	if end == 0 || end == vid {
		info(flags, vid)
	} else {
		info(flags|VLANInfoRangeBegin, vid)
		info(flags|VLANInfoRangeEnd, end)
	}
	b.NestEnd()
	b.End()
}
