package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// talosRouteMetric is the metric Talos gives a static route without one
// (network.DefaultRouteMetric).
const talosRouteMetric = 1024

// standInName names a device chosen by a selector while its specs are
// validated: the real name is known only at run time.
const standInName = "selected0"

// readMachine reads machine.network of a v1alpha1 machine configuration;
// the rest of machine and cluster is not read.
func (c *netConfig) readMachine(top value) error {
	f, err := top.fields("version", "debug", "persist", "machine", "cluster")
	if err != nil {
		return err
	}
	m, ok := f["machine"]
	if !ok || m.null() {
		return nil
	}
	if m.n.Kind != yaml.MappingNode {
		return m.errorf("want a mapping")
	}
	n, ok := lookup(m.n, "network")
	if !ok {
		return nil
	}
	return c.readNetwork(newValue(n, "machine.network"))
}

// translator carries what the interfaces of machine.network define, for
// checks between entries.
type translator struct {
	c *netConfig
	// names are the link names defined so far, by the path of what
	// defines them.
	names map[string]string
	// members are the bond and bridge members by name, with the path of
	// the bond or bridge.
	members map[string]string
	// bridges are the bridges defined here, by index in c.State.Bridges.
	bridges map[string]int
	// selectors are the device selectors of the entries, by path.
	selectors map[selector.Selector]string
	// static are the static addresses, for the check against shared IPs.
	static map[netip.Addr]string
}

// readNetwork reads machine.network.
func (c *netConfig) readNetwork(v value) error {
	f, err := v.fields("hostname", "interfaces", "nameservers", "searchDomains",
		"disableSearchDomain", "extraHostEntries", "kubespan")
	if err != nil {
		return err
	}
	if ks, ok := f["kubespan"]; ok {
		if err := readKubeSpan(ks); err != nil {
			return err
		}
	}
	if err := c.readResolv(f); err != nil {
		return err
	}
	t := &translator{
		c:         c,
		names:     map[string]string{},
		members:   map[string]string{},
		bridges:   map[string]int{},
		selectors: map[selector.Selector]string{},
		static:    map[netip.Addr]string{},
	}
	items, err := f["interfaces"].list()
	if err != nil {
		return err
	}
	ifs := make([]*iface, 0, len(items))
	for _, it := range items {
		d, err := readInterface(it)
		if err != nil {
			return err
		}
		ifs = append(ifs, d)
	}
	return t.translate(ifs)
}

// readKubeSpan refuses machine.network.kubespan unless it is disabled.
func readKubeSpan(v value) error {
	f, err := v.fields("enabled", "advertiseKubernetesNetworks", "allowDownPeerBypass",
		"harvestExtraEndpoints", "mtu", "filters")
	if err != nil {
		return err
	}
	e, ok := f["enabled"]
	if !ok || e.null() {
		return nil
	}
	on, err := e.boolean()
	if err != nil {
		return err
	}
	if on {
		return e.errorf("KubeSpan is not supported by netd (a WireGuard mesh whose peers come from Talos' discovery service); set enabled: false, or configure a wireguard interface instead")
	}
	return nil
}

