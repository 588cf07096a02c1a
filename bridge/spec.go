package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/link"
)

// Bounds of the STP timers the kernel accepts (net/bridge/br_private.h)
// and of the ageing time; all times are whole multiples of Tick.
const (
	MinForwardDelay = 2 * time.Second
	MaxForwardDelay = 30 * time.Second
	MinHelloTime    = 1 * time.Second
	MaxHelloTime    = 10 * time.Second
	MinMaxAge       = 6 * time.Second
	MaxMaxAge       = 40 * time.Second
	MinAgeingTime   = 10 * time.Millisecond
	MaxAgeingTime   = 1000000 * time.Second
	// Tick is the resolution of bridge times (the kernel's USER_HZ).
	Tick = 10 * time.Millisecond
)

// MinVID and MaxVID bound VLAN ids.
const (
	MinVID = 1
	MaxVID = 4094
)

// Spec is the desired state of one bridge. Fields left at their zero
// value (nil for pointers) are not managed: Apply leaves what the kernel
// has (a new bridge gets the kernel's defaults, noted on each field).
type Spec struct {
	// Name is the bridge's interface name (at most 15 bytes). Required.
	Name string `json:"name" yaml:"name"`
	// Ports are the links enslaved to the bridge. nil leaves the ports
	// unmanaged; otherwise links enslaved to the bridge that are not
	// listed are released (never deleted). In YAML and JSON a port
	// without VLANs may be given as its name alone: ports: [eth0, eth1].
	Ports []Port `json:"ports,omitempty" yaml:"ports,omitempty"`
	// STP enables the kernel's spanning tree protocol (default off).
	STP *bool `json:"stp,omitempty" yaml:"stp,omitempty"`
	// Priority is the STP bridge priority, 0..65535 (default 32768);
	// the lowest wins the root election.
	Priority *uint16 `json:"priority,omitempty" yaml:"priority,omitempty"`
	// ForwardDelay is the STP forward delay, MinForwardDelay..
	// MaxForwardDelay (default 15s). In YAML "15s"; in JSON nanoseconds.
	ForwardDelay time.Duration `json:"forwardDelay,omitempty" yaml:"forwardDelay,omitempty"`
	// HelloTime is the STP hello time, MinHelloTime..MaxHelloTime
	// (default 2s).
	HelloTime time.Duration `json:"helloTime,omitempty" yaml:"helloTime,omitempty"`
	// MaxAge is the STP maximum message age, MinMaxAge..MaxMaxAge
	// (default 20s).
	MaxAge time.Duration `json:"maxAge,omitempty" yaml:"maxAge,omitempty"`
	// AgeingTime is how long learned addresses are kept,
	// MinAgeingTime..MaxAgeingTime (default 300s).
	AgeingTime time.Duration `json:"ageingTime,omitempty" yaml:"ageingTime,omitempty"`
	// VLANFiltering makes the bridge forward by VLAN (default off). The
	// kernel must be built with CONFIG_BRIDGE_VLAN_FILTERING.
	VLANFiltering *bool `json:"vlanFiltering,omitempty" yaml:"vlanFiltering,omitempty"`
	// DefaultPVID is the VLAN new ports get as PVID, untagged
	// (default 1; 0 gives new ports no VLAN).
	DefaultPVID *uint16 `json:"defaultPVID,omitempty" yaml:"defaultPVID,omitempty"`
	// MulticastSnooping enables IGMP/MLD snooping (default on).
	MulticastSnooping *bool `json:"multicastSnooping,omitempty" yaml:"multicastSnooping,omitempty"`
	// MTU in bytes (68..65535); 0 leaves it unmanaged.
	MTU int `json:"mtu,omitempty" yaml:"mtu,omitempty"`
	// Up sets the administrative state: nil leaves it unmanaged.
	Up *bool `json:"up,omitempty" yaml:"up,omitempty"`
}

// Port is one port of a bridge.
type Port struct {
	// Name is the port's interface name. Required.
	Name string `json:"name" yaml:"name"`
	// VLANs are the port's VLANs (with VLANFiltering). nil leaves them
	// unmanaged; otherwise the port has exactly these, and the VLAN the
	// kernel gives new ports (DefaultPVID) is removed unless listed.
	VLANs []VLAN `json:"vlans,omitempty" yaml:"vlans,omitempty"`
}

