//go:build linux

package nl

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sizes of the fixed headers of rtnetlink messages.
const (
	ifinfomsgLen  = 16
	ifaddrmsgLen  = 8
	rtmsgLen      = 12
	fibRuleHdrLen = 12
	rtnexthopLen  = 8
)

// Attribute numbers missing from x/sys/unix.
const (
	fraL3mdev = 19 // FRA_L3MDEV
	rtaNHID   = 30 // RTA_NH_ID
	allMask   = 0xffffffff
)

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

// renderAddr renders an ifaddrmsg as ip-address(8) names it:
// "192.0.2.10/24 dev veth0", or "192.0.2.10 peer 192.0.2.1/32 dev veth0"
// for a point-to-point address.
func renderAddr(data []byte, name func(int32) string) (family uint8, obj string, ok bool) {
	if len(data) < ifaddrmsgLen {
		return 0, "", false
	}
	family, plen := data[0], int(data[1])
	index := int32(binary.NativeEndian.Uint32(data[4:]))
	var local, address netip.Addr
	Attrs(data[ifaddrmsgLen:], func(typ uint16, v []byte) bool {
		switch typ {
		case unix.IFA_LOCAL:
			local, _ = Addr(v)
		case unix.IFA_ADDRESS:
			address, _ = Addr(v)
		}
		return true
	})
	a := local
	if !a.IsValid() {
		a = address
	}
	if !a.IsValid() {
		return 0, "", false
	}
	var b strings.Builder
	if local.IsValid() && address.IsValid() && local != address {
		b.WriteString(local.String())
		b.WriteString(" peer ")
		b.WriteString(netip.PrefixFrom(address, plen).String())
	} else {
		b.WriteString(netip.PrefixFrom(a, plen).String())
	}
	if dev := name(index); dev != "" {
		b.WriteString(" dev ")
		b.WriteString(dev)
	}
	return family, b.String(), true
}

// routeTypes names the route types other than unicast, as ip(8) does.
var routeTypes = map[uint8]string{
	unix.RTN_LOCAL:       "local",
	unix.RTN_BROADCAST:   "broadcast",
	unix.RTN_ANYCAST:     "anycast",
	unix.RTN_MULTICAST:   "multicast",
	unix.RTN_BLACKHOLE:   "blackhole",
	unix.RTN_UNREACHABLE: "unreachable",
	unix.RTN_PROHIBIT:    "prohibit",
	unix.RTN_THROW:       "throw",
	unix.RTN_NAT:         "nat",
	unix.RTN_XRESOLVE:    "xresolve",
}

// protoNames are the route protocol names of iproute2's rt_protos.
var protoNames = map[uint8]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated",
	9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp",
	15: "ntk", 16: "dhcp", 17: "mrouted", 18: "keepalived", 42: "babel",
	84: "ovn", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip",
	192: "eigrp",
}

// scopeNames are the route scopes other than global, as ip(8) names them.
var scopeNames = map[uint8]string{
	unix.RT_SCOPE_SITE:    "site",
	unix.RT_SCOPE_LINK:    "link",
	unix.RT_SCOPE_HOST:    "host",
	unix.RT_SCOPE_NOWHERE: "nowhere",
}

func protoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

