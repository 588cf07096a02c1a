package selector

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// Selector picks network devices by what the hardware reports instead of by
// kernel name. Every field that is set must match (logical AND); fields left
// empty (nil for Physical) match any device. A selector with no field set is
// invalid: it would select every device.
//
// Driver, HardwareAddr, PermanentAddr and BusPath are patterns in the syntax
// of path.Match ('*', '?', '[a-f]', '\' escapes); a pattern without
// metacharacters matches only itself. HardwareAddr, PermanentAddr and
// BusPath hold hexadecimal numbers and are compared case-insensitively;
// Driver is compared as is. A device that lacks a property (a veth has no
// bus path, most virtual devices no permanent address) never matches a
// field set for it, not even the pattern "*".
type Selector struct {
	// Driver is the kernel driver as ethtool reports it, e.g. "virtio_net",
	// "e1000e", or a pattern such as "mlx5*".
	Driver string `json:"driver,omitempty" yaml:"driver,omitempty"`
	// HardwareAddr is a pattern for the current link-layer address, e.g.
	// "*:f0:ab". Ports enslaved to a bond carry the bond's address; the
	// bond package matches its members by the address they had before (the
	// one the bonding driver restores on release). A VLAN carries its
	// parent's address; MatchOne does not count it as a second match.
	HardwareAddr string `json:"hardwareAddr,omitempty" yaml:"hardwareAddr,omitempty"`
	// PermanentAddr is a pattern for the address burnt into the device
	// (link.Status.PermHardwareAddr).
	PermanentAddr string `json:"permanentAddr,omitempty" yaml:"permanentAddr,omitempty"`
	// BusPath is a pattern for the bus address ethtool reports
	// (link.Status.BusInfo), e.g. "0000:00:03.0", "0000:3b:*" or "0*",
	// which selects the only PCI device of a machine that has one.
	BusPath string `json:"busPath,omitempty" yaml:"busPath,omitempty"`
	// PCIID is "VENDOR:DEVICE", four hexadecimal digits each, e.g.
	// "1AF4:1000" or "8086:15f3", in either case.
	PCIID string `json:"pciID,omitempty" yaml:"pciID,omitempty"`
	// Physical, when set, selects only real hardware (true) or only
	// virtual devices (false); see IsPhysical for the rule.
	Physical *bool `json:"physical,omitempty" yaml:"physical,omitempty"`
}

// ErrAmbiguous is wrapped by the error of MatchOne when the selector matches
// more than one device.
var ErrAmbiguous = errors.New("selector matches several devices")

// IsZero reports whether no field of s is set.
func (s Selector) IsZero() bool {
	return s.Driver == "" && s.HardwareAddr == "" && s.PermanentAddr == "" &&
		s.BusPath == "" && s.PCIID == "" && s.Physical == nil
}

// String renders the fields that are set as "field=value" pairs in a fixed
// order, e.g. "driver=virtio_net busPath=0*"; "{}" for the zero Selector.
func (s Selector) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("driver", s.Driver)
	add("hardwareAddr", s.HardwareAddr)
	add("permanentAddr", s.PermanentAddr)
	add("busPath", s.BusPath)
	add("pciID", s.PCIID)
	if s.Physical != nil {
		add("physical", fmt.Sprint(*s.Physical))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return strings.Join(parts, " ")
}

// Validate reports the first invalid field of s: a malformed pattern, a
// malformed PCI ID, or no field set at all. The error names the field and
// wraps netprim.ErrInvalidSpec, e.g.
// `selector: busPath: bad pattern "00:[": invalid spec`.
func (s Selector) Validate() error {
	if s.IsZero() {
		return invalid("", "no field set (a selector must name at least one property)")
	}
	for _, f := range []struct{ name, pattern string }{
		{"driver", s.Driver},
		{"hardwareAddr", s.HardwareAddr},
		{"permanentAddr", s.PermanentAddr},
		{"busPath", s.BusPath},
	} {
		if err := ValidatePattern(f.pattern); err != nil {
			return invalid(f.name, err.Error())
		}
	}
	if s.PCIID != "" {
		if _, _, err := ParsePCIID(s.PCIID); err != nil {
			return invalid("pciID", err.Error())
		}
	}
	return nil
}