// VLAN is one VLAN id, or a range of them, on a bridge port.
type VLAN struct {
	// VID is the VLAN id, MinVID..MaxVID.
	VID uint16 `json:"vid" yaml:"vid"`
	// VIDEnd, when set, makes a range VID..VIDEnd.
	VIDEnd uint16 `json:"vidEnd,omitempty" yaml:"vidEnd,omitempty"`
	// PVID makes VID the port's PVID: untagged frames received on the
	// port belong to it. At most one per port, and not on a range.
	PVID bool `json:"pvid,omitempty" yaml:"pvid,omitempty"`
	// Untagged sends the VLAN's frames out of the port without a tag.
	Untagged bool `json:"untagged,omitempty" yaml:"untagged,omitempty"`
}

// String renders v as "bridge vlan" would: "10", "20-29 untagged",
// "1 pvid untagged".
func (v VLAN) String() string {
	s := strconv.Itoa(int(v.VID))
	if v.VIDEnd != 0 && v.VIDEnd != v.VID {
		s += "-" + strconv.Itoa(int(v.VIDEnd))
	}
	return s + flagWords(v.PVID, v.Untagged, " ")
}

func flagWords(pvid, untagged bool, sep string) string {
	s := ""
	if pvid {
		s += sep + "pvid"
	}
	if untagged {
		s += sep + "untagged"
	}
	return s
}

// Ports builds a Ports list from names.
func Ports(names ...string) []Port {
	out := make([]Port, len(names))
	for i, n := range names {
		out[i] = Port{Name: n}
	}
	return out
}

// UnmarshalYAML accepts a port as its name alone or as a mapping.
func (p *Port) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = Port{Name: n.Value}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a port is a name or a mapping with name and vlans", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "name" && k != "vlans" {
			return fmt.Errorf("line %d: field %s not found in type bridge.Port", n.Content[i].Line, k)
		}
	}
	type plain Port
	var q plain
	if err := n.Decode(&q); err != nil {
		return err
	}
	*p = Port(q)
	return nil
}

// MarshalYAML writes a port without VLANs as its name alone.
func (p Port) MarshalYAML() (any, error) {
	if p.VLANs == nil {
		return p.Name, nil
	}
	type plain Port
	return plain(p), nil
}

// UnmarshalJSON accepts a port as its name alone or as an object.
func (p *Port) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		*p = Port{}
		return json.Unmarshal(b, &p.Name)
	}
	type plain Port
	var q plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return err
	}
	*p = Port(q)
	return nil
}

// MarshalJSON writes a port without VLANs as its name alone.
func (p Port) MarshalJSON() ([]byte, error) {
	if p.VLANs == nil {
		return json.Marshal(p.Name)
	}
	type plain Port
	return json.Marshal(plain(p))
}

// Normalize puts s in canonical form: trimmed names, a single VLAN as
// VIDEnd 0 rather than VIDEnd == VID. Invalid values are left for
// Validate to report.
func (s *Spec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	if s.Ports != nil {
		ports := make([]Port, len(s.Ports))
		for i, p := range s.Ports {
			p.Name = strings.TrimSpace(p.Name)
			if p.VLANs != nil {
				vs := make([]VLAN, len(p.VLANs))
				for j, v := range p.VLANs {
					if v.VIDEnd == v.VID {
						v.VIDEnd = 0
					}
					vs[j] = v
				}
				p.VLANs = vs
			}
			ports[i] = p
		}
		s.Ports = ports
	}
}

// Validate checks every field of a normalized copy of s (s is not
// changed), so it accepts exactly what Plan and Apply accept, naming the
// bad one and wrapping netprim.ErrInvalidSpec.
func (s Spec) Validate() error {
	s.Normalize() // a copy: Normalize makes new port slices
	name := s.Name
	if name == "" {
		name = "(unnamed)"
	}
	return s.validate("bridge " + name + ": ")
}

// Validate checks a list of specs as Plan and Apply take them, normalized
// copies (want is not changed): every spec's fields, duplicate names, a
// port listed in two bridges and a bridge as a port of a bridge. Errors
// name the spec by index ("bridge: spec[1].forwardDelay: ..."), are
// joined, and wrap netprim.ErrInvalidSpec.
func Validate(want []Spec) error {
	norm := make([]Spec, len(want))
	for i, s := range want {
		s.Normalize()
		norm[i] = s
	}
	return validate(norm)
}

