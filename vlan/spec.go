package vlan

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

// Protocols of a VLAN tag, as "ip -d link" prints them.
const (
	// Protocol8021Q is the customer VLAN tag (TPID 0x8100), the default.
	Protocol8021Q = "802.1Q"
	// Protocol8021AD is the service VLAN tag of QinQ (TPID 0x88a8).
	Protocol8021AD = "802.1ad"
)

// MinID and MaxID bound Spec.ID: 0 and 4095 are reserved by 802.1Q.
const (
	MinID = 1
	MaxID = 4094
)

// MaxPCP is the largest 802.1p priority code point of a QoS map.
const MaxPCP = 7

// Spec is the desired state of one VLAN link.
type Spec struct {
	// Name is the interface name; "" means the default "PARENT.ID"
	// (Normalize fills it in, or Plan and Apply once a ParentSelector is
	// resolved). At most 15 bytes.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Parent is the name of the link the VLAN sits on. Exactly one of
	// Parent and ParentSelector is required.
	Parent string `json:"parent,omitempty" yaml:"parent,omitempty"`
	// ParentSelector picks the parent by what its hardware reports
	// instead of by name (see package selector). Plan and Apply resolve
	// it against the links of the namespace; it must match exactly one.
	ParentSelector *selector.Selector `json:"parentSelector,omitempty" yaml:"parentSelector,omitempty"`
	// ID is the VLAN id, MinID..MaxID. Required.
	ID int `json:"id" yaml:"id"`
	// Protocol is the tag protocol, Protocol8021Q (the default) or
	// Protocol8021AD; case does not matter.
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	// MTU in bytes (68..65535, at most the parent's); 0 leaves it
	// unmanaged (the kernel takes the parent's).
	MTU int `json:"mtu,omitempty" yaml:"mtu,omitempty"`
	// Up sets the administrative state: nil leaves it unmanaged.
	Up *bool `json:"up,omitempty" yaml:"up,omitempty"`
	// IngressQoS maps the 802.1p priority of received frames (0..7) to
	// the packet priority (skb->priority). nil leaves the map unmanaged;
	// an empty map removes every mapping. A mapping to 0 is no mapping.
	IngressQoS map[uint32]uint32 `json:"ingressQoS,omitempty" yaml:"ingressQoS,omitempty"`
	// EgressQoS maps the packet priority of sent packets to the 802.1p
	// priority (0..7) of the tag. nil leaves the map unmanaged; an empty
	// map removes every mapping. A mapping to 0 is no mapping.
	EgressQoS map[uint32]uint32 `json:"egressQoS,omitempty" yaml:"egressQoS,omitempty"`
}

// DefaultName returns the name a VLAN link gets when Spec.Name is empty:
// "PARENT.ID", as vconfig and Talos name them.
func DefaultName(parent string, id int) string {
	return parent + "." + strconv.Itoa(id)
}

// Normalize puts s in canonical form: the default name, the protocol as
// "ip -d link" prints it, and no zero mappings in the QoS maps. Invalid
// values are left for Validate to report.
func (s *Spec) Normalize() {
	s.Parent = strings.TrimSpace(s.Parent)
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" && s.Parent != "" {
		s.Name = DefaultName(s.Parent, s.ID)
	}
	switch p := strings.ToLower(strings.TrimSpace(s.Protocol)); p {
	case "", "802.1q", "8021q", "0x8100":
		s.Protocol = Protocol8021Q
	case "802.1ad", "8021ad", "0x88a8":
		s.Protocol = Protocol8021AD
	}
	s.IngressQoS = dropZero(s.IngressQoS)
	s.EgressQoS = dropZero(s.EgressQoS)
}

