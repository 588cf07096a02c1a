package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// MaxDocumentSize bounds a document read by Decode, so a wrong file cannot
// exhaust memory.
const MaxDocumentSize = 16 << 20

// Keys are the top-level keys of a document, in the order the Reconciler
// applies them.
var Keys = []string{"links", "wireguard", "bonds", "vlans", "bridges", "addresses", "routes", "rules", "firewall", "resolvers", "hosts", "hostname"}

// Decode reads one YAML (or JSON) document into a State. Unknown keys, a
// second document in the stream and malformed values are errors naming the
// section, the entry and its line, e.g. "document: addresses[1] (line 7):
// ...", wrapping netprim.ErrInvalidSpec. An empty document is an empty
// State. Decode does not validate the values (see State.Validate).
func Decode(r io.Reader) (State, error) {
	var d State
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return d, err
	}
	if len(data) > MaxDocumentSize {
		return d, docInvalid("larger than %d bytes", MaxDocumentSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil // empty document: nothing wanted
		}
		return d, docInvalid("%v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return d, docInvalid("more than one YAML document in the input")
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return d, docInvalid("not a YAML document")
	}
	top := root.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return d, nil
	}
	if top.Kind != yaml.MappingNode {
		return d, docInvalid("line %d: want a mapping with keys %s", top.Line, strings.Join(Keys, ", "))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		if seen[key.Value] {
			return State{}, docInvalid("line %d: key %q given twice", key.Line, key.Value)
		}
		seen[key.Value] = true
		var err error
		switch key.Value {
		case "links":
			d.Links, err = section[Link](key.Value, val)
		case "wireguard":
			d.WireGuard, err = section[wireguard.Spec](key.Value, val)
		case "firewall":
			d.Firewall, err = single[firewall.Spec](key.Value, val)
		case "bonds":
			d.Bonds, err = section[bond.Spec](key.Value, val)
		case "vlans":
			d.VLANs, err = section[vlan.Spec](key.Value, val)
		case "bridges":
			d.Bridges, err = section[bridge.Spec](key.Value, val)
		case "hosts":
			d.Hosts, err = section[resolv.HostEntry](key.Value, val)
		case "resolvers":
			d.Resolvers, err = single[resolv.ResolverSpec](key.Value, val)
		case "hostname":
			d.Hostname, err = single[resolv.HostnameSpec](key.Value, val)
		case "addresses":
			d.Addresses, err = section[addr.Spec](key.Value, val)
		case "routes":
			d.Routes, err = section[route.Spec](key.Value, val)
		case "rules":
			d.Rules, err = section[route.Rule](key.Value, val)
		default:
			err = docInvalid("line %d: unknown key %q (want one of %s)", key.Line, key.Value, strings.Join(Keys, ", "))
		}
		if err != nil {
			return State{}, err
		}
	}
	return d, nil
}

// single decodes one mapping into a T, strictly.
func single[T any](name string, n *yaml.Node) (*T, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, docInvalid("%s (line %d): want a mapping", name, n.Line)
	}
	v, err := decodeStrict[T](n)
	if err != nil {
		return nil, docInvalid("%s (line %d): %s", name, n.Line, err)
	}
	return &v, nil
}

func decodeStrict[T any](n *yaml.Node) (T, error) {
	var v T
	b, err := yaml.Marshal(n)
	if err == nil {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		err = dec.Decode(&v)
	}
	if err != nil {
		return v, errors.New(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
	}
	return v, nil
}

// section decodes a sequence of T, each entry strictly (unknown fields are
// errors), naming the entry in errors.
func section[T any](name string, n *yaml.Node) ([]T, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, docInvalid("%s (line %d): want a list", name, n.Line)
	}
	out := make([]T, len(n.Content))
	for i, item := range n.Content {
		v, err := decodeStrict[T](item)
		if err != nil {
			return nil, docInvalid("%s[%d] (line %d): %s", name, i, item.Line, err)
		}
		out[i] = v
	}
	return out, nil
}

func docInvalid(format string, a ...any) error {
	return fmt.Errorf("document: %w: %s", netprim.ErrInvalidSpec, fmt.Sprintf(format, a...))
}
