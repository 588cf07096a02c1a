package link

// Spec returns the Spec of the link as s shows it: its name, kind and
// kind parameters, MTU, administrative state, hardware address, alias,
// transmit queue length and master. Apply of it in the namespace s was
// listed from finds nothing to change while the link is unchanged, and
// repairs drift of any of those attributes otherwise.
//
// Up, Alias and Master are always set (an empty Alias or Master means
// "none", so Apply removes one that appears later). Attributes a Spec cannot
// express are left unmanaged: an MTU outside MinMTU..MaxMTU (the loopback
// device's 65536), an all-zero or non-Ethernet hardware address, a zero
// transmit queue length.
//
// Kind is set only when Apply could create the link from the Spec: it is
// left empty (the link must exist; its attributes are managed) for links
// without a kind (physical devices, loopback), for kinds created by their
// own packages (bond, bridge, vlan, wireguard) or needing parameters link
// does not offer (tun, gre, ...), for a veth whose peer lives in another
// namespace, for a macvlan whose parent does, and for parameters a Spec
// rejects (such as a vxlan with VNI 0). Both ends of a veth pair get Kind
// "veth": Apply takes one of them per pair (see Specs).
func (s Status) Spec() Spec {
	out := Spec{
		Name:   s.Name,
		Kind:   s.Kind,
		Up:     new(s.Up),
		Alias:  new(s.Alias),
		Master: new(s.Master),
	}
	if s.MTU >= MinMTU && s.MTU <= MaxMTU {
		out.MTU = s.MTU
	}
	if s.HardwareAddr != "" && validHardwareAddr(s.HardwareAddr) == nil {
		out.HardwareAddr = s.HardwareAddr
	}
	if s.TxQueueLen > 0 {
		out.TxQueueLen = s.TxQueueLen
	}
	switch {
	case s.Kind == "veth" && s.Peer != "":
		out.Veth = &Veth{Peer: s.Peer}
	case s.Kind == "vxlan" && s.VXLAN != nil:
		v := *s.VXLAN
		if v.Learning != nil {
			v.Learning = new(*v.Learning)
		}
		out.VXLAN = &v
	case s.Kind == "macvlan" && s.MACVLAN != nil:
		out.MACVLAN = new(*s.MACVLAN)
	case s.Kind == "vrf" && s.VRF != nil:
		out.VRF = new(*s.VRF)
	}
	if out.validateKind("") != nil {
		out.Kind, out.Veth, out.VXLAN, out.MACVLAN, out.VRF = "", nil, nil, nil, nil
	}
	return out
}

// Specs returns the Spec of every link of links (see Status.Spec), in the
// same order, such that Apply of all of them together finds nothing to
// change in the namespace they were listed from. A veth pair in one
// namespace is one Spec to Apply, so of its two ends only one keeps Kind
// "veth" and its Veth: the end carrying an ownership marker when exactly
// one does, else the one with the lower index. The other end's
// attributes are still managed.
func Specs(links []Status) []Spec {
	out := make([]Spec, len(links))
	byName := make(map[string]int, len(links))
	for i, l := range links {
		out[i] = l.Spec()
		byName[l.Name] = i
	}
	for i, l := range links {
		if out[i].Veth == nil {
			continue
		}
		j, ok := byName[l.Peer]
		if !ok || j == i || out[j].Veth == nil || out[j].Veth.Peer != l.Name {
			continue
		}
		// Both ends are still veth specs: demote the one not kept.
		p := links[j]
		keepI := l.Index < p.Index
		if (l.OwnedBy != "") != (p.OwnedBy != "") {
			keepI = l.OwnedBy != ""
		}
		drop := j
		if !keepI {
			drop = i
		}
		out[drop].Kind, out[drop].Veth = "", nil
	}
	return out
}
