package main

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

// configError is an error in the configuration file at a path such as
// "machine.network.interfaces[0].mtu". It wraps netprim.ErrInvalidSpec
// and, when set, the cause (a package's Validate error).
type configError struct {
	path string
	line int
	msg  string
	err  error
}

func (e *configError) Error() string {
	s := e.path
	if e.line > 0 {
		s += " (line " + strconv.Itoa(e.line) + ")"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *configError) Unwrap() []error {
	if e.err != nil {
		return []error{netprim.ErrInvalidSpec, e.err}
	}
	return []error{netprim.ErrInvalidSpec}
}

// value is one YAML node of the configuration with its path, so that every
// error names where it is.
type value struct {
	n    *yaml.Node
	path string
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func newValue(n *yaml.Node, path string) value { return value{n: deref(n), path: path} }

// errorf returns a configError at v.
func (v value) errorf(format string, a ...any) error {
	line := 0
	if v.n != nil {
		line = v.n.Line
	}
	return &configError{path: v.path, line: line, msg: fmt.Sprintf(format, a...)}
}

// wrap returns a configError at v that wraps err.
func (v value) wrap(err error) error {
	line := 0
	if v.n != nil {
		line = v.n.Line
	}
	return &configError{path: v.path, line: line, err: err}
}

// null reports whether v is absent or an explicit null.
func (v value) null() bool {
	return v.n == nil || (v.n.Kind == yaml.ScalarNode && v.n.Tag == "!!null")
}

// child returns the value at key of a mapping (see fields).
func (v value) child(key string) string {
	if v.path == "" {
		return key
	}
	return v.path + "." + key
}

// fields returns the entries of a mapping by key. A key not in known, a
// key given twice and a value that is not a mapping are errors naming the
// path. An absent or null value is an empty mapping.
func (v value) fields(known ...string) (map[string]value, error) {
	out := map[string]value{}
	if v.null() {
		return out, nil
	}
	if v.n.Kind != yaml.MappingNode {
		return nil, v.errorf("want a mapping with keys %s", strings.Join(known, ", "))
	}
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		k, val := deref(v.n.Content[i]), v.n.Content[i+1]
		kv := value{n: k, path: v.child(k.Value)}
		if k.Kind != yaml.ScalarNode {
			return nil, value{n: k, path: v.path}.errorf("a key must be a scalar")
		}
		if !slices.Contains(known, k.Value) {
			return nil, kv.errorf("unknown key (want one of %s)", strings.Join(known, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, kv.errorf("key given twice")
		}
		out[k.Value] = newValue(val, kv.path)
	}
	return out, nil
}

// list returns the entries of a sequence, each with its index in its
// path. An absent or null value is an empty list.
func (v value) list() ([]value, error) {
	if v.null() {
		return nil, nil
	}
	if v.n.Kind != yaml.SequenceNode {
		return nil, v.errorf("want a list")
	}
	out := make([]value, len(v.n.Content))
	for i, c := range v.n.Content {
		out[i] = newValue(c, fmt.Sprintf("%s[%d]", v.path, i))
	}
	return out, nil
}

// scalar returns the text of a scalar.
func (v value) scalar(want string) (string, error) {
	if v.null() {
		return "", v.errorf("want %s, got nothing", want)
	}
	if v.n.Kind != yaml.ScalarNode {
		return "", v.errorf("want %s, got a %s", want, kindName(v.n.Kind))
	}
	return v.n.Value, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.DocumentNode:
		return "document"
	}
	return "scalar"
}

// str returns a string. Numbers and booleans are taken as their text, as
// Talos' YAML decoding takes them into a string field.
func (v value) str() (string, error) { return v.scalar("a string") }

// strings returns a list of strings.
func (v value) strings() ([]string, error) {
	items, err := v.list()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], err = it.str(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// boolean returns a YAML boolean (true/false and the YAML 1.1 spellings
// yaml.v3 accepts in a bool field).
func (v value) boolean() (bool, error) {
	s, err := v.scalar("true or false")
	if err != nil {
		return false, err
	}
	var b bool
	if err := v.n.Decode(&b); err != nil {
		return false, v.errorf("%q is not true or false", s)
	}
	return b, nil
}

// uint returns an unsigned integer in 0..max.
func (v value) uint(max uint64) (uint64, error) {
	s, err := v.scalar("a number")
	if err != nil {
		return 0, err
	}
	var n uint64
	if v.n.Tag != "!!int" || v.n.Decode(&n) != nil {
		return 0, v.errorf("%q is not a whole number 0..%d", s, max)
	}
	if n > max {
		return 0, v.errorf("%d out of range 0..%d", n, max)
	}
	return n, nil
}

// int returns an integer in lo..hi (0 is always accepted: unset).
func (v value) intIn(lo, hi int64) (int, error) {
	s, err := v.scalar("a number")
	if err != nil {
		return 0, err
	}
	var n int64
	if v.n.Tag != "!!int" || v.n.Decode(&n) != nil {
		return 0, v.errorf("%q is not a whole number", s)
	}
	if n != 0 && (n < lo || n > hi) {
		return 0, v.errorf("%d out of range %d..%d", n, lo, hi)
	}
	return int(n), nil
}

// u32 returns a uint32.
func (v value) u32() (uint32, error) {
	n, err := v.uint(math.MaxUint32)
	return uint32(n), err
}

// duration returns a Go duration ("5s", "1m30s"); a bare integer is
// nanoseconds, as Talos' time.Duration fields take it.
func (v value) duration() (time.Duration, error) {
	s, err := v.scalar("a duration such as 25s")
	if err != nil {
		return 0, err
	}
	if v.n.Tag == "!!int" {
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return 0, v.errorf("%q is not a duration", s)
		}
		return time.Duration(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, v.errorf("%q is not a duration such as 25s", s)
	}
	return d, nil
}

// addr returns an IP address (no zone).
func (v value) addr() (netip.Addr, error) {
	s, err := v.scalar("an IP address")
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, v.errorf("%q is not an IP address", s)
	}
	return a, nil
}

// prefix returns a CIDR prefix "ADDRESS/BITS".
func (v value) prefix() (netip.Prefix, error) {
	s, err := v.scalar("a CIDR prefix such as 10.0.0.0/8")
	if err != nil {
		return netip.Prefix{}, err
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, v.errorf("%q is not a CIDR prefix such as 10.0.0.0/8", s)
	}
	return p, nil
}

// addrOrPrefix returns "ADDRESS/BITS", or a bare address as a host prefix
// (/32, /128), as Talos reads interface addresses.
func (v value) addrOrPrefix() (netip.Prefix, error) {
	s, err := v.scalar("an address such as 192.168.2.10/24")
	if err != nil {
		return netip.Prefix{}, err
	}
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, v.errorf("%q is not an address such as 192.168.2.10/24", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, v.errorf("%q is not an address such as 192.168.2.10/24", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
