package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim/internal/linkkind"
	"github.com/netprim/netprim/internal/specerr"
)

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// VXLAN configures a vxlan link (Kind "vxlan"). TTL, Learning, and Remote
// and Local (to another address of the same family) are changed in place;
// any other difference recreates the link (disruptive; Plan says so).
type VXLAN struct {
	// VNI is the VXLAN network identifier, 1..MaxVNI. Required.
	VNI uint32 `json:"vni" yaml:"vni"`
	// Remote is the unicast address of the remote tunnel end
	// ("remote" in ip); exclusive with Group.
	Remote string `json:"remote,omitempty" yaml:"remote,omitempty"`
	// Group is the multicast group joined for flooding ("group" in ip);
	// exclusive with Remote. Usually set together with Dev.
	Group string `json:"group,omitempty" yaml:"group,omitempty"`
	// Local is the source address of the tunnel packets, of the same
	// family as Remote or Group.
	Local string `json:"local,omitempty" yaml:"local,omitempty"`
	// Port is the UDP destination port, 1..65535 (4789 is the IANA
	// port); 0 leaves the kernel's default (8472) and unmanaged.
	Port int `json:"port,omitempty" yaml:"port,omitempty"`
	// Dev is the name of the underlay link the tunnel packets leave
	// through ("dev" in ip); empty: chosen by routing.
	Dev string `json:"dev,omitempty" yaml:"dev,omitempty"`
	// TTL of the tunnel packets, 1..255; 0 leaves the kernel's default
	// (inherit) and unmanaged.
	TTL int `json:"ttl,omitempty" yaml:"ttl,omitempty"`
	// Learning turns source-address learning on or off; nil leaves the
	// kernel's default (on) and unmanaged.
	Learning *bool `json:"learning,omitempty" yaml:"learning,omitempty"`
}

