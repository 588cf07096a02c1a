// Package document reads the YAML documents netctl and the quickstart
// apply, and applies them package by package in dependency order: links,
// WireGuard devices, bonds, VLANs, bridges, addresses, routes, policy
// rules, the firewall, then the resolver files.
//
// WireGuard devices use the kernel module unless the caller hosts them:
// see WithWireGuardDevices.
//
// An entry of the links section may choose an existing device by
// deviceSelector instead of naming it (see Link); Plan and Apply resolve
// the selectors to names from one listing of the namespace before any
// stage runs.
package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// Document is the desired network state of one namespace. Field names are
// the Specs' yaml tags. An entry of Links names its link or, for a device
// that exists already, selects it with deviceSelector (see Link).
type Document struct {
	Links []Link `json:"links,omitempty" yaml:"links,omitempty"`
	// WireGuard are WireGuard devices, created right after the links so
	// that addresses and routes can use them. Private and preshared keys
	// never print (see package wireguard).
	WireGuard []wireguard.Spec `json:"wireguard,omitempty" yaml:"wireguard,omitempty"`
	Bonds     []bond.Spec      `json:"bonds,omitempty" yaml:"bonds,omitempty"`
	VLANs     []vlan.Spec      `json:"vlans,omitempty" yaml:"vlans,omitempty"`
	Bridges   []bridge.Spec    `json:"bridges,omitempty" yaml:"bridges,omitempty"`
	Addresses []addr.Spec      `json:"addresses,omitempty" yaml:"addresses,omitempty"`
	Routes    []route.Spec     `json:"routes,omitempty" yaml:"routes,omitempty"`
	Rules     []route.Rule     `json:"rules,omitempty" yaml:"rules,omitempty"`
	// Firewall is the ingress firewall, one nftables table owned by
	// netprim. Without this key the firewall is left as it is, also with
	// prune; to open everything, apply defaultAction accept with no rules.
	Firewall *firewall.Spec `json:"firewall,omitempty" yaml:"firewall,omitempty"`
	// Resolvers, Hosts and Hostname are written to /etc/resolv.conf,
	// /etc/hosts and /etc/hostname under the root given by WithRoot.
	Resolvers *resolv.ResolverSpec `json:"resolvers,omitempty" yaml:"resolvers,omitempty"`
	Hosts     []resolv.HostEntry   `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	Hostname  *resolv.HostnameSpec `json:"hostname,omitempty" yaml:"hostname,omitempty"`
}

type rootKey struct{}

// WithRoot makes the resolver files be written under dir instead of "/".
func WithRoot(dir string) netprim.Option {
	return func(o *netprim.Options) { o.Set(rootKey{}, dir) }
}

func (d *Document) files() resolv.Config {
	return resolv.Config{Resolver: d.Resolvers, Hosts: d.Hosts, Hostname: d.Hostname}
}

func (d *Document) hasFiles() bool {
	return d.Resolvers != nil || len(d.Hosts) > 0 || d.Hostname != nil
}

// MaxSize bounds a document, so a wrong file cannot exhaust memory.
const MaxSize = 16 << 20

// Decode reads one YAML (or JSON) document. Unknown keys, a second document
// in the stream and malformed values are errors naming the section, the
// entry and its line, e.g. "document: addresses[1] (line 7): ...".
func Decode(r io.Reader) (Document, error) {
	var d Document
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return d, err
	}
	if len(data) > MaxSize {
		return d, invalid("larger than %d bytes", MaxSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil // empty document: nothing wanted
		}
		return d, invalid("%v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return d, invalid("more than one YAML document in the input")
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return d, invalid("not a YAML document")
	}
	top := root.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return d, nil
	}
	if top.Kind != yaml.MappingNode {
		return d, invalid("line %d: want a mapping with keys %s", top.Line, strings.Join(Keys, ", "))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		if seen[key.Value] {
			return Document{}, invalid("line %d: key %q given twice", key.Line, key.Value)
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
			err = invalid("line %d: unknown key %q (want one of %s)", key.Line, key.Value, strings.Join(Keys, ", "))
		}
		if err != nil {
			return Document{}, err
		}
	}
	return d, nil
}

// Keys are the top-level keys of a document.
var Keys = []string{"links", "wireguard", "bonds", "vlans", "bridges", "addresses", "routes", "rules", "firewall", "resolvers", "hosts", "hostname"}

// single decodes one mapping into a T, strictly.
func single[T any](name string, n *yaml.Node) (*T, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, invalid("%s (line %d): want a mapping", name, n.Line)
	}
	v, err := decodeStrict[T](n)
	if err != nil {
		return nil, invalid("%s (line %d): %s", name, n.Line, err)
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
		return nil, invalid("%s (line %d): want a list", name, n.Line)
	}
	out := make([]T, len(n.Content))
	for i, item := range n.Content {
		v, err := decodeStrict[T](item)
		if err != nil {
			return nil, invalid("%s[%d] (line %d): %s", name, i, item.Line, err)
		}
		out[i] = v
	}
	return out, nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("document: %w: %s", netprim.ErrInvalidSpec, fmt.Sprintf(format, a...))
}

// Validate checks every section; errors name the section, the entry and the
// field.
func (d *Document) Validate() error {
	return errors.Join(
		d.validateLinks(),
		d.validateWireGuard(),
		bond.Validate(d.Bonds),
		vlan.Validate(d.VLANs),
		bridge.Validate(d.Bridges),
		d.files().Validate(),
		addr.Validate(d.Addresses),
		route.Validate(d.Routes),
		route.ValidateRules(d.Rules),
		d.validateFirewall(),
	)
}

// Apply validates d, then makes the kernel match it in two passes. The
// first adds and changes, in dependency order: links, WireGuard devices,
// bonds, VLANs, bridges, addresses, routes, rules, files. With
// netprim.WithPrune the second pass deletes what is owned and no longer
// wanted, in reverse order, so nothing is deleted before its replacement
// is in place. WireGuard devices carry no owner mark and are never pruned.
//
// The WireGuard devices use the kernel backend unless the caller passes
// WithWireGuardDevices, which also hands it their handles.
//
// An error in one stage does not stop the others (each package already
// applies every object it can); the errors are joined, each prefixed with
// its stage. After any error in the first pass, the prune pass is skipped:
// nothing is deleted while what should replace it may be missing. The plan
// holds what was changed.
func Apply(ctx context.Context, ns *netprim.Namespace, d Document, opts ...netprim.Option) (netprim.Plan, error) {
	var total netprim.Plan
	if err := d.Validate(); err != nil {
		return total, err
	}
	links, err := d.resolveLinks(ctx, ns)
	if err != nil {
		return total, err
	}
	prune := netprim.Resolve(opts...).Prune
	noPrune := append(slices.Clone(opts), func(o *netprim.Options) { o.Prune = false })
	stages := d.stages(ctx, ns, links)
	var errs []error
	for _, s := range stages {
		p, err := s.apply(noPrune)
		total.Merge(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) > 0 {
		if prune {
			errs = append(errs, errors.New("prune skipped because of the errors above"))
		}
		return total, errors.Join(errs...)
	}
	if !prune {
		return total, nil
	}
	for i := len(stages) - 1; i >= 0; i-- {
		p, err := stages[i].apply(opts)
		total.Merge(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", stages[i].name, err))
		}
	}
	return total, errors.Join(errs...)
}

// Plan validates d and returns what Apply would change, in the order Apply
// would make the changes. Addresses and routes on links that are still to
// be created are shown as additions. Like Apply, Plan goes on past an error
// in one stage, joins the errors, and then leaves out the deletions, which
// Apply would skip.
func Plan(ctx context.Context, ns *netprim.Namespace, d Document, opts ...netprim.Option) (netprim.Plan, error) {
	var total netprim.Plan
	if err := d.Validate(); err != nil {
		return total, err
	}
	// One listing: with the driver facts when device selectors need them.
	var listOpts []link.ListOption
	if !d.hasSelectors() {
		listOpts = append(listOpts, link.WithoutEthtool())
	}
	existing, err := link.List(ctx, ns, listOpts...)
	if err != nil {
		return total, fmt.Errorf("links: %w", err)
	}
	links, err := d.linkSpecs(existing)
	if err != nil {
		return total, err
	}
	missing := map[string]bool{}
	for _, l := range links {
		missing[l.Name] = true
	}
	for _, w := range d.WireGuard {
		missing[w.Name] = true
	}
	for _, l := range existing {
		delete(missing, l.Name)
	}
	var laterAddrs, laterRoutes netprim.Plan
	d2 := d
	d2.Addresses, d2.Routes = nil, nil
	for _, a := range d.Addresses {
		if missing[a.Link] {
			a.Normalize()
			laterAddrs.Append(netprim.Change{Action: netprim.Add, Kind: "address", Object: a.String()})
			continue
		}
		d2.Addresses = append(d2.Addresses, a)
	}
	for _, r := range d.Routes {
		if routeUses(r, missing) {
			r.Normalize()
			laterRoutes.Append(netprim.Change{Action: netprim.Add, Kind: "route", Object: r.String()})
			continue
		}
		d2.Routes = append(d2.Routes, r)
	}
	var (
		deletes []netprim.Plan
		errs    []error
	)
	creating := false // an earlier stage adds objects that are not there yet
	for _, s := range d2.stages(ctx, ns, links) {
		p, err := s.plan(opts)
		switch {
		case err != nil && creating && errors.Is(err, netprim.ErrNotFound):
			// Planned against a kernel that lacks what the stages
			// before will create: say so rather than fail.
			total.Warnings = append(total.Warnings, fmt.Sprintf("%s: not fully planned until the changes above are made: %v", s.name, err))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
		for _, c := range p.Changes {
			if c.Action == netprim.Add || c.Action == netprim.Recreate {
				creating = true
			}
		}
		var del netprim.Plan
		for _, c := range p.Changes {
			if c.Action == netprim.Delete {
				del.Append(c)
			} else {
				total.Append(c)
			}
		}
		total.Warnings = append(total.Warnings, p.Warnings...)
		switch s.name {
		case "addresses":
			total.Merge(laterAddrs)
		case "routes":
			total.Merge(laterRoutes)
		}
		deletes = append(deletes, del)
	}
	if len(errs) > 0 {
		return total, errors.Join(errs...) // Apply would not prune
	}
	for i := len(deletes) - 1; i >= 0; i-- {
		total.Merge(deletes[i])
	}
	return total, nil
}

// routeUses reports whether r goes out through one of the links.
func routeUses(r route.Spec, links map[string]bool) bool {
	if links[r.Link] {
		return true
	}
	for _, h := range r.NextHops {
		if links[h.Link] {
			return true
		}
	}
	return false
}

type stage struct {
	name  string
	plan  func(opts []netprim.Option) (netprim.Plan, error)
	apply func(opts []netprim.Option) (netprim.Plan, error)
}

// stages are the packages' Plan and Apply for d, with links the specs of
// its links section, device selectors resolved.
func (d *Document) stages(ctx context.Context, ns *netprim.Namespace, links []link.Spec) []stage {
	return []stage{
		{"links",
			func(o []netprim.Option) (netprim.Plan, error) { return link.Plan(ctx, ns, links, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return link.Apply(ctx, ns, links, o...) }},
		{"wireguard",
			func(o []netprim.Option) (netprim.Plan, error) { return d.planWireGuard(ctx, ns, o) },
			func(o []netprim.Option) (netprim.Plan, error) { return d.applyWireGuard(ctx, ns, o) }},
		{"bonds",
			func(o []netprim.Option) (netprim.Plan, error) { return bond.Plan(ctx, ns, d.Bonds, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return bond.Apply(ctx, ns, d.Bonds, o...) }},
		{"vlans",
			func(o []netprim.Option) (netprim.Plan, error) { return vlan.Plan(ctx, ns, d.VLANs, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return vlan.Apply(ctx, ns, d.VLANs, o...) }},
		{"bridges",
			func(o []netprim.Option) (netprim.Plan, error) { return bridge.Plan(ctx, ns, d.Bridges, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return bridge.Apply(ctx, ns, d.Bridges, o...) }},
		{"addresses",
			func(o []netprim.Option) (netprim.Plan, error) { return addr.Plan(ctx, ns, d.Addresses, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return addr.Apply(ctx, ns, d.Addresses, o...) }},
		{"routes",
			func(o []netprim.Option) (netprim.Plan, error) { return route.Plan(ctx, ns, d.Routes, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return route.Apply(ctx, ns, d.Routes, o...) }},
		{"rules",
			func(o []netprim.Option) (netprim.Plan, error) { return route.PlanRules(ctx, ns, d.Rules, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return route.ApplyRules(ctx, ns, d.Rules, o...) }},
		{"firewall",
			func(o []netprim.Option) (netprim.Plan, error) { return d.planFirewall(ctx, ns, o) },
			func(o []netprim.Option) (netprim.Plan, error) { return d.applyFirewall(ctx, ns, o) }},
		{"files",
			func(o []netprim.Option) (netprim.Plan, error) { return d.planFiles(ctx, o) },
			func(o []netprim.Option) (netprim.Plan, error) { return d.applyFiles(ctx, o) }},
	}
}

func (d *Document) validateFirewall() error {
	if d.Firewall == nil {
		return nil
	}
	return d.Firewall.Validate()
}

// The firewall is one table replaced as a whole: with no firewall key
// nothing is done, prune or not.
func (d *Document) planFirewall(ctx context.Context, ns *netprim.Namespace, opts []netprim.Option) (netprim.Plan, error) {
	if d.Firewall == nil {
		return netprim.Plan{}, nil
	}
	return firewall.Plan(ctx, ns, *d.Firewall, opts...)
}

func (d *Document) applyFirewall(ctx context.Context, ns *netprim.Namespace, opts []netprim.Option) (netprim.Plan, error) {
	if d.Firewall == nil {
		return netprim.Plan{}, nil
	}
	return firewall.Apply(ctx, ns, *d.Firewall, opts...)
}

// The resolver files have no pruning: with nothing wanted, nothing is
// written.
func (d *Document) planFiles(ctx context.Context, opts []netprim.Option) (netprim.Plan, error) {
	if !d.hasFiles() {
		return netprim.Plan{}, nil
	}
	root, _ := netprim.Resolve(opts...).Value(rootKey{}).(string)
	return resolv.Plan(ctx, root, d.files(), opts...)
}

func (d *Document) applyFiles(ctx context.Context, opts []netprim.Option) (netprim.Plan, error) {
	if !d.hasFiles() {
		return netprim.Plan{}, nil
	}
	root, _ := netprim.Resolve(opts...).Value(rootKey{}).(string)
	return resolv.Apply(ctx, root, d.files(), opts...)
}
