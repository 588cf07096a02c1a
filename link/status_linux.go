package link

import (
	"github.com/vishvananda/netlink"
)

// toStatus converts a dumped link; names maps indexes to names.
func toStatus(l netlink.Link, names map[int]string) Status {
	a := l.Attrs()
	s := Status{
		Index:            a.Index,
		Name:             a.Name,
		Kind:             kindOf(l),
		MTU:              a.MTU,
		TxQueueLen:       a.TxQLen,
		Up:               a.RawFlags&iffUp != 0,
		Flags:            renderFlags(a.RawFlags),
		OperState:        renderOperState(uint8(a.OperState)),
		Carrier:          a.RawFlags&iffLowerUp != 0,
		HardwareAddr:     hardwareAddr(a),
		PermHardwareAddr: a.PermHWAddr.String(),
		MasterIndex:      a.MasterIndex,
		Master:           names[a.MasterIndex],
		ParentIndex:      a.ParentIndex,
		ParentNetnsID:    a.NetNsID,
		Alias:            a.Alias,
	}
	if len(a.AltNames) > 0 {
		s.AltNames = append([]string(nil), a.AltNames...)
	}
	if s.ParentIndex == s.Index && s.ParentNetnsID < 0 {
		s.ParentIndex = 0
	}
	if s.Kind == "veth" && s.ParentNetnsID < 0 {
		s.Peer = names[s.ParentIndex]
	}
	s.OwnedBy = markedBy(s.Name, s.AltNames, s.Alias)
	switch l := l.(type) {
	case *netlink.Vxlan:
		s.VXLAN = vxlanStatus(l, names)
	case *netlink.Macvlan:
		s.MACVLAN = &MACVLAN{Mode: macvlanModeName(l.Mode)}
		if l.NetNsID < 0 {
			s.MACVLAN.Parent = names[l.ParentIndex]
		}
	case *netlink.Vrf:
		s.VRF = &VRF{Table: l.Table}
	}
	if st := a.Statistics; st != nil {
		s.Stats = Stats{
			RxPackets: st.RxPackets, TxPackets: st.TxPackets,
			RxBytes: st.RxBytes, TxBytes: st.TxBytes,
			RxErrors: st.RxErrors, TxErrors: st.TxErrors,
			RxDropped: st.RxDropped, TxDropped: st.TxDropped,
		}
	}
	return s
}

// kindOf returns the kernel's IFLA_INFO_KIND of l.
func kindOf(l netlink.Link) string {
	switch t := l.Type(); t {
	case "device":
		return "" // no IFLA_LINKINFO: physical devices, loopback
	case "tuntap":
		return "tun"
	default:
		return t
	}
}

// hardwareAddr renders the link-layer address. The netlink library drops an
// all-zero address; Ethernet and loopback devices do have one then (a
// bridge without ports, lo), so it is put back as ip shows it.
func hardwareAddr(a *netlink.LinkAttrs) string {
	if len(a.HardwareAddr) == 0 && (a.EncapType == "ether" || a.EncapType == "loopback") {
		return "00:00:00:00:00:00"
	}
	return a.HardwareAddr.String()
}

// vxlanStatus returns the parameters of a dumped vxlan link; names maps
// indexes to names.
func vxlanStatus(l *netlink.Vxlan, names map[int]string) *VXLAN {
	v := &VXLAN{
		VNI:      uint32(l.VxlanId),
		Local:    ipString(l.SrcAddr),
		Port:     l.Port,
		TTL:      l.TTL,
		Learning: new(l.Learning),
	}
	if a := ipString(l.Group); a != "" {
		if l.Group.IsMulticast() {
			v.Group = a
		} else {
			v.Remote = a
		}
	}
	if l.VtepDevIndex != 0 && l.NetNsID < 0 {
		v.Dev = names[l.VtepDevIndex]
	}
	return v
}
