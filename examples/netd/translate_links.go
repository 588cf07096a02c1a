package main

import (
	"math"
	"time"

	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/wireguard"
)

// bondKeys are the keys of a v1alpha1 bond (Talos' Bond).
var bondKeys = []string{"interfaces", "deviceSelectors", "arpIPTarget", "mode", "xmitHashPolicy",
	"lacpRate", "adActorSystem", "arpValidate", "arpAllTargets", "primary", "primaryReselect",
	"failOverMac", "adSelect", "miimon", "updelay", "downdelay", "arpInterval", "resendIgmp",
	"minLinks", "lpInterval", "packetsPerSlave", "numPeerNotif", "tlbDynamicLb", "allSlavesActive",
	"useCarrier", "adActorSysPrio", "adUserPortKey", "peerNotifyDelay"}

// talosARPValidate maps Talos' arpValidate names to the kernel's.
var talosARPValidate = map[string]string{"filter-active": "filter_active", "filter-backup": "filter_backup"}

// readBond reads a bond section into a bond.Spec (Name, MTU and Up are
// the caller's). A value of 0 leaves a numeric option to the kernel's
// default, as Talos treats it.
func readBond(v value) (*bond.Spec, error) {
	f, err := v.fields(bondKeys...)
	if err != nil {
		return nil, err
	}
	b := &bond.Spec{}
	if b.Members, err = f["interfaces"].strings(); err != nil {
		return nil, err
	}
	for i, m := range b.Members {
		if err := link.ValidName(m); err != nil {
			return nil, f["interfaces"].errorf("[%d]: %v", i, err)
		}
	}
	sels, err := f["deviceSelectors"].list()
	if err != nil {
		return nil, err
	}
	if len(sels) > 0 && len(b.Members) > 0 {
		return nil, v.errorf("interfaces and deviceSelectors both given: give one of them")
	}
	for _, sv := range sels {
		s, err := readSelector(sv)
		if err != nil {
			return nil, err
		}
		b.MemberSelectors = append(b.MemberSelectors, *s)
	}
	// Names; "" is Talos' default.
	for key, dst := range map[string]*string{"mode": &b.Mode, "xmitHashPolicy": &b.XmitHashPolicy,
		"lacpRate": &b.LACPRate, "adActorSystem": &b.ADActorSystem, "arpValidate": &b.ARPValidate,
		"arpAllTargets": &b.ARPAllTargets, "primary": &b.Primary, "primaryReselect": &b.PrimaryReselect,
		"failOverMac": &b.FailOverMac, "adSelect": &b.ADSelect} {
		if sv, ok := f[key]; ok && !sv.null() {
			if *dst, err = sv.str(); err != nil {
				return nil, err
			}
		}
	}
	if b.Mode == "" {
		b.Mode = "balance-rr" // Talos' default mode
	}
	if k, ok := talosARPValidate[b.ARPValidate]; ok {
		b.ARPValidate = k
	}
	// Numbers.
	for key, dst := range map[string]*uint32{"miimon": &b.Miimon, "updelay": &b.UpDelay,
		"downdelay": &b.DownDelay, "arpInterval": &b.ARPInterval, "minLinks": &b.MinLinks,
		"lpInterval": &b.LPInterval, "packetsPerSlave": &b.PacketsPerSlave,
		"peerNotifyDelay": &b.PeerNotifDelay} {
		if nv, ok := f[key]; ok {
			if *dst, err = nv.u32(); err != nil {
				return nil, err
			}
		}
	}
	for key, dst := range map[string]*uint16{"adActorSysPrio": &b.ADActorSysPrio, "adUserPortKey": &b.ADUserPortKey} {
		if nv, ok := f[key]; ok {
			n, err := nv.uint(math.MaxUint16)
			if err != nil {
				return nil, err
			}
			*dst = uint16(n)
		}
	}
	// resendIgmp is a uint32 in Talos; the kernel takes 0..255.
	for key, dst := range map[string]*uint8{"resendIgmp": &b.ResendIGMP, "numPeerNotif": &b.NumPeerNotif} {
		if nv, ok := f[key]; ok {
			n, err := nv.uint(math.MaxUint8)
			if err != nil {
				return nil, err
			}
			*dst = uint8(n)
		}
	}
	// 0/1 flags: Talos writes 0 for an absent allSlavesActive (the
	// kernel's default too) and, in balance-tlb and balance-alb, 0 for an
	// absent tlbDynamicLb (the kernel's default is 1). Package bond takes
	// tlbDynamicLB in balance-tlb only: in balance-alb an absent value
	// stays the kernel's and tlbDynamicLb: 1 is refused by Validate.
	flag := func(key string) (*bool, error) {
		nv, ok := f[key]
		if !ok || nv.null() {
			return nil, nil
		}
		n, err := nv.uint(1)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		t := true
		return &t, nil
	}
	if b.AllSlavesActive, err = flag("allSlavesActive"); err != nil {
		return nil, err
	}
	if b.TLBDynamicLB, err = flag("tlbDynamicLb"); err != nil {
		return nil, err
	}
	if b.TLBDynamicLB == nil && b.Mode == "balance-tlb" {
		off := false
		b.TLBDynamicLB = &off
	}
	if uv, ok := f["useCarrier"]; ok && !uv.null() {
		u, err := uv.boolean()
		if err != nil {
			return nil, err
		}
		b.UseCarrier = &u
	}
	targets, err := f["arpIPTarget"].list()
	if err != nil {
		return nil, err
	}
	for _, tv := range targets {
		a, err := tv.addr()
		if err != nil {
			return nil, err
		}
		if !a.Is4() {
			return nil, tv.errorf("%s is not an IPv4 address", a)
		}
		b.ARPIPTargets = append(b.ARPIPTargets, a)
	}
	return b, nil
}