// MACVLAN configures a macvlan link (Kind "macvlan").
type MACVLAN struct {
	// Parent is the name of the lower link. Required; changing it
	// recreates the link.
	Parent string `json:"parent" yaml:"parent"`
	// Mode is one of "bridge", "private", "vepa", "passthru", "source";
	// empty leaves the kernel's default (vepa) and unmanaged. Changes
	// between bridge, private, vepa and source are made in place; to or
	// from passthru the kernel refuses, and the link is recreated.
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`
}

// VRF configures a vrf link (Kind "vrf"). Its ports are the links whose
// Spec.Master names it.
type VRF struct {
	// Table is the routing table the VRF uses, 1..4294967295 except the
	// kernel's default, main and local tables (253, 254, 255). Required;
	// changing it recreates the link.
	Table uint32 `json:"table" yaml:"table"`
}

// macvlanModes are the macvlan modes, by their names in ip.
var macvlanModes = map[string]netlink.MacvlanMode{
	"private":  netlink.MACVLAN_MODE_PRIVATE,
	"vepa":     netlink.MACVLAN_MODE_VEPA,
	"bridge":   netlink.MACVLAN_MODE_BRIDGE,
	"passthru": netlink.MACVLAN_MODE_PASSTHRU,
	"source":   netlink.MACVLAN_MODE_SOURCE,
}

func macvlanModeName(m netlink.MacvlanMode) string {
	for name, v := range macvlanModes {
		if v == m {
			return name
		}
	}
	return "vepa" // MACVLAN_MODE_DEFAULT: no mode attribute, the kernel's vepa
}

// normalizeAddr returns the canonical text of an IP address, or s
// unchanged when it is not one.
func normalizeAddr(s string) string {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

func (v *VXLAN) normalize() {
	v.Remote = normalizeAddr(v.Remote)
	v.Group = normalizeAddr(v.Group)
	v.Local = normalizeAddr(v.Local)
	v.Dev = strings.TrimSpace(v.Dev)
}

func (v *VXLAN) validate(prefix string) error {
	if v.VNI < 1 || v.VNI > MaxVNI {
		return specerr.Invalid(prefix, "vxlan.vni", "%d out of range 1..%d", v.VNI, MaxVNI)
	}
	var family netip.Addr
	parse := func(field, s string) (netip.Addr, error) {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return a, specerr.Invalid(prefix, field, "%q is not an IP address", s)
		}
		if a.IsUnspecified() {
			return a, specerr.Invalid(prefix, field, "%s is the unspecified address", a)
		}
		return a, nil
	}
	switch {
	case v.Remote != "" && v.Group != "":
		return specerr.Invalid(prefix, "vxlan.group", "set together with vxlan.remote: a vxlan has either a unicast remote or a multicast group")
	case v.Remote != "":
		a, err := parse("vxlan.remote", v.Remote)
		if err != nil {
			return err
		}
		if a.IsMulticast() {
			return specerr.Invalid(prefix, "vxlan.remote", "%s is a multicast address: use vxlan.group", a)
		}
		family = a
	case v.Group != "":
		a, err := parse("vxlan.group", v.Group)
		if err != nil {
			return err
		}
		if !a.IsMulticast() {
			return specerr.Invalid(prefix, "vxlan.group", "%s is not a multicast address: use vxlan.remote", a)
		}
		family = a
	}
	if v.Local != "" {
		a, err := parse("vxlan.local", v.Local)
		if err != nil {
			return err
		}
		if a.IsMulticast() {
			return specerr.Invalid(prefix, "vxlan.local", "%s is a multicast address", a)
		}
		if family.IsValid() && a.Is4() != family.Is4() {
			return specerr.Invalid(prefix, "vxlan.local", "%s is not of the family of %s", a, family)
		}
	}
	if v.Port < 0 || v.Port > 65535 {
		return specerr.Invalid(prefix, "vxlan.port", "%d out of range 1..65535", v.Port)
	}
	if v.Dev != "" {
		if err := validName(v.Dev); err != nil {
			return specerr.Invalid(prefix, "vxlan.dev", "%v", err)
		}
	}
	if v.TTL < 0 || v.TTL > 255 {
		return specerr.Invalid(prefix, "vxlan.ttl", "%d out of range 1..255", v.TTL)
	}
	return nil
}

func (m *MACVLAN) normalize() {
	m.Parent = strings.TrimSpace(m.Parent)
	m.Mode = strings.ToLower(strings.TrimSpace(m.Mode))
}

func (m *MACVLAN) validate(prefix, name string) error {
	if err := validName(m.Parent); err != nil {
		return specerr.Invalid(prefix, "macvlan.parent", "%v", err)
	}
	if m.Parent == name {
		return specerr.Invalid(prefix, "macvlan.parent", "%s is the link's own name", name)
	}
	if _, ok := macvlanModes[m.Mode]; m.Mode != "" && !ok {
		return specerr.Invalid(prefix, "macvlan.mode", "%q is not one of bridge, private, vepa, passthru, source", m.Mode)
	}
	return nil
}

func (v *VRF) validate(prefix string) error {
	switch v.Table {
	case 0:
		return specerr.Invalid(prefix, "vrf.table", "required (1..4294967295)")
	case 253, 254, 255:
		return specerr.Invalid(prefix, "vrf.table", "%d is a table the kernel reserves (default, main, local)", v.Table)
	}
	return nil
}

// lowered is implemented by the settings of kinds created on top of
// another link of the namespace (the lower link), named in the spec and
// given to the kernel by index.
type lowered interface {
	// lower returns the spec field and the lower link's name ("" none).
	lower() (field, name string)
	// withLower returns the settings with the lower link's index.
	withLower(index int) linkkind.Settings
}

// nlattr is one netlink attribute of a link kind's IFLA_INFO_DATA.
type nlattr struct {
	typ  uint16
	data []byte
}

func u32attr(typ uint16, v uint32) nlattr {
	return nlattr{typ, binary.NativeEndian.AppendUint32(nil, v)}
}

// infoDataChanger is implemented by the settings of kinds whose in-place
// changes link sends itself, as one RTM_NEWLINK request carrying only the
// link's index and IFLA_LINKINFO (kind and the changed IFLA_INFO_DATA
// attributes). Requests built by vishvananda's LinkModify also carry the
// name, which kernels before 6.x refuse on a running link (EBUSY).
type infoDataChanger interface {
	// infoData returns the attributes that make c, nil when c is made by
	// its Apply function.
	infoData(c linkkind.Change) []nlattr
}

// Kernel values of the macvlan modes (IFLA_MACVLAN_MODE).
const (
	macvlanModePrivate  = 1
	macvlanModeVEPA     = 2
	macvlanModeBridge   = 4
	macvlanModePassthru = 8
	macvlanModeSource   = 16
	iflaMacvlanMode     = 1
)

var macvlanModeValues = map[string]uint32{
	"private": macvlanModePrivate, "vepa": macvlanModeVEPA, "bridge": macvlanModeBridge,
	"passthru": macvlanModePassthru, "source": macvlanModeSource,
}

// vxlanSettings creates a vxlan link.
type vxlanSettings struct {
	v        VXLAN
	devIndex int // the index of v.Dev, resolved just before creation
}

func (vxlanSettings) Kind() string    { return "vxlan" }
func (vxlanSettings) Validate() error { return nil } // Spec.validate checks VXLAN

func (s vxlanSettings) Describe() string {
	parts := []string{"vxlan vni " + strconv.FormatUint(uint64(s.v.VNI), 10)}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("remote", s.v.Remote)
	add("group", s.v.Group)
	add("local", s.v.Local)
	if s.v.Port != 0 {
		add("port", strconv.Itoa(s.v.Port))
	}
	add("dev", s.v.Dev)
	if s.v.TTL != 0 {
		add("ttl", strconv.Itoa(s.v.TTL))
	}
	if s.v.Learning != nil {
		add("learning", strconv.FormatBool(*s.v.Learning))
	}
	return strings.Join(parts, " ")
}

func (s vxlanSettings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	l := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: int(s.v.VNI), VtepDevIndex: s.devIndex, Port: s.v.Port, TTL: s.v.TTL, Learning: true}
	if s.v.Learning != nil {
		l.Learning = *s.v.Learning
	}
	if s.v.Remote != "" {
		l.Group = net.ParseIP(s.v.Remote)
	}
	if s.v.Group != "" {
		l.Group = net.ParseIP(s.v.Group)
	}
	if s.v.Local != "" {
		l.SrcAddr = net.ParseIP(s.v.Local)
	}
	return l, nil, nil
}

func (s vxlanSettings) lower() (string, string) { return "vxlan.dev", s.v.Dev }
func (s vxlanSettings) withLower(index int) linkkind.Settings {
	s.devIndex = index
	return s
}

// Diff compares the vxlan with the link. TTL, learning, and the remote or
// local address (when set on both sides, in the same family) are changed
// in place; any other difference (vni, port, dev, group, or a remote or
// local address added, removed or changing family) recreates the link.
func (s vxlanSettings) Diff(have linkkind.Observed) (string, []linkkind.Change) {
	l, ok := have.Link.(*netlink.Vxlan)
	if !ok {
		return "", nil // predicted or unknown: nothing to compare
	}
	var (
		recreate []string
		changes  []linkkind.Change
	)
	diff := func(field, from, to string) {
		if from != to {
			recreate = append(recreate, field+" "+orUnknown(from)+" -> "+orUnknown(to))
		}
	}
	inPlace := func(field, from, to string) {
		if from != to {
			changes = append(changes, linkkind.Change{Field: "vxlan." + field, From: from, To: to, Apply: applyInfoDataOnly})
		}
	}
	// addr compares an address the kernel changes in place when it is set
	// on both sides in the same family.
	addr := func(field, from, to string) {
		f, errF := netip.ParseAddr(from)
		t, errT := netip.ParseAddr(to)
		if errF == nil && errT == nil && f.Is4() == t.Is4() {
			inPlace(field, from, to)
			return
		}
		diff(field, from, to)
	}
	diff("vni", strconv.Itoa(l.VxlanId), strconv.FormatUint(uint64(s.v.VNI), 10))
	remote, group := "", ""
	if l.Group != nil {
		if a := ipString(l.Group); l.Group.IsMulticast() {
			group = a
		} else {
			remote = a
		}
	}
	diff("group", group, s.v.Group)
	if s.v.Port != 0 {
		diff("port", strconv.Itoa(l.Port), strconv.Itoa(s.v.Port))
	}
	diff("dev", have.Names[l.VtepDevIndex], s.v.Dev)
	addr("remote", remote, s.v.Remote)
	addr("local", ipString(l.SrcAddr), s.v.Local)
	if s.v.TTL != 0 {
		inPlace("ttl", strconv.Itoa(l.TTL), strconv.Itoa(s.v.TTL))
	}
	if s.v.Learning != nil {
		inPlace("learning", strconv.FormatBool(l.Learning), strconv.FormatBool(*s.v.Learning))
	}
	if len(recreate) > 0 {
		return "vxlan " + strings.Join(recreate, ", "), nil
	}
	return "", changes
}

// vxlan attributes (IFLA_VXLAN_*) changed in place.
const (
	iflaVxlanGroup    = 2
	iflaVxlanLocal    = 4
	iflaVxlanTTL      = 5
	iflaVxlanLearning = 7
	iflaVxlanGroup6   = 16
	iflaVxlanLocal6   = 17
)

func (vxlanSettings) infoData(c linkkind.Change) []nlattr {
	switch c.Field {
	case "vxlan.ttl":
		ttl, _ := strconv.Atoi(c.To)
		return []nlattr{{iflaVxlanTTL, []byte{uint8(ttl)}}}
	case "vxlan.learning":
		var v byte
		if c.To == "true" {
			v = 1
		}
		return []nlattr{{iflaVxlanLearning, []byte{v}}}
	case "vxlan.remote", "vxlan.local":
		a, err := netip.ParseAddr(c.To)
		if err != nil {
			return nil
		}
		typ4, typ6 := uint16(iflaVxlanGroup), uint16(iflaVxlanGroup6)
		if c.Field == "vxlan.local" {
			typ4, typ6 = iflaVxlanLocal, iflaVxlanLocal6
		}
		if a.Is4() {
			return []nlattr{{typ4, a.AsSlice()}}
		}
		return []nlattr{{typ6, a.AsSlice()}}
	}
	return nil
}

// applyInfoDataOnly is the Apply of changes that package link sends as
// IFLA_INFO_DATA itself (see infoDataChanger): vishvananda's Handle cannot
// build them.
func applyInfoDataOnly(*netlink.Handle, netlink.Link) error {
	return fmt.Errorf("change made through IFLA_INFO_DATA only: %w", errors.ErrUnsupported)
}

func ipString(ip net.IP) string {
	if len(ip) == 0 || ip.IsUnspecified() {
		return ""
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ip.String()
	}
	return a.Unmap().String()
}

// macvlanSettings creates a macvlan link.
type macvlanSettings struct {
	m           MACVLAN
	parentIndex int // the index of m.Parent, resolved just before creation
}

func (macvlanSettings) Kind() string    { return "macvlan" }
func (macvlanSettings) Validate() error { return nil } // Spec.validate checks MACVLAN

func (s macvlanSettings) Describe() string {
	d := "macvlan parent " + s.m.Parent
	if s.m.Mode != "" {
		d += " mode " + s.m.Mode
	}
	return d
}

func (s macvlanSettings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	attrs.ParentIndex = s.parentIndex
	return &netlink.Macvlan{LinkAttrs: attrs, Mode: macvlanModes[s.m.Mode]}, nil, nil
}

func (s macvlanSettings) lower() (string, string) { return "macvlan.parent", s.m.Parent }
func (s macvlanSettings) withLower(index int) linkkind.Settings {
	s.parentIndex = index
	return s
}

func (s macvlanSettings) Diff(have linkkind.Observed) (string, []linkkind.Change) {
	l, ok := have.Link.(*netlink.Macvlan)
	if !ok {
		return "", nil
	}
	if p := have.Names[l.ParentIndex]; p != s.m.Parent || l.NetNsID >= 0 {
		if l.NetNsID >= 0 {
			p = fmt.Sprintf("index %d in netnsid %d", l.ParentIndex, l.NetNsID)
		}
		return "macvlan parent " + orUnknown(p) + " -> " + s.m.Parent, nil
	}
	mode := macvlanModeName(l.Mode)
	if s.m.Mode == "" || s.m.Mode == mode {
		return "", nil
	}
	if s.m.Mode == "passthru" || mode == "passthru" {
		return "macvlan mode " + mode + " -> " + s.m.Mode + " (the kernel cannot change passthru in place)", nil
	}
	return "", []linkkind.Change{{Field: "macvlan.mode", From: mode, To: s.m.Mode, Apply: applyInfoDataOnly}}
}

func (macvlanSettings) infoData(c linkkind.Change) []nlattr {
	if c.Field != "macvlan.mode" {
		return nil
	}
	return []nlattr{u32attr(iflaMacvlanMode, macvlanModeValues[c.To])}
}

// vrfSettings creates a vrf link.
type vrfSettings struct{ v VRF }

func (vrfSettings) Kind() string    { return "vrf" }
func (vrfSettings) Validate() error { return nil } // Spec.validate checks VRF
func (s vrfSettings) Describe() string {
	return "vrf table " + strconv.FormatUint(uint64(s.v.Table), 10)
}

func (s vrfSettings) Link(attrs netlink.LinkAttrs) (netlink.Link, func(), error) {
	return &netlink.Vrf{LinkAttrs: attrs, Table: s.v.Table}, nil, nil
}

func (s vrfSettings) Diff(have linkkind.Observed) (string, []linkkind.Change) {
	l, ok := have.Link.(*netlink.Vrf)
	if !ok || l.Table == s.v.Table {
		return "", nil
	}
	return fmt.Sprintf("vrf table %d -> %d", l.Table, s.v.Table), nil
}
