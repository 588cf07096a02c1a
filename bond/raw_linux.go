package bond

import (
	"context"
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// The vishvananda/netlink version in use neither encodes nor decodes
// peer_notif_delay, ad_lacp_active, arp_missed_max and ns_ip6_target, so
// bonds are read with a raw rtnetlink dump and options are written with
// raw requests of one attribute each.

// dumpLinks returns the links of ns with their bonding attributes.
func dumpLinks(ctx context.Context, ns *netprim.Namespace) (*snapshot, error) {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var links []*rawLink
	req := make([]byte, unix.SizeofIfInfomsg)
	err = c.Dump(ctx, unix.RTM_GETLINK, req, func() { links = links[:0] }, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWLINK || len(data) < unix.SizeofIfInfomsg {
			return nil
		}
		links = append(links, parseLink(data))
		return nil
	})
	if err != nil {
		return nil, netprim.KernelError("list", "links", err)
	}
	return newSnapshot(links), nil
}

// parseLink decodes one RTM_NEWLINK message (ifinfomsg and attributes).
func parseLink(data []byte) *rawLink {
	l := &rawLink{
		Index: int(int32(binary.NativeEndian.Uint32(data[4:]))),
		Flags: binary.NativeEndian.Uint32(data[8:]),
	}
	nl.Attrs(data[unix.SizeofIfInfomsg:], func(typ uint16, v []byte) bool {
		switch typ {
		case unix.IFLA_IFNAME:
			l.Name = nl.String(v)
		case unix.IFLA_MTU:
			l.MTU = int(nl.U32(v))
		case unix.IFLA_ADDRESS:
			l.HardwareAddr = net.HardwareAddr(v).String()
		case unix.IFLA_MASTER:
			l.Master = int(nl.U32(v))
		case unix.IFLA_OPERSTATE:
			if len(v) > 0 {
				l.OperState = v[0]
			}
		case unix.IFLA_PROP_LIST:
			nl.Attrs(v, func(t uint16, v []byte) bool {
				if t == unix.IFLA_ALT_IFNAME {
					l.AltNames = append(l.AltNames, nl.String(v))
				}
				return true
			})
		case unix.IFLA_LINKINFO:
			nl.Attrs(v, func(t uint16, v []byte) bool {
				switch t {
				case unix.IFLA_INFO_KIND:
					l.Kind = nl.String(v)
				case unix.IFLA_INFO_SLAVE_KIND:
					l.SlaveKind = nl.String(v)
				case unix.IFLA_INFO_DATA:
					l.Data = attrMap(v)
				case unix.IFLA_INFO_SLAVE_DATA:
					l.SlaveData = attrMap(v)
				}
				return true
			})
		}
		return true
	})
	return l
}

// attrMap copies the attributes of a nest into a map by type.
func attrMap(p []byte) map[uint16][]byte {
	m := make(map[uint16][]byte)
	nl.Attrs(p, func(t uint16, v []byte) bool {
		m[t] = append([]byte(nil), v...)
		return true
	})
	return m
}

// writeOption sets one bonding option of the bond with the given index:
// one RTM_NEWLINK request carrying only that attribute.
func writeOption(ns *netprim.Namespace, index int, o *option, payload []byte) error {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return err
	}
	defer c.Close()
	var b nl.Batch
	b.Begin(unix.RTM_NEWLINK, 0)
	msg := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(msg[4:], uint32(index))
	b.Fixed(msg)
	b.NestBegin(unix.IFLA_LINKINFO)
	b.AttrString(unix.IFLA_INFO_KIND, "bond")
	b.NestBegin(unix.IFLA_INFO_DATA)
	typ := o.attr
	if o.typ == tIP4List || o.typ == tIP6List {
		typ |= unix.NLA_F_NESTED
	}
	b.Attr(typ, payload)
	b.NestEnd()
	b.NestEnd()
	b.End()
	errs, err := c.Exec(context.Background(), &b)
	if err != nil {
		return err
	}
	return errs[0]
}