// readBridge reads a bridge section: interfaces, stp.enabled,
// vlan.vlanFiltering.
func readBridge(v value) (*bridge.Spec, error) {
	f, err := v.fields("interfaces", "stp", "vlan")
	if err != nil {
		return nil, err
	}
	b := &bridge.Spec{}
	ports, err := f["interfaces"].strings()
	if err != nil {
		return nil, err
	}
	for i, p := range ports {
		if err := link.ValidName(p); err != nil {
			return nil, f["interfaces"].errorf("[%d]: %v", i, err)
		}
	}
	if len(ports) > 0 {
		b.Ports = bridge.Ports(ports...)
	}
	if sv, ok := f["stp"]; ok && !sv.null() {
		sf, err := sv.fields("enabled")
		if err != nil {
			return nil, err
		}
		if e, ok := sf["enabled"]; ok && !e.null() {
			on, err := e.boolean()
			if err != nil {
				return nil, err
			}
			b.STP = &on
		}
	}
	if vv, ok := f["vlan"]; ok && !vv.null() {
		vf, err := vv.fields("vlanFiltering")
		if err != nil {
			return nil, err
		}
		if e, ok := vf["vlanFiltering"]; ok && !e.null() {
			on, err := e.boolean()
			if err != nil {
				return nil, err
			}
			b.VLANFiltering = &on
		}
	}
	return b, nil
}

// readWireGuard reads a wireguard section (Name and MTU are the
// caller's). Keys never appear in errors.
func readWireGuard(v value) (*wireguard.Spec, error) {
	f, err := v.fields("privateKey", "listenPort", "firewallMark", "peers")
	if err != nil {
		return nil, err
	}
	// Talos passes allowed IPs to the kernel as they are; the kernel
	// lets peers have nested prefixes (the longest wins).
	w := &wireguard.Spec{AllowOverlap: true}
	kv, ok := f["privateKey"]
	if !ok || kv.null() {
		return nil, v.errorf("privateKey is required")
	}
	ks, err := kv.str()
	if err != nil {
		return nil, err
	}
	if w.PrivateKey, err = wireguard.ParsePrivateKey(ks); err != nil {
		return nil, kv.errorf("%v", err)
	}
	if pv, ok := f["listenPort"]; ok {
		if w.ListenPort, err = pv.intIn(1, 65535); err != nil {
			return nil, err
		}
	}
	if mv, ok := f["firewallMark"]; ok {
		if w.FirewallMark, err = mv.u32(); err != nil {
			return nil, err
		}
	}
	peers, err := f["peers"].list()
	if err != nil {
		return nil, err
	}
	for _, pv := range peers {
		p, err := readPeer(pv)
		if err != nil {
			return nil, err
		}
		w.Peers = append(w.Peers, p)
	}
	return w, nil
}

// readPeer reads one WireGuard peer.
func readPeer(v value) (wireguard.PeerSpec, error) {
	var p wireguard.PeerSpec
	f, err := v.fields("publicKey", "endpoint", "persistentKeepaliveInterval", "allowedIPs")
	if err != nil {
		return p, err
	}
	kv, ok := f["publicKey"]
	if !ok || kv.null() {
		return p, v.errorf("publicKey is required")
	}
	ks, err := kv.str()
	if err != nil {
		return p, err
	}
	if p.PublicKey, err = wireguard.ParseKey(ks); err != nil {
		return p, kv.errorf("%v", err)
	}
	if ev, ok := f["endpoint"]; ok && !ev.null() {
		if p.Endpoint, err = ev.str(); err != nil {
			return p, err
		}
	}
	if kv, ok := f["persistentKeepaliveInterval"]; ok && !kv.null() {
		d, err := kv.duration()
		if err != nil {
			return p, err
		}
		if d < 0 || d%time.Second != 0 || d > wireguard.MaxKeepalive*time.Second {
			return p, kv.errorf("%v: want whole seconds, 0s..%ds", d, wireguard.MaxKeepalive)
		}
		p.PersistentKeepalive = int(d / time.Second)
	}
	ips, err := f["allowedIPs"].list()
	if err != nil {
		return p, err
	}
	for _, iv := range ips {
		pfx, err := iv.prefix()
		if err != nil {
			return p, err
		}
		p.AllowedIPs = append(p.AllowedIPs, pfx)
	}
	return p, nil
}
