// Package document reads the YAML documents netctl and the quickstart
// apply, and applies them package by package in dependency order: links,
// then addresses, then routes, then policy rules.
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
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
)

// Document is the desired network state of one namespace. Field names are
// the Specs' yaml tags.
type Document struct {
	Links     []link.Spec  `json:"links,omitempty" yaml:"links,omitempty"`
	Addresses []addr.Spec  `json:"addresses,omitempty" yaml:"addresses,omitempty"`
	Routes    []route.Spec `json:"routes,omitempty" yaml:"routes,omitempty"`
	Rules     []route.Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
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
		return d, invalid("line %d: want a mapping with keys links, addresses, routes, rules", top.Line)
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
			d.Links, err = section[link.Spec](key.Value, val)
		case "addresses":
			d.Addresses, err = section[addr.Spec](key.Value, val)
		case "routes":
			d.Routes, err = section[route.Spec](key.Value, val)
		case "rules":
			d.Rules, err = section[route.Rule](key.Value, val)
		default:
			err = invalid("line %d: unknown key %q (want links, addresses, routes, rules)", key.Line, key.Value)
		}
		if err != nil {
			return Document{}, err
		}
	}
	return d, nil
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
		b, err := yaml.Marshal(item)
		if err == nil {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			err = dec.Decode(&out[i])
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
			return nil, invalid("%s[%d] (line %d): %s", name, i, item.Line, msg)
		}
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
		link.Validate(d.Links),
		addr.Validate(d.Addresses),
		route.Validate(d.Routes),
		route.ValidateRules(d.Rules),
	)
}

// Apply validates d, then makes the kernel match it in two passes. The
// first adds and changes, in dependency order: links, addresses, routes,
// rules. With netprim.WithPrune the second pass deletes what is owned and
// no longer wanted, in reverse order: rules, routes, addresses, links. So
// nothing is deleted before its replacement is in place.
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
	prune := netprim.Resolve(opts...).Prune
	noPrune := append(slices.Clone(opts), func(o *netprim.Options) { o.Prune = false })
	stages := d.stages(ctx, ns)
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
	existing, err := link.List(ctx, ns, link.WithoutEthtool())
	if err != nil {
		return total, fmt.Errorf("links: %w", err)
	}
	missing := map[string]bool{}
	for _, l := range d.Links {
		missing[l.Name] = true
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
	for _, s := range d2.stages(ctx, ns) {
		p, err := s.plan(opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
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

func (d *Document) stages(ctx context.Context, ns *netprim.Namespace) []stage {
	return []stage{
		{"links",
			func(o []netprim.Option) (netprim.Plan, error) { return link.Plan(ctx, ns, d.Links, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return link.Apply(ctx, ns, d.Links, o...) }},
		{"addresses",
			func(o []netprim.Option) (netprim.Plan, error) { return addr.Plan(ctx, ns, d.Addresses, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return addr.Apply(ctx, ns, d.Addresses, o...) }},
		{"routes",
			func(o []netprim.Option) (netprim.Plan, error) { return route.Plan(ctx, ns, d.Routes, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return route.Apply(ctx, ns, d.Routes, o...) }},
		{"rules",
			func(o []netprim.Option) (netprim.Plan, error) { return route.PlanRules(ctx, ns, d.Rules, o...) },
			func(o []netprim.Option) (netprim.Plan, error) { return route.ApplyRules(ctx, ns, d.Rules, o...) }},
	}
}