// readResolv reads hostname, nameservers, searchDomains,
// disableSearchDomain and extraHostEntries.
func (c *netConfig) readResolv(f map[string]value) error {
	var domain string
	if h, ok := f["hostname"]; ok && !h.null() {
		s, err := h.str()
		if err != nil {
			return err
		}
		// Talos takes a fully qualified name apart at its first dot.
		name, dom, _ := strings.Cut(strings.TrimSpace(s), ".")
		hs := &resolv.HostnameSpec{Hostname: name, Domainname: dom}
		if err := hs.Validate(); err != nil {
			return h.wrap(err)
		}
		c.State.Hostname = hs
		domain = dom
	}
	var ns []netip.Addr
	nv := f["nameservers"]
	items, err := nv.list()
	if err != nil {
		return err
	}
	for _, it := range items {
		a, err := it.addr()
		if err != nil {
			return err
		}
		ns = append(ns, a)
	}
	sv, searchGiven := f["searchDomains"]
	search, err := sv.strings()
	if err != nil {
		return err
	}
	disable := false
	if d, ok := f["disableSearchDomain"]; ok && !d.null() {
		if disable, err = d.boolean(); err != nil {
			return err
		}
	}
	if !searchGiven && !disable && domain != "" && len(ns) > 0 {
		// Talos searches the host's domain unless told otherwise.
		search = []string{domain}
	}
	if len(ns) > 0 || len(search) > 0 {
		r := &resolv.ResolverSpec{Nameservers: ns, SearchDomains: search}
		if err := r.Validate(); err != nil {
			where := nv
			if len(ns) == 0 || sv.n != nil && strings.Contains(err.Error(), "searchDomains") {
				where = sv
			}
			return where.wrap(err)
		}
		c.State.Resolvers = r
	}
	hosts, err := f["extraHostEntries"].list()
	if err != nil {
		return err
	}
	for _, h := range hosts {
		hf, err := h.fields("ip", "aliases")
		if err != nil {
			return err
		}
		ip, ok := hf["ip"]
		if !ok {
			return h.errorf("ip is required")
		}
		a, err := ip.addr()
		if err != nil {
			return err
		}
		names, err := hf["aliases"].strings()
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return h.errorf("aliases: give at least one name for %s", a)
		}
		e := resolv.HostEntry{Address: a, Names: names}
		if err := (resolv.HostsSpec{Entries: []resolv.HostEntry{e}}).Validate(); err != nil {
			return h.wrap(err)
		}
		c.State.Hosts = append(c.State.Hosts, e)
	}
	return nil
}

// iface is one entry of machine.network.interfaces, read and checked.
type iface struct {
	v          value
	name       string
	sel        *selector.Selector
	ignore     bool
	dummy      bool
	mtu        int
	addresses  []ifAddr
	routes     []ifRoute
	dhcp       *dhcpLink // Link and Selector unset
	vip        *vipLink  // Link and Selector unset
	vipV       value
	bond       *bond.Spec
	bondV      value
	bridge     *bridge.Spec
	bridgeV    value
	bridgePort string
	portV      value
	wg         *wireguard.Spec
	wgV        value
	vlans      []*ifVLAN
}

// ifAddr is a static address with its path.
type ifAddr struct {
	v value
	p netip.Prefix
}

// ifRoute is a static route with its path; Link is unset.
type ifRoute struct {
	v value
	r route.Spec
}

// ifVLAN is one entry of an interface's vlans.
type ifVLAN struct {
	v         value
	id        int
	mtu       int
	addresses []ifAddr
	routes    []ifRoute
	dhcp      *dhcpLink
	vip       *vipLink
	vipV      value
}

var interfaceKeys = []string{"interface", "deviceSelector", "addresses", "cidr", "routes", "bond",
	"bridge", "bridgePort", "vlans", "mtu", "dhcp", "ignore", "dummy", "dhcpOptions", "wireguard", "vip"}