// dropZero returns m without mappings to 0, keeping nil apart from empty.
func dropZero(m map[uint32]uint32) map[uint32]uint32 {
	if m == nil {
		return nil
	}
	out := make(map[uint32]uint32, len(m))
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// Validate checks every field of a normalized copy of s (s is not
// changed), so it accepts exactly what Plan and Apply accept, naming the
// bad field ("vlan eth0.0: id: 0 out of range 1..4094") and wrapping
// netprim.ErrInvalidSpec. With a ParentSelector and no Name, the default
// name cannot be checked before the selector is resolved: Plan and Apply
// check it then.
func (s Spec) Validate() error {
	s.Normalize() // a copy: Normalize makes new maps
	name := s.Name
	if name == "" {
		name = "(unnamed)"
	}
	return s.validate("vlan " + name + ": ")
}

// Validate checks a list of specs as Apply would take them (normalized
// copies; want is not modified): every spec's fields and duplicate names.
// Errors name the spec by index ("vlan: spec[1].id: ..."), are joined, and
// wrap netprim.ErrInvalidSpec.
func Validate(want []Spec) error {
	var errs []error
	seen := make(map[string]int, len(want))
	for i, s := range want {
		s.Normalize() // a copy: Normalize makes new maps
		prefix := fmt.Sprintf("vlan: spec[%d].", i)
		if err := s.validate(prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Name == "" {
			continue // named by a parent selector, checked once resolved
		}
		if j, ok := seen[s.Name]; ok {
			errs = append(errs, specerr.Invalid(prefix, "name", "%s is also spec[%d]", s.Name, j))
			continue
		}
		seen[s.Name] = i
	}
	return errors.Join(errs...)
}

func (s Spec) validate(prefix string) error {
	if s.ParentSelector != nil {
		if s.Parent != "" {
			return specerr.Invalid(prefix, "parentSelector", "set together with parent %s: give one of them", s.Parent)
		}
		if err := s.ParentSelector.Validate(); err != nil {
			return fmt.Errorf("%sparentSelector: %w", prefix, err)
		}
	} else if s.Parent == "" {
		return specerr.Invalid(prefix, "parent", "empty: set parent or parentSelector")
	} else if err := link.ValidName(s.Parent); err != nil {
		return specerr.Invalid(prefix, "parent", "%v", err)
	}
	if s.ID < MinID || s.ID > MaxID {
		return specerr.Invalid(prefix, "id", "%d out of range %d..%d", s.ID, MinID, MaxID)
	}
	// With a parent selector and no name, the default name is checked
	// once the selector is resolved.
	if s.Name != "" || s.ParentSelector == nil {
		if err := link.ValidName(s.Name); err != nil {
			if s.Name == DefaultName(s.Parent, s.ID) {
				return specerr.Invalid(prefix, "name", "the default name %v: set name", err)
			}
			return specerr.Invalid(prefix, "name", "%v", err)
		}
		if s.Name == s.Parent {
			return specerr.Invalid(prefix, "name", "%s is also the parent", s.Name)
		}
	}
	if s.Protocol != Protocol8021Q && s.Protocol != Protocol8021AD {
		return specerr.Invalid(prefix, "protocol", "%q is neither %s nor %s", s.Protocol, Protocol8021Q, Protocol8021AD)
	}
	if s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
		return specerr.Invalid(prefix, "mtu", "%d out of range 68..65535", s.MTU)
	}
	for _, from := range slices.Sorted(maps.Keys(s.IngressQoS)) {
		if from > MaxPCP {
			return specerr.Invalid(prefix, "ingressQoS", "priority %d out of range 0..%d", from, MaxPCP)
		}
	}
	for _, from := range slices.Sorted(maps.Keys(s.EgressQoS)) {
		if to := s.EgressQoS[from]; to > MaxPCP {
			return specerr.Invalid(prefix, "egressQoS", "%d maps to priority %d, out of range 0..%d", from, to, MaxPCP)
		}
	}
	return nil
}

// FormatQoS renders a QoS map as "ip -d link" does, sorted: "1:2 3:4";
// "" for an empty map.
func FormatQoS(m map[uint32]uint32) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%d", k, m[k])
	}
	return b.String()
}
