package selector

import (
	"fmt"
	"strings"

	"github.com/netprim/netprim/link"
)

// Explanation tells why one device matched a selector or not.
type Explanation struct {
	// Link is the device's kernel name.
	Link string `json:"link" yaml:"link"`
	// Matched reports whether every field of the selector matched.
	Matched bool `json:"matched" yaml:"matched"`
	// Fields has one entry per field set in the selector, in the order of
	// the Selector struct.
	Fields []FieldResult `json:"fields" yaml:"fields"`
}

// FieldResult is the outcome of one selector field for one device.
type FieldResult struct {
	// Field is the YAML name of the field, e.g. "driver".
	Field string `json:"field" yaml:"field"`
	// Matched reports whether the device satisfied it.
	Matched bool `json:"matched" yaml:"matched"`
	// Reason says why, e.g. "driver virtio_net != e1000e" or
	// "busPath 0000:00:03.0 matches 0*".
	Reason string `json:"reason" yaml:"reason"`
}

// String renders "eth0: match (driver virtio_net == virtio_net)" or
// "eth1: no match (driver e1000e != virtio_net; busPath ...)".
func (e Explanation) String() string {
	reasons := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		reasons[i] = f.Reason
	}
	verdict := "match"
	if !e.Matched {
		verdict = "no match"
	}
	return fmt.Sprintf("%s: %s (%s)", e.Link, verdict, strings.Join(reasons, "; "))
}

// Explain tells, for every link in the order given, which fields of s
// matched it and which did not, so that a configuration that selects the
// wrong device (or none) can be debugged. It works on an invalid s too: a
// malformed field is reported as not matching, with the reason.
func (s Selector) Explain(links []link.Status) []Explanation {
	out := make([]Explanation, 0, len(links))
	for _, l := range links {
		e := Explanation{Link: l.Name, Matched: true}
		for _, c := range s.checks(l) {
			e.Fields = append(e.Fields, FieldResult{Field: c.field, Matched: c.ok, Reason: c.reason})
			if !c.ok {
				e.Matched = false
			}
		}
		out = append(out, e)
	}
	return out
}

type check struct {
	field  string
	ok     bool
	reason string
}

// checks evaluates every set field of s against l.
func (s Selector) checks(l link.Status) []check {
	var out []check
	glob := func(field, pattern, value string, fold bool) {
		if pattern == "" {
			return
		}
		if err := ValidatePattern(pattern); err != nil {
			out = append(out, check{field, false, field + ": " + err.Error()})
			return
		}
		var ok bool
		switch {
		case value == "":
			// A device without the property never matches a pattern
			// for it, not even "*".
		case fold:
			ok = matchFold(pattern, value)
		default:
			ok = matchExact(pattern, value)
		}
		out = append(out, check{field, ok, describe(field, value, pattern, ok)})
	}
	glob("driver", s.Driver, l.Driver, false)
	glob("hardwareAddr", s.HardwareAddr, l.HardwareAddr, true)
	glob("permanentAddr", s.PermanentAddr, l.PermHardwareAddr, true)
	glob("busPath", s.BusPath, l.BusInfo, true)
	if s.PCIID != "" {
		out = append(out, checkPCIID(s.PCIID, l.PCIID))
	}
	if s.Physical != nil {
		phys := IsPhysical(l)
		ok := phys == *s.Physical
		what := "virtual"
		if phys {
			what = "physical"
		}
		rel := "is"
		if !ok {
			rel = "is not wanted:"
		}
		out = append(out, check{"physical", ok, fmt.Sprintf("physical: device %s %s (%s)", rel, what, physicalReason(l))})
	}
	return out
}

func describe(field, value, pattern string, ok bool) string {
	v := value
	if v == "" {
		v = "(none)"
	}
	literal := !strings.ContainsAny(pattern, `*?[\`)
	switch {
	case literal && ok:
		return fmt.Sprintf("%s %s == %s", field, v, pattern)
	case literal:
		return fmt.Sprintf("%s %s != %s", field, v, pattern)
	case ok:
		return fmt.Sprintf("%s %s matches %s", field, v, pattern)
	default:
		return fmt.Sprintf("%s %s does not match %s", field, v, pattern)
	}
}

func checkPCIID(want, have string) check {
	wv, wd, err := ParsePCIID(want)
	if err != nil {
		return check{"pciID", false, "pciID: " + err.Error()}
	}
	v := have
	if v == "" {
		v = "(none)"
	}
	hv, hd, err := ParsePCIID(have)
	ok := err == nil && hv == wv && hd == wd
	if ok {
		return check{"pciID", true, fmt.Sprintf("pciID %s == %s", v, want)}
	}
	return check{"pciID", false, fmt.Sprintf("pciID %s != %s", v, want)}
}