// readInterface reads one entry of machine.network.interfaces.
func readInterface(v value) (*iface, error) {
	f, err := v.fields(interfaceKeys...)
	if err != nil {
		return nil, err
	}
	d := &iface{v: v}
	nameV, hasName := f["interface"]
	selV, hasSel := f["deviceSelector"]
	switch {
	case hasName && hasSel:
		return nil, v.errorf("interface and deviceSelector both given: give one of them")
	case hasName:
		if d.name, err = nameV.str(); err != nil {
			return nil, err
		}
		if err := link.ValidName(d.name); err != nil {
			return nil, nameV.errorf("%v", err)
		}
	case hasSel:
		if d.sel, err = readSelector(selV); err != nil {
			return nil, err
		}
	default:
		return nil, v.errorf("interface or deviceSelector is required")
	}
	if d.ignore, err = optBool(f, "ignore"); err != nil {
		return nil, err
	}
	if d.dummy, err = optBool(f, "dummy"); err != nil {
		return nil, err
	}
	if m, ok := f["mtu"]; ok {
		if d.mtu, err = m.intIn(link.MinMTU, link.MaxMTU); err != nil {
			return nil, err
		}
	}
	if d.addresses, err = readAddresses(f); err != nil {
		return nil, err
	}
	if d.routes, err = readRoutes(f["routes"]); err != nil {
		return nil, err
	}
	if d.dhcp, err = readDHCP(f); err != nil {
		return nil, err
	}
	if vv, ok := f["vip"]; ok && !vv.null() {
		if d.vip, err = readVIP(vv); err != nil {
			return nil, err
		}
		d.vipV = vv
	}
	if bv, ok := f["bond"]; ok && !bv.null() {
		d.bondV = bv
		if d.bond, err = readBond(bv); err != nil {
			return nil, err
		}
	}
	if bv, ok := f["bridge"]; ok && !bv.null() {
		d.bridgeV = bv
		if d.bridge, err = readBridge(bv); err != nil {
			return nil, err
		}
	}
	if pv, ok := f["bridgePort"]; ok && !pv.null() {
		pf, err := pv.fields("master")
		if err != nil {
			return nil, err
		}
		mv, ok := pf["master"]
		if !ok {
			return nil, pv.errorf("master is required")
		}
		if d.bridgePort, err = mv.str(); err != nil {
			return nil, err
		}
		if err := link.ValidName(d.bridgePort); err != nil {
			return nil, mv.errorf("%v", err)
		}
		d.portV = mv
	}
	if wv, ok := f["wireguard"]; ok && !wv.null() {
		d.wgV = wv
		if d.wg, err = readWireGuard(wv); err != nil {
			return nil, err
		}
	}
	vls, err := f["vlans"].list()
	if err != nil {
		return nil, err
	}
	ids := map[int]string{}
	for _, vv := range vls {
		vl, err := readVLAN(vv)
		if err != nil {
			return nil, err
		}
		if p, dup := ids[vl.id]; dup {
			return nil, vv.errorf("vlanId %d is also %s", vl.id, p)
		}
		ids[vl.id] = vv.path
		d.vlans = append(d.vlans, vl)
	}
	return d, d.check()
}

// check refuses combinations that make no sense on one interface.
func (d *iface) check() error {
	var kinds []string
	for _, k := range []struct {
		set  bool
		name string
	}{{d.bond != nil, "bond"}, {d.bridge != nil, "bridge"}, {d.wg != nil, "wireguard"}, {d.dummy, "dummy"}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) > 1 {
		return d.v.errorf("%s and %s both given: an interface is one kind of link", kinds[0], kinds[1])
	}
	if d.sel != nil && len(kinds) > 0 {
		return d.v.errorf("deviceSelector with %s: a selected device exists already and cannot be created as a %s; name it with interface", kinds[0], kinds[0])
	}
	if d.bridgePort != "" && d.bridgePort == d.name {
		return d.portV.errorf("%s cannot be its own bridge port", d.name)
	}
	return nil
}

// optBool reads an optional boolean key (false when absent or null).
func optBool(f map[string]value, key string) (bool, error) {
	v, ok := f[key]
	if !ok || v.null() {
		return false, nil
	}
	return v.boolean()
}

// readSelector reads a deviceSelector.
func readSelector(v value) (*selector.Selector, error) {
	f, err := v.fields("busPath", "hardwareAddr", "permanentAddr", "pciID", "driver", "physical")
	if err != nil {
		return nil, err
	}
	s := &selector.Selector{}
	for key, dst := range map[string]*string{"busPath": &s.BusPath, "hardwareAddr": &s.HardwareAddr,
		"permanentAddr": &s.PermanentAddr, "pciID": &s.PCIID, "driver": &s.Driver} {
		if fv, ok := f[key]; ok && !fv.null() {
			if *dst, err = fv.str(); err != nil {
				return nil, err
			}
		}
	}
	if p, ok := f["physical"]; ok && !p.null() {
		b, err := p.boolean()
		if err != nil {
			return nil, err
		}
		s.Physical = &b
	}
	if s.IsZero() {
		return nil, v.errorf("empty: give at least one of busPath, hardwareAddr, permanentAddr, pciID, driver, physical")
	}
	if err := s.Validate(); err != nil {
		return nil, v.wrap(err)
	}
	return s, nil
}

// readAddresses reads addresses and the deprecated cidr of an interface
// or VLAN.
func readAddresses(f map[string]value) ([]ifAddr, error) {
	items, err := f["addresses"].list()
	if err != nil {
		return nil, err
	}
	if cv, ok := f["cidr"]; ok && !cv.null() {
		if len(items) > 0 {
			return nil, cv.errorf("cidr and addresses both given: use addresses (cidr is deprecated)")
		}
		items = []value{cv}
	}
	out := make([]ifAddr, 0, len(items))
	for _, it := range items {
		p, err := it.addrOrPrefix()
		if err != nil {
			return nil, err
		}
		out = append(out, ifAddr{v: it, p: p})
	}
	return out, nil
}