func invalid(field, msg string) error {
	if field == "" {
		return fmt.Errorf("selector: %s: %w", msg, netprim.ErrInvalidSpec)
	}
	return fmt.Errorf("selector: %s: %s: %w", field, msg, netprim.ErrInvalidSpec)
}

// Matches reports whether l satisfies every field of s. It does not
// validate s: a malformed pattern matches nothing.
func (s Selector) Matches(l link.Status) bool {
	for _, c := range s.checks(l) {
		if !c.ok {
			return false
		}
	}
	return true
}

// Match returns the links, in the order given, that satisfy s. The only
// error is an invalid s (see Validate); no match is an empty result.
func (s Selector) Match(links []link.Status) ([]link.Status, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var out []link.Status
	for _, l := range links {
		if s.Matches(l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// MatchOne returns the one link that satisfies s, for configurations that
// name a single device: a VLAN's parent, a link entry of a document. When
// none does, the error wraps netprim.ErrNotFound and says what was looked
// for; when several do, it wraps ErrAmbiguous and netprim.ErrInvalidSpec and
// names them all.
//
// A stacked link (a VLAN, ipvlan or ipvtap) whose lower link in the same
// namespace s also matches is not counted as a second match: it shows the
// address of the link it sits on, so without this rule a selector by
// hardwareAddr would become ambiguous as soon as a VLAN is put on the
// device it selects. Match and MatchAny have no such rule: they return
// every link that satisfies s.
func (s Selector) MatchOne(links []link.Status) (link.Status, error) {
	m, err := s.Match(links)
	if err != nil {
		return link.Status{}, err
	}
	m = dropStacked(m)
	switch len(m) {
	case 1:
		return m[0], nil
	case 0:
		return link.Status{}, fmt.Errorf("selector %s: no device matches (among %d): %w", s, len(links), netprim.ErrNotFound)
	}
	names := make([]string, len(m))
	for i, l := range m {
		names[i] = l.Name
	}
	return link.Status{}, fmt.Errorf("selector %s: %w: %s: %w", s, ErrAmbiguous, strings.Join(names, ", "), netprim.ErrInvalidSpec)
}

// stackedKinds are the link kinds that take the address of the link they
// sit on.
var stackedKinds = map[string]bool{"vlan": true, "ipvlan": true, "ipvtap": true}

// dropStacked returns the matched links m without the stacked links whose
// lower link (in the same namespace) is in m too.
func dropStacked(m []link.Status) []link.Status {
	if len(m) < 2 {
		return m
	}
	matched := make(map[int]bool, len(m))
	for _, l := range m {
		matched[l.Index] = true
	}
	out := m[:0:0]
	for _, l := range m {
		if stackedKinds[l.Kind] && l.ParentNetnsID < 0 && l.ParentIndex != l.Index && matched[l.ParentIndex] {
			continue
		}
		out = append(out, l)
	}
	return out
}

// MatchAny returns the links, in the order given and each once, that
// satisfy at least one of sels: the ports of a bond given by selectors.
// Every selector must be valid and match at least one link; the error of
// one that matches none wraps netprim.ErrNotFound and names it by its
// position.
func MatchAny(sels []Selector, links []link.Status) ([]link.Status, error) {
	picked := make([]bool, len(links))
	var errs []error
	for i, s := range sels {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("selector[%d]: %w", i, err))
			continue
		}
		n := 0
		for j, l := range links {
			if s.Matches(l) {
				picked[j] = true
				n++
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("selector[%d] %s: no device matches: %w", i, s, netprim.ErrNotFound))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []link.Status
	for j, l := range links {
		if picked[j] {
			out = append(out, l)
		}
	}
	return out, nil
}

// ValidatePattern reports whether p is a well-formed pattern in the syntax
// of path.Match. The empty pattern is valid (the field is unset).
func ValidatePattern(p string) error {
	if p == "" {
		return nil
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", p, err)
	}
	return nil
}

// matchFold matches value against pattern with ASCII letters folded to
// lower case on both sides, so that hexadecimal digits match in either
// case. Other bytes are left alone (strings.ToLower would turn invalid
// UTF-8, which makes a pattern malformed, into U+FFFD).
func matchFold(pattern, value string) bool {
	ok, err := path.Match(asciiLower(pattern), asciiLower(value))
	return err == nil && ok
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func matchExact(pattern, value string) bool {
	ok, err := path.Match(pattern, value)
	return err == nil && ok
}