// validate is Validate for normalized specs.
func validate(want []Spec) error {
	var errs []error
	seen := make(map[string]int, len(want))
	for i, s := range want {
		prefix := fmt.Sprintf("bridge: spec[%d].", i)
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
	portOf := make(map[string]int)
	for i, s := range want {
		for k, p := range s.Ports {
			prefix := fmt.Sprintf("bridge: spec[%d].", i)
			field := fmt.Sprintf("ports[%d]", k)
			if j, ok := seen[p.Name]; ok {
				errs = append(errs, specerr.Invalid(prefix, field, "%s is a bridge (spec[%d]): a bridge cannot be a port of a bridge", p.Name, j))
				continue
			}
			if j, ok := portOf[p.Name]; ok && j != i {
				errs = append(errs, specerr.Invalid(prefix, field, "%s is also a port of spec[%d] (%s)", p.Name, j, want[j].Name))
				continue
			}
			portOf[p.Name] = i
		}
	}
	return errors.Join(errs...)
}

func (s Spec) validate(prefix string) error {
	if err := link.ValidName(s.Name); err != nil {
		return specerr.Invalid(prefix, "name", "%v", err)
	}
	timers := []struct {
		field    string
		v        time.Duration
		min, max time.Duration
	}{
		{"forwardDelay", s.ForwardDelay, MinForwardDelay, MaxForwardDelay},
		{"helloTime", s.HelloTime, MinHelloTime, MaxHelloTime},
		{"maxAge", s.MaxAge, MinMaxAge, MaxMaxAge},
		{"ageingTime", s.AgeingTime, MinAgeingTime, MaxAgeingTime},
	}
	for _, tm := range timers {
		if tm.v == 0 {
			continue
		}
		if tm.v < tm.min || tm.v > tm.max {
			return specerr.Invalid(prefix, tm.field, "%v out of range %v..%v", tm.v, tm.min, tm.max)
		}
		if tm.v%Tick != 0 {
			return specerr.Invalid(prefix, tm.field, "%v is not a whole number of %v", tm.v, Tick)
		}
	}
	if s.DefaultPVID != nil && *s.DefaultPVID > MaxVID {
		return specerr.Invalid(prefix, "defaultPVID", "%d out of range 0..%d", *s.DefaultPVID, MaxVID)
	}
	if s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
		return specerr.Invalid(prefix, "mtu", "%d out of range 68..65535", s.MTU)
	}
	ports := make(map[string]int, len(s.Ports))
	for k, p := range s.Ports {
		field := fmt.Sprintf("ports[%d]", k)
		if err := link.ValidName(p.Name); err != nil {
			return specerr.Invalid(prefix, field+".name", "%v", err)
		}
		if p.Name == s.Name {
			return specerr.Invalid(prefix, field+".name", "%s is the bridge itself", p.Name)
		}
		if j, ok := ports[p.Name]; ok {
			return specerr.Invalid(prefix, field+".name", "%s is also ports[%d]", p.Name, j)
		}
		ports[p.Name] = k
		if err := validVLANs(p.VLANs); err != nil {
			return specerr.Invalid(prefix, field+".vlans", "%v", err)
		}
		if len(p.VLANs) > 0 && (s.VLANFiltering == nil || !*s.VLANFiltering) {
			return specerr.Invalid(prefix, field+".vlans", "set vlanFiltering: true (the bridge ignores port VLANs without it)")
		}
	}
	return nil
}

// validVLANs checks the VLANs of one port.
func validVLANs(vs []VLAN) error {
	var used [MaxVID + 1]int32 // index in vs + 1
	pvid := -1
	for i, v := range vs {
		if v.VID < MinVID || v.VID > MaxVID {
			return fmt.Errorf("[%d].vid: %d out of range %d..%d", i, v.VID, MinVID, MaxVID)
		}
		end := v.VID
		if v.VIDEnd != 0 {
			if v.VIDEnd < v.VID || v.VIDEnd > MaxVID {
				return fmt.Errorf("[%d].vidEnd: %d out of range %d..%d", i, v.VIDEnd, v.VID, MaxVID)
			}
			if v.PVID {
				return fmt.Errorf("[%d].pvid: a range %s cannot be the PVID", i, v)
			}
			end = v.VIDEnd
		}
		if v.PVID {
			if pvid >= 0 {
				return fmt.Errorf("[%d].pvid: the PVID is already [%d] (%d)", i, pvid, vs[pvid].VID)
			}
			pvid = i
		}
		for vid := v.VID; vid <= end; vid++ {
			if used[vid] != 0 {
				return fmt.Errorf("[%d]: vid %d is also in [%d]", i, vid, used[vid]-1)
			}
			used[vid] = int32(i + 1)
		}
	}
	return nil
}