// readRoutes reads routes: network (default: the default route of the
// gateway's family), gateway, source, metric (default 1024, as Talos) and
// mtu.
func readRoutes(v value) ([]ifRoute, error) {
	items, err := v.list()
	if err != nil {
		return nil, err
	}
	out := make([]ifRoute, 0, len(items))
	for _, it := range items {
		f, err := it.fields("network", "gateway", "source", "metric", "mtu")
		if err != nil {
			return nil, err
		}
		var r route.Spec
		if nv, ok := f["network"]; ok && !nv.null() && nv.n.Value != "" {
			if r.Destination, err = nv.prefix(); err != nil {
				return nil, err
			}
			if r.Destination.Addr().IsMulticast() {
				return nil, nv.errorf("%s is a multicast destination: Talos makes it a route of type multicast, which package route does not offer", r.Destination)
			}
		}
		if gv, ok := f["gateway"]; ok && !gv.null() && gv.n.Value != "" {
			if r.Gateway, err = gv.addr(); err != nil {
				return nil, err
			}
		}
		if sv, ok := f["source"]; ok && !sv.null() && sv.n.Value != "" {
			if r.Source, err = sv.addr(); err != nil {
				return nil, err
			}
		}
		switch {
		case r.Destination.IsValid():
		case r.Gateway.Is4():
			r.Destination = netip.MustParsePrefix("0.0.0.0/0")
		case r.Gateway.Is6():
			r.Destination = netip.MustParsePrefix("::/0")
		default:
			return nil, it.errorf("give network, gateway or both")
		}
		if mv, ok := f["metric"]; ok {
			if r.Metric, err = mv.u32(); err != nil {
				return nil, err
			}
		}
		if r.Metric == 0 {
			r.Metric = talosRouteMetric
		}
		if mv, ok := f["mtu"]; ok {
			n, err := mv.intIn(link.MinMTU, link.MaxMTU)
			if err != nil {
				return nil, err
			}
			r.MTU = uint32(n)
		}
		out = append(out, ifRoute{v: it, r: r})
	}
	return out, nil
}

// readDHCP reads dhcp and dhcpOptions; nil without dhcp: true.
func readDHCP(f map[string]value) (*dhcpLink, error) {
	on, err := optBool(f, "dhcp")
	if err != nil {
		return nil, err
	}
	ov, hasOpts := f["dhcpOptions"]
	if hasOpts && ov.null() {
		hasOpts = false
	}
	if !on {
		if hasOpts {
			return nil, ov.errorf("dhcpOptions without dhcp: true has no effect; set dhcp: true or remove dhcpOptions")
		}
		return nil, nil
	}
	d := &dhcpLink{IPv4: true}
	if !hasOpts {
		return d, nil
	}
	o, err := ov.fields("routeMetric", "ipv4", "ipv6", "duidv6")
	if err != nil {
		return nil, err
	}
	if m, ok := o["routeMetric"]; ok {
		if d.RouteMetric, err = m.u32(); err != nil {
			return nil, err
		}
	}
	for key, dst := range map[string]*bool{"ipv4": &d.IPv4, "ipv6": &d.IPv6} {
		if b, ok := o[key]; ok && !b.null() {
			if *dst, err = b.boolean(); err != nil {
				return nil, err
			}
		}
	}
	if du, ok := o["duidv6"]; ok && !du.null() {
		if d.DUIDv6, err = readDUID(du); err != nil {
			return nil, err
		}
	}
	if !d.IPv4 && !d.IPv6 {
		return nil, ov.errorf("ipv4 and ipv6 both false: dhcp: true would run no client")
	}
	return d, nil
}

