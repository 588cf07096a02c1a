package link

import (
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
	"github.com/netprim/netprim/internal/specerr"
)

// MinMTU and MaxMTU bound Spec.MTU: the IPv4 minimum and the largest
// IP packet.
const (
	MinMTU = 68
	MaxMTU = 65535
)

// MaxAliasLen is the longest alias (IFLA_IFALIAS) the kernel stores.
const MaxAliasLen = 255

// MaxAltNameLen is the longest alternative name the kernel accepts
// (ALTIFNAMSIZ minus the terminating NUL).
const MaxAltNameLen = 127

// Spec is the desired state of one link.
//
// With Kind empty the link must already exist (a physical device, or one
// made by someone else): Apply manages the attributes the Spec sets and
// never creates or deletes it. With Kind set Apply creates the link when it
// is missing, marks it as owned (see Marker) and, with netprim.WithPrune,
// deletes owned links that are no longer wanted.
//
// Every attribute field left at its zero value (nil for pointers) is not
// managed: Apply leaves whatever the kernel has.
type Spec struct {
	// Name is the interface name (at most 15 bytes; no '/', ':' or
	// white space). Required.
	Name string `json:"name" yaml:"name"`
	// Kind is the link kind (IFLA_INFO_KIND) Apply creates: "veth" (set
	// Veth), "vxlan" (set VXLAN), "macvlan" (set MACVLAN), "vrf" (set
	// VRF), or a kind that takes no parameters, such as "dummy", "ifb",
	// "nlmon" or "vcan"; it defaults to the kind of the sub-structure set.
	// Bonds, VLANs and bridges are created by their own packages (bond,
	// vlan, bridge), which set Settings. Empty: the link must exist
	// already.
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Veth configures the peer of a veth link (Kind "veth").
	Veth *Veth `json:"veth,omitempty" yaml:"veth,omitempty"`
	// VXLAN configures a vxlan link (Kind "vxlan").
	VXLAN *VXLAN `json:"vxlan,omitempty" yaml:"vxlan,omitempty"`
	// MACVLAN configures a macvlan link (Kind "macvlan").
	MACVLAN *MACVLAN `json:"macvlan,omitempty" yaml:"macvlan,omitempty"`
	// VRF configures a vrf link (Kind "vrf").
	VRF *VRF `json:"vrf,omitempty" yaml:"vrf,omitempty"`
	// MTU in bytes, MinMTU..MaxMTU; 0 leaves it unmanaged. For a veth it
	// applies to both ends at creation.
	MTU int `json:"mtu,omitempty" yaml:"mtu,omitempty"`
	// Up sets the administrative state (IFF_UP): true up, false down, nil
	// unmanaged.
	Up *bool `json:"up,omitempty" yaml:"up,omitempty"`
	// HardwareAddr is the link-layer address, e.g. "02:00:5e:10:00:01"
	// (Normalize makes it lowercase, colon-separated); "" is unmanaged.
	HardwareAddr string `json:"hardwareAddr,omitempty" yaml:"hardwareAddr,omitempty"`
	// Alias is the interface alias (ifalias): nil unmanaged, "" removes
	// it. At most MaxAliasLen bytes.
	Alias *string `json:"alias,omitempty" yaml:"alias,omitempty"`
	// TxQueueLen is the transmit queue length; 0 leaves it unmanaged.
	TxQueueLen int `json:"txQueueLen,omitempty" yaml:"txQueueLen,omitempty"`
	// Master is the name of the link's master (a bridge, bond or vrf):
	// nil leaves it unmanaged, a pointer to "" means "no master" (Apply
	// releases the link from any master). In YAML `master: ""` says "no
	// master" and an absent key leaves it alone.
	Master *string `json:"master,omitempty" yaml:"master,omitempty"`

	// Settings is the kind-specific part of a link created by a package
	// built on link (bond, vlan, bridge set it; Kind then equals its
	// Kind()). It is not part of the document format.
	Settings linkkind.Settings `json:"-" yaml:"-"`
}

