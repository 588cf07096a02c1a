package bond

import (
	"fmt"
	"net"
)

// pick names value i, or renders it as a number when out of range.
func pick(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprint(i)
}

func operState(v uint8) string {
	return pick([]string{"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}, int(v))
}

// readOption sets the Spec field of o from a kernel payload.
func readOption(s *Spec, o *option, p []byte, names map[int]string) {
	switch o.typ {
	case tIP4List:
		s.ARPIPTargets = decodeAddrs(p)
		return
	case tIP6List:
		s.NSIP6Targets = decodeAddrs(p)
		return
	case tMAC:
		if string(p) != "\x00\x00\x00\x00\x00\x00" { // unset: the bond's own address is used
			s.ADActorSystem = net.HardwareAddr(p).String()
		}
		return
	case tPrimary:
		v, _ := decodeNum(tU32, p)
		s.Primary = names[int(v)]
		return
	}
	v, ok := decodeNum(o.typ, p)
	if !ok {
		return
	}
	name := ""
	if o.names != nil {
		name = pick(o.names, int(v))
	}
	b := v != 0
	switch o.field {
	case "mode":
		s.Mode = name
	case "miimon":
		s.Miimon = uint32(v)
	case "upDelay":
		s.UpDelay = uint32(v)
	case "downDelay":
		s.DownDelay = uint32(v)
	case "peerNotifDelay":
		s.PeerNotifDelay = uint32(v)
	case "useCarrier":
		s.UseCarrier = &b
	case "arpInterval":
		s.ARPInterval = uint32(v)
	case "arpValidate":
		s.ARPValidate = name
	case "arpAllTargets":
		s.ARPAllTargets = name
	case "missedMax":
		s.MissedMax = uint8(v)
	case "primaryReselect":
		s.PrimaryReselect = name
	case "failOverMac":
		s.FailOverMac = name
	case "xmitHashPolicy":
		s.XmitHashPolicy = name
	case "resendIGMP":
		s.ResendIGMP = uint8(v)
	case "numPeerNotif":
		s.NumPeerNotif = uint8(v)
	case "allSlavesActive":
		s.AllSlavesActive = &b
	case "minLinks":
		s.MinLinks = uint32(v)
	case "lpInterval":
		s.LPInterval = uint32(v)
	case "packetsPerSlave":
		s.PacketsPerSlave = uint32(v)
	case "lacpRate":
		s.LACPRate = name
	case "adSelect":
		s.ADSelect = name
	case "adActorSysPrio":
		s.ADActorSysPrio = uint16(v)
	case "adUserPortKey":
		s.ADUserPortKey = uint16(v)
	case "adLACPActive":
		s.ADLACPActive = &b
	case "tlbDynamicLB":
		s.TLBDynamicLB = &b
	}
}