// readDUID reads a DUID written in hex, as Talos takes duidv6, with or
// without colons between the bytes ("00:04:…" as its duidRaw).
func readDUID(v value) ([]byte, error) {
	s, err := v.str()
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if err != nil {
		return nil, v.errorf("a DUID in hex: %v", err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	if err := (dhcp.Config6{Link: "lo", DUID: b}).Validate(); err != nil {
		return nil, v.wrap(err)
	}
	return b, nil
}

// readVIP reads vip: ip, hcloud.apiToken; equinixMetal is refused.
func readVIP(v value) (*vipLink, error) {
	f, err := v.fields("ip", "equinixMetal", "hcloud")
	if err != nil {
		return nil, err
	}
	if e, ok := f["equinixMetal"]; ok {
		return nil, e.errorf("Equinix Metal was shut down on 2026-06-30: its API no longer assigns addresses; remove equinixMetal (a layer 2 shared IP needs no provider)")
	}
	ip, ok := f["ip"]
	if !ok || ip.null() {
		return nil, v.errorf("ip is required")
	}
	a, err := ip.addr()
	if err != nil {
		return nil, err
	}
	if !a.IsGlobalUnicast() {
		return nil, ip.errorf("%s is not a unicast address a node can share", a)
	}
	out := &vipLink{Address: a}
	if h, ok := f["hcloud"]; ok && !h.null() {
		hf, err := h.fields("apiToken")
		if err != nil {
			return nil, err
		}
		tv, ok := hf["apiToken"]
		if !ok {
			return nil, h.errorf("apiToken is required")
		}
		if out.HCloudToken, err = tv.str(); err != nil {
			return nil, err
		}
		if strings.TrimSpace(out.HCloudToken) == "" {
			return nil, tv.errorf("empty")
		}
	}
	return out, nil
}

// readVLAN reads one entry of vlans.
func readVLAN(v value) (*ifVLAN, error) {
	f, err := v.fields("addresses", "cidr", "routes", "dhcp", "vlanId", "mtu", "vip", "dhcpOptions")
	if err != nil {
		return nil, err
	}
	vl := &ifVLAN{v: v}
	idV, ok := f["vlanId"]
	if !ok {
		return nil, v.errorf("vlanId is required")
	}
	id, err := idV.uint(65535)
	if err != nil {
		return nil, err
	}
	if id < vlan.MinID || id > vlan.MaxID {
		return nil, idV.errorf("%d out of range %d..%d", id, vlan.MinID, vlan.MaxID)
	}
	vl.id = int(id)
	if m, ok := f["mtu"]; ok {
		if vl.mtu, err = m.intIn(link.MinMTU, link.MaxMTU); err != nil {
			return nil, err
		}
	}
	if vl.addresses, err = readAddresses(f); err != nil {
		return nil, err
	}
	if vl.routes, err = readRoutes(f["routes"]); err != nil {
		return nil, err
	}
	if vl.dhcp, err = readDHCP(f); err != nil {
		return nil, err
	}
	if vv, ok := f["vip"]; ok && !vv.null() {
		if vl.vip, err = readVIP(vv); err != nil {
			return nil, err
		}
		vl.vipV = vv
	}
	return vl, nil
}

// vlanLinkName names the VLAN link id on base as Talos does
// (nethelpers.VLANLinkName): "BASE.ID", or, when that could exceed 15
// bytes, the first 4 bytes of base, a hash of it and ".ID".
func vlanLinkName(base string, id int) string {
	const maxLinkName = 15
	if len(base)+5 <= maxLinkName {
		return fmt.Sprintf("%s.%d", base, id)
	}
	prefix := base[:4]
	hash := sha256.Sum256([]byte(base))
	return fmt.Sprintf("%s%x.%d", prefix, hash[:(maxLinkName-len(prefix)-5)/2], id)
}

// translate turns the interfaces into the state's sections.
func (t *translator) translate(ifs []*iface) error {
	// Names and members first: a bridge port may come before its bridge.
	for _, d := range ifs {
		if err := t.declare(d); err != nil {
			return err
		}
	}
	for _, d := range ifs {
		if d.ignore {
			continue
		}
		if err := t.emit(d); err != nil {
			return err
		}
	}
	if err := t.checkVIPs(ifs); err != nil {
		return err
	}
	// Ports given by bridgePort on named interfaces join their bridge.
	for _, d := range ifs {
		if d.ignore || d.bridgePort == "" || d.sel != nil {
			continue
		}
		if i, ok := t.bridges[d.bridgePort]; ok {
			b := &t.c.State.Bridges[i]
			b.Ports = append(b.Ports, bridge.Port{Name: d.name})
			if err := b.Validate(); err != nil {
				return d.portV.wrap(err)
			}
		}
	}
	return nil
}

// checkVIPs refuses a shared IP given twice or that is also a static
// address.
func (t *translator) checkVIPs(ifs []*iface) error {
	seen := map[netip.Addr]string{}
	check := func(v *vipLink, at value) error {
		if v == nil {
			return nil
		}
		if p, ok := t.static[v.Address]; ok {
			return at.errorf("shared IP %s is also the static address %s", v.Address, p)
		}
		if p, ok := seen[v.Address]; ok {
			return at.errorf("shared IP %s is also %s", v.Address, p)
		}
		seen[v.Address] = at.path
		return nil
	}
	for _, d := range ifs {
		if d.ignore {
			continue
		}
		if err := check(d.vip, d.vipV); err != nil {
			return err
		}
		for _, vl := range d.vlans {
			if err := check(vl.vip, vl.vipV); err != nil {
				return err
			}
		}
	}
	return nil
}

// declare records the names an interface defines and the members of its
// bond or bridge, refusing duplicates.
func (t *translator) declare(d *iface) error {
	if d.sel != nil {
		if p, dup := t.selectors[*d.sel]; dup {
			return d.v.errorf("the same deviceSelector as %s", p)
		}
		t.selectors[*d.sel] = d.v.path
	} else if err := t.define(d.name, d.v); err != nil {
		return err
	}
	for _, vl := range d.vlans {
		if d.sel == nil {
			if err := t.define(vlanLinkName(d.name, vl.id), vl.v); err != nil {
				return err
			}
		}
	}
	if d.ignore {
		return nil
	}
	var members []string
	var where value
	switch {
	case d.bond != nil:
		members, where = d.bond.Members, d.bondV
	case d.bridge != nil:
		for _, p := range d.bridge.Ports {
			members = append(members, p.Name)
		}
		where = d.bridgeV
	}
	for _, m := range members {
		if p, dup := t.members[m]; dup {
			return where.errorf("%s is also a member of %s", m, p)
		}
		t.members[m] = where.path
	}
	if d.bridge != nil {
		t.bridges[d.name] = -1 // index set by emit
	}
	return nil
}

// define records a link name defined at v.
func (t *translator) define(name string, v value) error {
	if p, dup := t.names[name]; dup {
		return v.errorf("link %s is also defined by %s", name, p)
	}
	t.names[name] = v.path
	return nil
}

// emit adds the specs of one interface to the state.
func (t *translator) emit(d *iface) error {
	st := &t.c.State
	up := true
	if p, member := t.members[d.name]; member && d.sel == nil {
		if len(d.addresses) > 0 || d.dhcp != nil || d.vip != nil {
			return d.v.errorf("%s is a member of %s: a bonded or bridged interface has no addressing (addresses, dhcp, vip) of its own", d.name, p)
		}
	}
	name := d.name
	switch {
	case d.bond != nil:
		b := *d.bond
		b.Name, b.MTU, b.Up = name, d.mtu, &up
		if err := b.Validate(); err != nil {
			return d.bondV.wrap(err)
		}
		st.Bonds = append(st.Bonds, b)
	case d.bridge != nil:
		b := *d.bridge
		b.Name, b.MTU, b.Up = name, d.mtu, &up
		if err := b.Validate(); err != nil {
			return d.bridgeV.wrap(err)
		}
		t.bridges[name] = len(st.Bridges)
		st.Bridges = append(st.Bridges, b)
	case d.wg != nil:
		w := *d.wg
		w.Name, w.MTU = name, d.mtu
		if err := w.Validate(); err != nil {
			return d.wgV.wrap(err)
		}
		st.WireGuard = append(st.WireGuard, w)
	default:
		l := reconcile.Link{Spec: link.Spec{Name: name, MTU: d.mtu, Up: &up}, DeviceSelector: d.sel}
		if d.dummy {
			l.Kind = "dummy"
		}
		if d.bridgePort != "" && d.sel == nil {
			if _, here := t.bridges[d.bridgePort]; !here {
				// A bridge made by someone else: the link names its master.
				m := d.bridgePort
				l.Master = &m
			}
		}
		check := l.Spec
		if d.sel != nil {
			check.Name = standInName
		}
		if err := check.Validate(); err != nil {
			return d.v.wrap(err)
		}
		st.Links = append(st.Links, l)
	}
	if d.bridgePort != "" && d.sel == nil && (d.bond != nil || d.bridge != nil || d.wg != nil) {
		if _, here := t.bridges[d.bridgePort]; !here {
			return d.portV.errorf("bridge %s is not configured here: only a plain or dummy interface can name a bridge made by someone else", d.bridgePort)
		}
	}
	var bound *boundLink
	if d.sel != nil {
		bound = &boundLink{Path: d.v.path, Selector: d.sel, BridgeMaster: d.bridgePort}
	}
	if err := t.emitAddressing(name, bound, d.addresses, d.routes, d.dhcp, d.vip, d.sel); err != nil {
		return err
	}
	if bound != nil && (len(bound.Addresses) > 0 || len(bound.Routes) > 0 || bound.BridgeMaster != "") {
		t.c.Bound = append(t.c.Bound, *bound)
	}
	for _, vl := range d.vlans {
		vs := vlan.Spec{ID: vl.id, MTU: vl.mtu, Up: &up}
		var vb *boundLink
		vname := ""
		if d.sel != nil {
			vs.ParentSelector = d.sel
			vb = &boundLink{Path: vl.v.path, Selector: d.sel, VLAN: vl.id}
		} else {
			vname = vlanLinkName(name, vl.id)
			vs.Name, vs.Parent = vname, name
		}
		if err := vs.Validate(); err != nil {
			return vl.v.wrap(err)
		}
		st.VLANs = append(st.VLANs, vs)
		if err := t.emitAddressing(vname, vb, vl.addresses, vl.routes, vl.dhcp, vl.vip, nil); err != nil {
			return err
		}
		if vb != nil {
			vb.DHCP, vb.VIP = vl.dhcp, vl.vip
			if len(vb.Addresses) > 0 || len(vb.Routes) > 0 || vb.DHCP != nil || vb.VIP != nil {
				t.c.Bound = append(t.c.Bound, *vb)
			}
		}
	}
	return nil
}

// emitAddressing adds the addresses, routes, DHCP and shared IP of the
// link name, or, with bound set, of a link whose name is known only at run
// time: its addresses and routes go to bound; its DHCP and shared IP go to
// the netConfig with sel when sel is set (the selected device itself) and
// are left to the caller otherwise (a VLAN on it).
func (t *translator) emitAddressing(name string, bound *boundLink, addrs []ifAddr, routes []ifRoute,
	dh *dhcpLink, vip *vipLink, sel *selector.Selector) error {
	st := &t.c.State
	for _, a := range addrs {
		s := addr.Spec{Link: name, Address: a.p, AutoBroadcast: a.p.Addr().Is4()}
		check := s
		if bound != nil {
			s.Link, check.Link = "", standInName
		}
		if err := check.Validate(); err != nil {
			return a.v.wrap(err)
		}
		if p, dup := t.static[a.p.Addr()]; dup {
			return a.v.errorf("%s is also %s", a.p.Addr(), p)
		}
		t.static[a.p.Addr()] = a.v.path
		if bound != nil {
			bound.Addresses = append(bound.Addresses, s)
		} else {
			st.Addresses = append(st.Addresses, s)
		}
	}
	for _, r := range routes {
		s := r.r
		s.Link = name
		check := s
		if bound != nil {
			s.Link, check.Link = "", standInName
		}
		if err := check.Validate(); err != nil {
			return r.v.wrap(err)
		}
		if bound != nil {
			bound.Routes = append(bound.Routes, s)
		} else {
			st.Routes = append(st.Routes, s)
		}
	}
	if bound != nil && sel == nil {
		return nil // a VLAN on a selected device: the caller keeps them
	}
	if dh != nil {
		d := *dh
		d.Link, d.Selector = name, sel
		t.c.DHCP = append(t.c.DHCP, d)
	}
	if vip != nil {
		v := *vip
		v.Link, v.Selector = name, sel
		t.c.VIPs = append(t.c.VIPs, v)
	}
	return nil
}