// Veth configures the peer end of a veth pair.
type Veth struct {
	// Peer is the name of the other end. Required.
	Peer string `json:"peer" yaml:"peer"`
	// PeerNetns is the network namespace the peer is created in: a name
	// (the namespace at /var/run/netns/NAME, as "ip netns add" makes it)
	// or an absolute path such as /proc/PID/ns/net. Empty: the same
	// namespace as the link.
	PeerNetns string `json:"peerNetns,omitempty" yaml:"peerNetns,omitempty"`
}

// packageKinds are the kinds whose links are created by their own
// packages, through Settings. link.Apply never prunes them.
var packageKinds = map[string]string{
	"bond":      "bond",
	"bridge":    "bridge",
	"vlan":      "vlan",
	"wireguard": "wireguard",
}

// paramKinds take parameters that link does not offer (yet): creating
// them with only a kind name would fail in the kernel.
var paramKinds = map[string]bool{
	"bareudp": true, "geneve": true, "gre": true, "gretap": true, "gtp": true,
	"hsr": true, "ip6gre": true, "ip6gretap": true, "ip6tnl": true, "ipip": true,
	"ipvlan": true, "ipvtap": true, "macsec": true, "macvtap": true,
	"netkit": true, "sit": true, "tun": true, "vti": true, "vti6": true,
	"vxcan": true, "xfrm": true,
}

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Normalize puts s in canonical form so that equivalent specs compare
// equal: a lowercase kind ("veth" when Veth is set and Kind is empty, or
// the Settings' kind), a lowercase colon-separated hardware address.
// Invalid values are left for Validate to report.
func (s *Spec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Kind = strings.ToLower(strings.TrimSpace(s.Kind))
	if s.Kind == "" && s.Settings != nil {
		s.Kind = s.Settings.Kind()
	}
	if s.Kind == "" {
		s.Kind = s.paramKind()
	}
	if s.HardwareAddr != "" {
		if hw, err := net.ParseMAC(strings.TrimSpace(s.HardwareAddr)); err == nil {
			s.HardwareAddr = hw.String()
		}
	}
	if s.Veth != nil {
		s.Veth.Peer = strings.TrimSpace(s.Veth.Peer)
		s.Veth.PeerNetns = strings.TrimSpace(s.Veth.PeerNetns)
	}
	if s.VXLAN != nil {
		s.VXLAN.normalize()
	}
	if s.MACVLAN != nil {
		s.MACVLAN.normalize()
	}
}

// normalized returns a normalized copy of s that shares no pointer with
// it: Normalize changes the sub-structures, which are the caller's.
func (s Spec) normalized() Spec {
	if s.Veth != nil {
		v := *s.Veth
		s.Veth = &v
	}
	if s.VXLAN != nil {
		v := *s.VXLAN
		if v.Learning != nil {
			l := *v.Learning
			v.Learning = &l
		}
		s.VXLAN = &v
	}
	if s.MACVLAN != nil {
		m := *s.MACVLAN
		s.MACVLAN = &m
	}
	if s.VRF != nil {
		v := *s.VRF
		s.VRF = &v
	}
	s.Normalize()
	return s
}

// paramKind returns the kind of the kind-specific sub-structure set (Veth,
// VXLAN, MACVLAN, VRF) set first, "" when none is.
func (s *Spec) paramKind() string {
	if p := s.params(); len(p) > 0 {
		return p[0]
	}
	return ""
}

// params returns the kinds whose sub-structure is set, in field order.
func (s *Spec) params() []string {
	var p []string
	if s.Veth != nil {
		p = append(p, "veth")
	}
	if s.VXLAN != nil {
		p = append(p, "vxlan")
	}
	if s.MACVLAN != nil {
		p = append(p, "macvlan")
	}
	if s.VRF != nil {
		p = append(p, "vrf")
	}
	return p
}

