package bond

import (
	"net"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

// settings is the bond-specific part of a link.Spec (linkkind.Settings).
type settings struct {
	spec *Spec
	ns   *netprim.Namespace
	snap *snapshot // the links of ns just before Plan/Apply
}

var _ linkkind.Settings = (*settings)(nil)

func (s *settings) Kind() string     { return "bond" }
func (s *settings) Validate() error  { return nil } // Plan and Apply validate the Spec first
func (s *settings) Describe() string { return describe(s.spec, s.snap.index) }

// Link returns the bond to add, with every option vishvananda/netlink can
// encode. The bond is created down: its members are enslaved first and
// Apply's second pass brings it up after them.
func (s *settings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	attrs.Flags &^= net.FlagUp
	b := netlink.NewLinkBond(attrs)
	for _, o := range options {
		if o.extra {
			continue
		}
		p, ok := o.encode(s.spec, s.snap.index)
		if !ok {
			continue
		}
		v, _ := decodeNum(o.typ, p)
		n := int(v)
		switch o.field {
		case "mode":
			b.Mode = netlink.BondMode(n)
		case "miimon":
			b.Miimon = n
		case "upDelay":
			b.UpDelay = n
		case "downDelay":
			b.DownDelay = n
		case "useCarrier":
			b.UseCarrier = n
		case "arpInterval":
			b.ArpInterval = n
		case "arpIPTargets":
			b.ArpIpTargets = []net.IP{}
			for _, a := range s.spec.ARPIPTargets {
				b.ArpIpTargets = append(b.ArpIpTargets, net.IP(a.AsSlice()))
			}
		case "arpValidate":
			b.ArpValidate = netlink.BondArpValidate(n)
		case "arpAllTargets":
			b.ArpAllTargets = netlink.BondArpAllTargets(n)
		case "primary":
			b.Primary = n
		case "primaryReselect":
			b.PrimaryReselect = netlink.BondPrimaryReselect(n)
		case "failOverMac":
			b.FailOverMac = netlink.BondFailOverMac(n)
		case "xmitHashPolicy":
			b.XmitHashPolicy = netlink.BondXmitHashPolicy(n)
		case "resendIGMP":
			b.ResendIgmp = n
		case "numPeerNotif":
			b.NumPeerNotif = n
		case "allSlavesActive":
			b.AllSlavesActive = n
		case "minLinks":
			b.MinLinks = n
		case "lpInterval":
			b.LpInterval = n
		case "packetsPerSlave":
			b.PacketsPerSlave = n
		case "lacpRate":
			b.LacpRate = netlink.BondLacpRate(n)
		case "adSelect":
			b.AdSelect = netlink.BondAdSelect(n)
		case "adActorSysPrio":
			b.AdActorSysPrio = n
		case "adUserPortKey":
			b.AdUserPortKey = n
		case "adActorSystem":
			b.AdActorSystem = net.HardwareAddr(p)
		case "tlbDynamicLB":
			b.TlbDynamicLb = n
		}
	}
	return b, nil, nil
}

// Diff returns the in-place changes of diff, one write request each. A
// bond never needs recreating: even a mode change is made in place.
func (s *settings) Diff(have linkkind.Observed) (string, []linkkind.Change) {
	raw := s.snap.byName[s.spec.Name]
	if raw == nil || raw.Kind != "bond" || (have.Link != nil && have.Link.Attrs().Index != raw.Index) {
		return "", nil // changed since the snapshot; the next Apply sees it
	}
	steps := diff(s.spec, raw, s.snap)
	changes := make([]linkkind.Change, 0, len(steps))
	for _, st := range steps {
		// Rendered as change renders it for Plan.
		c := linkkind.Change{Field: st.field, From: st.from, To: st.to, Disruptive: st.disruptive, Reason: st.reason}
		switch st.kind {
		case stepRelease:
			idx := st.memberIndex
			c.Apply = func(h *netlink.Handle, _ netlink.Link) error {
				return h.LinkSetNoMaster(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}})
			}
		case stepEnslave:
			idx := st.memberIndex
			c.Apply = func(h *netlink.Handle, l netlink.Link) error {
				return h.LinkSetMasterByIndex(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}}, l.Attrs().Index)
			}
		case stepDown:
			c.Apply = func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetDown(l) }
		case stepUp:
			c.Apply = func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetUp(l) }
		case stepSet:
			o, p, ns := st.opt, st.payload, s.ns
			c.Apply = func(_ *netlink.Handle, l netlink.Link) error { return writeOption(ns, l.Attrs().Index, o, p) }
		}
		changes = append(changes, c)
	}
	return "", changes
}