func tableName(t uint32) string {
	switch t {
	case unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_LOCAL:
		return "local"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// renderRoute renders an rtmsg in the words of ip-route(8):
//
//	[TYPE ]DST[ from SRC][ tos 0xT][ via GW][ dev DEV][ table T] proto P[ scope S][ metric M][ src PREFSRC][ mtu M][ onlink][ nhid N][ nexthop via GW dev DEV weight W[ onlink]]...
//
// The main table and the global scope are not named; an IPv6 gateway of an
// IPv4 route reads "via inet6 GW". Cloned (cache) routes are skipped: ok is
// false for them.
func renderRoute(data []byte, name func(int32) string) (family uint8, obj string, ok bool) {
	if len(data) < rtmsgLen {
		return 0, "", false
	}
	family = data[0]
	dstLen, srcLen, tos := int(data[1]), int(data[2]), data[3]
	table := uint32(data[4])
	proto, scope, typ := data[5], data[6], data[7]
	flags := binary.NativeEndian.Uint32(data[8:])
	if flags&unix.RTM_F_CLONED != 0 {
		return 0, "", false
	}
	var (
		dst, src, gw, prefsrc netip.Addr
		oif                   int32
		metric, nhid, mtu     uint32
		multipath             []byte
	)
	Attrs(data[rtmsgLen:], func(t uint16, v []byte) bool {
		switch t {
		case unix.RTA_DST:
			dst, _ = Addr(v)
		case unix.RTA_SRC:
			src, _ = Addr(v)
		case unix.RTA_GATEWAY:
			gw, _ = Addr(v)
		case unix.RTA_VIA:
			gw = via(v)
		case unix.RTA_OIF:
			oif = int32(U32(v))
		case unix.RTA_PRIORITY:
			metric = U32(v)
		case unix.RTA_PREFSRC:
			prefsrc, _ = Addr(v)
		case unix.RTA_TABLE:
			table = U32(v)
		case unix.RTA_METRICS:
			Attrs(v, func(mt uint16, mv []byte) bool {
				if mt == unix.RTAX_MTU {
					mtu = U32(mv)
				}
				return true
			})
		case unix.RTA_MULTIPATH:
			multipath = v
		case rtaNHID:
			nhid = U32(v)
		}
		return true
	})
	if !dst.IsValid() {
		dst = zeroAddr(family)
	}
	if !dst.IsValid() {
		return 0, "", false
	}
	dst4 := family == unix.AF_INET
	var b strings.Builder
	if s, ok := routeTypes[typ]; ok {
		b.WriteString(s)
		b.WriteByte(' ')
	}
	b.WriteString(netip.PrefixFrom(dst, dstLen).String())
	if src.IsValid() {
		b.WriteString(" from ")
		b.WriteString(netip.PrefixFrom(src, srcLen).String())
	}
	if tos != 0 {
		b.WriteString(" tos 0x")
		b.WriteString(strconv.FormatUint(uint64(tos), 16))
	}
	writeHop(&b, dst4, gw, name(oif))
	if table != unix.RT_TABLE_MAIN {
		b.WriteString(" table ")
		b.WriteString(tableName(table))
	}
	b.WriteString(" proto ")
	b.WriteString(protoName(proto))
	if s, ok := scopeNames[scope]; ok {
		b.WriteString(" scope ")
		b.WriteString(s)
	} else if scope != unix.RT_SCOPE_UNIVERSE {
		b.WriteString(" scope ")
		b.WriteString(strconv.Itoa(int(scope)))
	}
	if metric != 0 {
		b.WriteString(" metric ")
		b.WriteString(strconv.FormatUint(uint64(metric), 10))
	}
	if prefsrc.IsValid() {
		b.WriteString(" src ")
		b.WriteString(prefsrc.String())
	}
	if mtu != 0 {
		b.WriteString(" mtu ")
		b.WriteString(strconv.FormatUint(uint64(mtu), 10))
	}
	if flags&unix.RTNH_F_ONLINK != 0 {
		b.WriteString(" onlink")
	}
	if nhid != 0 {
		b.WriteString(" nhid ")
		b.WriteString(strconv.FormatUint(uint64(nhid), 10))
	}
	for len(multipath) >= rtnexthopLen {
		l := int(binary.NativeEndian.Uint16(multipath))
		if l < rtnexthopLen || l > len(multipath) {
			break
		}
		hflags, weight := multipath[2], int(multipath[3])+1
		ifindex := int32(binary.NativeEndian.Uint32(multipath[4:]))
		var hgw netip.Addr
		Attrs(multipath[rtnexthopLen:l], func(t uint16, v []byte) bool {
			switch t {
			case unix.RTA_GATEWAY:
				hgw, _ = Addr(v)
			case unix.RTA_VIA:
				hgw = via(v)
			}
			return true
		})
		b.WriteString(" nexthop")
		writeHop(&b, dst4, hgw, name(ifindex))
		b.WriteString(" weight ")
		b.WriteString(strconv.Itoa(weight))
		if hflags&unix.RTNH_F_ONLINK != 0 {
			b.WriteString(" onlink")
		}
		al := (l + 3) &^ 3
		if al > len(multipath) {
			break
		}
		multipath = multipath[al:]
	}
	return family, b.String(), true
}

func writeHop(b *strings.Builder, dst4 bool, gw netip.Addr, dev string) {
	if gw.IsValid() {
		b.WriteString(" via ")
		if dst4 && gw.Is6() {
			b.WriteString("inet6 ")
		}
		b.WriteString(gw.String())
	}
	if dev != "" {
		b.WriteString(" dev ")
		b.WriteString(dev)
	}
}

// via decodes an RTA_VIA value (struct rtvia: family then address).
func via(v []byte) netip.Addr {
	if len(v) < 2 {
		return netip.Addr{}
	}
	a, _ := Addr(v[2:])
	return a
}

func zeroAddr(family uint8) netip.Addr {
	switch family {
	case unix.AF_INET:
		return netip.IPv4Unspecified()
	case unix.AF_INET6:
		return netip.IPv6Unspecified()
	}
	return netip.Addr{}
}

// ruleActions names the rule actions other than "lookup TABLE" and "goto".
var ruleActions = map[uint8]string{
	unix.FR_ACT_NOP:         "nop",
	unix.FR_ACT_BLACKHOLE:   "blackhole",
	unix.FR_ACT_UNREACHABLE: "unreachable",
	unix.FR_ACT_PROHIBIT:    "prohibit",
}

// renderRule renders a fib_rule_hdr in the words of ip-rule(8):
//
//	PRIO:[ not] from SRC|all[ to DST][ tos 0xT][ fwmark 0xM[/0xMASK]][ iif IF][ oif IF][ ipproto N][ sport A[-B]][ dport A[-B]] ACTION[ suppress_prefixlength N] proto P[ family inet6]
//
// ACTION is "lookup TABLE", "goto PRIO" or the rule type. "family inet6"
// marks an IPv6 rule without addresses, which ip(8) would show exactly like
// its IPv4 twin.
func renderRule(data []byte) (family uint8, obj string, ok bool) {
	if len(data) < fibRuleHdrLen {
		return 0, "", false
	}
	family = data[0]
	dstLen, srcLen, tos := int(data[1]), int(data[2]), data[3]
	table := uint32(data[4])
	act := data[7]
	flags := binary.NativeEndian.Uint32(data[8:])
	var (
		prio, mark, mask, gotoPrio uint32
		hasMark, hasMask, l3mdev   bool
		suppress                   = uint32(allMask)
		src, dst                   netip.Addr
		iif, oif                   string
		ipproto, proto             uint8
		sport, dport               []byte
	)
	Attrs(data[fibRuleHdrLen:], func(t uint16, v []byte) bool {
		switch t {
		case unix.FRA_PRIORITY:
			prio = U32(v)
		case unix.FRA_SRC:
			src, _ = Addr(v)
		case unix.FRA_DST:
			dst, _ = Addr(v)
		case unix.FRA_IIFNAME:
			iif = String(v)
		case unix.FRA_OIFNAME:
			oif = String(v)
		case unix.FRA_FWMARK:
			mark, hasMark = U32(v), true
		case unix.FRA_FWMASK:
			mask, hasMask = U32(v), true
		case unix.FRA_TABLE:
			table = U32(v)
		case unix.FRA_GOTO:
			gotoPrio = U32(v)
		case unix.FRA_SUPPRESS_PREFIXLEN:
			suppress = U32(v)
		case unix.FRA_PROTOCOL:
			if len(v) > 0 {
				proto = v[0]
			}
		case unix.FRA_IP_PROTO:
			if len(v) > 0 {
				ipproto = v[0]
			}
		case unix.FRA_SPORT_RANGE:
			sport = v
		case unix.FRA_DPORT_RANGE:
			dport = v
		case fraL3mdev:
			l3mdev = len(v) > 0 && v[0] != 0
		}
		return true
	})
	if !hasMask {
		mask = allMask
	}
	var b strings.Builder
	b.WriteString(strconv.FormatUint(uint64(prio), 10))
	b.WriteByte(':')
	if flags&unix.FIB_RULE_INVERT != 0 {
		b.WriteString(" not")
	}
	b.WriteString(" from ")
	if src.IsValid() {
		b.WriteString(netip.PrefixFrom(src, srcLen).String())
	} else {
		b.WriteString("all")
	}
	if dst.IsValid() {
		b.WriteString(" to ")
		b.WriteString(netip.PrefixFrom(dst, dstLen).String())
	}
	if tos != 0 {
		b.WriteString(" tos 0x")
		b.WriteString(strconv.FormatUint(uint64(tos), 16))
	}
	if hasMark || hasMask {
		b.WriteString(" fwmark 0x")
		b.WriteString(strconv.FormatUint(uint64(mark), 16))
		if mask != allMask {
			b.WriteString("/0x")
			b.WriteString(strconv.FormatUint(uint64(mask), 16))
		}
	}
	if iif != "" {
		b.WriteString(" iif ")
		b.WriteString(iif)
	}
	if oif != "" {
		b.WriteString(" oif ")
		b.WriteString(oif)
	}
	if ipproto != 0 {
		b.WriteString(" ipproto ")
		b.WriteString(strconv.Itoa(int(ipproto)))
	}
	writePortRange(&b, " sport ", sport)
	writePortRange(&b, " dport ", dport)
	switch {
	case l3mdev:
		b.WriteString(" lookup [l3mdev-table]")
	case act == unix.FR_ACT_GOTO:
		b.WriteString(" goto ")
		b.WriteString(strconv.FormatUint(uint64(gotoPrio), 10))
	case ruleActions[act] != "":
		b.WriteByte(' ')
		b.WriteString(ruleActions[act])
	default:
		b.WriteString(" lookup ")
		b.WriteString(tableName(table))
	}
	if suppress != allMask {
		b.WriteString(" suppress_prefixlength ")
		b.WriteString(strconv.FormatUint(uint64(suppress), 10))
	}
	b.WriteString(" proto ")
	b.WriteString(protoName(proto))
	if family == unix.AF_INET6 && !src.IsValid() && !dst.IsValid() {
		b.WriteString(" family inet6")
	}
	return family, b.String(), true
}

// writePortRange writes a struct fib_rule_port_range (start, end: u16).
func writePortRange(b *strings.Builder, label string, v []byte) {
	if len(v) < 4 {
		return
	}
	lo, hi := U16(v), U16(v[2:])
	b.WriteString(label)
	b.WriteString(strconv.Itoa(int(lo)))
	if hi != lo {
		b.WriteByte('-')
		b.WriteString(strconv.Itoa(int(hi)))
	}
}