// Validate checks every field of a normalized copy of s (s itself is not
// changed), so it accepts exactly what Apply accepts: a spec that Normalize
// makes valid is valid. The error names the field, e.g.
// "link veth0: mtu: 70000 out of range 68..65535", and wraps
// netprim.ErrInvalidSpec.
func (s Spec) Validate() error {
	s = s.normalized()
	name := s.Name
	if name == "" {
		name = "(unnamed)"
	}
	return s.validate("link " + name + ": ")
}

// Validate checks a list of specs as Apply takes them, normalized copies
// (want is not changed): every spec's fields, duplicate names, and a veth
// pair given twice. Errors name the spec by index ("link:
// spec[2].mtu: ..."), are joined, and wrap netprim.ErrInvalidSpec.
func Validate(want []Spec) error {
	norm := make([]Spec, len(want))
	for i, s := range want {
		norm[i] = s.normalized()
	}
	return validate(norm)
}

// validate is Validate for normalized specs.
func validate(want []Spec) error {
	var errs []error
	seen := make(map[string]int, len(want))
	for i, s := range want {
		prefix := fmt.Sprintf("link: spec[%d].", i)
		if err := s.validate(prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, ok := seen[s.Name]; ok {
			errs = append(errs, specerr.Invalid(prefix, "name", "%s is also spec[%d]", s.Name, j))
			continue
		}
		seen[s.Name] = i
	}
	// A veth pair is one spec: its peer may be managed by a Spec without
	// a kind, but not created a second time from the other end.
	for i, s := range want {
		if s.Veth == nil || s.Veth.PeerNetns != "" {
			continue
		}
		j, ok := seen[s.Veth.Peer]
		if !ok || j == i {
			continue
		}
		p := want[j]
		if p.Kind != "" {
			errs = append(errs, specerr.Invalid(fmt.Sprintf("link: spec[%d].", j), "kind",
				"%s is the veth peer of spec[%d] (%s): a veth pair is one spec; leave the peer's kind empty", p.Name, i, s.Name))
		}
	}
	return errors.Join(errs...)
}

func (s Spec) validate(prefix string) error {
	if err := validName(s.Name); err != nil {
		return specerr.Invalid(prefix, "name", "%v", err)
	}
	if err := s.validateKind(prefix); err != nil {
		return err
	}
	if s.MTU != 0 && (s.MTU < MinMTU || s.MTU > MaxMTU) {
		return specerr.Invalid(prefix, "mtu", "%d out of range %d..%d", s.MTU, MinMTU, MaxMTU)
	}
	if s.HardwareAddr != "" {
		if err := validHardwareAddr(s.HardwareAddr); err != nil {
			return specerr.Invalid(prefix, "hardwareAddr", "%v", err)
		}
	}
	if s.Alias != nil {
		if len(*s.Alias) > MaxAliasLen {
			return specerr.Invalid(prefix, "alias", "%d bytes, longer than %d", len(*s.Alias), MaxAliasLen)
		}
		if strings.ContainsRune(*s.Alias, 0) {
			return specerr.Invalid(prefix, "alias", "contains a NUL byte")
		}
	}
	if s.TxQueueLen < 0 || uint64(s.TxQueueLen) > math.MaxUint32 {
		return specerr.Invalid(prefix, "txQueueLen", "%d out of range 0..%d", s.TxQueueLen, uint64(math.MaxUint32))
	}
	if s.Master != nil && *s.Master != "" {
		if err := validName(*s.Master); err != nil {
			return specerr.Invalid(prefix, "master", "%v", err)
		}
		if *s.Master == s.Name {
			return specerr.Invalid(prefix, "master", "%s cannot be its own master", s.Name)
		}
	}
	return nil
}

func (s Spec) validateKind(prefix string) error {
	if s.Kind != "" && !kindPattern.MatchString(s.Kind) {
		return specerr.Invalid(prefix, "kind", "%q is not a link kind name", s.Kind)
	}
	params := s.params()
	if s.Settings != nil {
		if len(params) > 0 {
			return specerr.Invalid(prefix, params[0], "set together with %s settings", s.Settings.Kind())
		}
		if s.Kind != s.Settings.Kind() {
			return specerr.Invalid(prefix, "kind", "%q but the settings are for %q", s.Kind, s.Settings.Kind())
		}
		if err := s.Settings.Validate(); err != nil {
			return fmt.Errorf("%s%w: %w", prefix, err, netprim.ErrInvalidSpec)
		}
		return nil
	}
	if len(params) > 1 {
		return specerr.Invalid(prefix, params[1], "set together with %s: a link has one kind", params[0])
	}
	if len(params) == 1 && s.Kind != params[0] {
		return specerr.Invalid(prefix, params[0], "set but kind is %q", s.Kind)
	}
	switch {
	case s.Kind == "vxlan":
		if s.VXLAN == nil {
			return specerr.Invalid(prefix, "vxlan", "kind vxlan needs vxlan.vni")
		}
		return s.VXLAN.validate(prefix)
	case s.Kind == "macvlan":
		if s.MACVLAN == nil {
			return specerr.Invalid(prefix, "macvlan", "kind macvlan needs macvlan.parent")
		}
		return s.MACVLAN.validate(prefix, s.Name)
	case s.Kind == "vrf":
		if s.VRF == nil {
			return specerr.Invalid(prefix, "vrf", "kind vrf needs vrf.table")
		}
		return s.VRF.validate(prefix)
	case s.Kind == "veth":
		if s.Veth == nil {
			return specerr.Invalid(prefix, "veth", "kind veth needs veth.peer")
		}
		if err := validName(s.Veth.Peer); err != nil {
			return specerr.Invalid(prefix, "veth.peer", "%v", err)
		}
		if s.Veth.PeerNetns == "" && s.Veth.Peer == s.Name {
			return specerr.Invalid(prefix, "veth.peer", "%s is the link's own name", s.Name)
		}
		if err := validNetns(s.Veth.PeerNetns); err != nil {
			return specerr.Invalid(prefix, "veth.peerNetns", "%v", err)
		}
	case packageKinds[s.Kind] != "":
		return specerr.Invalid(prefix, "kind", "%s links are created by package %s", s.Kind, packageKinds[s.Kind])
	case paramKinds[s.Kind]:
		return specerr.Invalid(prefix, "kind", "%s links need parameters that package link does not offer", s.Kind)
	}
	return nil
}

// ValidName reports whether name is a valid interface name by the kernel's
// rules (dev_valid_name): 1 to 15 bytes, not "." or "..", no '/', ':', NUL
// or white space. The error says what is wrong, without the field name.
func ValidName(name string) error { return validName(name) }

func validName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > 15:
		return fmt.Errorf("%q is %d bytes, longer than 15", name, len(name))
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid name", name)
	}
	if i := strings.IndexFunc(name, badNameRune); i >= 0 {
		return fmt.Errorf("%q contains %q", name, name[i])
	}
	return nil
}

// validAltName applies the rules for alternative names: like interface
// names but up to MaxAltNameLen bytes.
func validAltName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > MaxAltNameLen:
		return fmt.Errorf("%q is %d bytes, longer than %d", name, len(name), MaxAltNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid name", name)
	}
	if i := strings.IndexFunc(name, badNameRune); i >= 0 {
		return fmt.Errorf("%q contains %q", name, name[i])
	}
	return nil
}

func badNameRune(r rune) bool {
	return r == '/' || r == ':' || r == 0 || unicode.IsSpace(r)
}

func validHardwareAddr(s string) error {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return fmt.Errorf("%q is not a hardware address", s)
	}
	if len(hw) == 6 {
		if hw[0]&1 != 0 {
			return fmt.Errorf("%s is a multicast address", hw)
		}
		if string(hw) == "\x00\x00\x00\x00\x00\x00" {
			return fmt.Errorf("%s is the zero address", hw)
		}
	}
	return nil
}

func validNetns(s string) error {
	if s == "" || filepath.IsAbs(s) {
		return nil
	}
	if s == "." || s == ".." || strings.ContainsRune(s, '/') {
		return fmt.Errorf("%q is neither a namespace name nor an absolute path", s)
	}
	return nil
}
