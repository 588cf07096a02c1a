package netprim

import (
	"fmt"
	"log/slog"
	"strings"
)

// Action is what a Change does to a kernel object.
type Action uint8

// Actions, rendered by Change.String with the prefix in parentheses.
const (
	Add      Action = iota + 1 // "+" create the object
	Modify                     // "~" change one attribute in place
	Delete                     // "-" remove the object
	Recreate                   // "±" delete and add again: disruptive
)

// String returns the one-character prefix of the action.
func (a Action) String() string {
	switch a {
	case Add:
		return "+"
	case Modify:
		return "~"
	case Delete:
		return "-"
	case Recreate:
		return "±"
	}
	return "?"
}

// Change is one write that Apply makes (or, in a Plan, would make).
type Change struct {
	Action Action `json:"action"`
	// Kind is the object type: "link", "address", "route", "rule", ...
	Kind string `json:"kind"`
	// Object identifies the object in the words ip(8) would use, e.g.
	// "198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100".
	Object string `json:"object"`
	// Field, From and To describe a Modify: "mtu", "1500", "1400".
	Field string `json:"field,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	// Disruptive is set when the change interrupts traffic (Recreate, or a
	// change the kernel only accepts with the link down).
	Disruptive bool `json:"disruptive,omitempty"`
	// Reason explains a Recreate or a disruptive change.
	Reason string `json:"reason,omitempty"`
}

// String renders the change for people on one line, for example
// "+ route 198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100" or
// "~ link veth0 mtu 1500 -> 1400".
func (c Change) String() string {
	var b strings.Builder
	b.WriteString(c.Action.String())
	b.WriteByte(' ')
	b.WriteString(c.Kind)
	b.WriteByte(' ')
	b.WriteString(c.Object)
	if c.Action == Modify && c.Field != "" {
		b.WriteByte(' ')
		b.WriteString(c.Field)
		b.WriteByte(' ')
		b.WriteString(orNone(c.From))
		b.WriteString(" -> ")
		b.WriteString(orNone(c.To))
	}
	if c.Reason != "" {
		b.WriteString(" (")
		b.WriteString(c.Reason)
		b.WriteByte(')')
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Plan is the ordered list of changes Apply would make, or made.
type Plan struct {
	Changes []Change `json:"changes"`
	// Warnings are things a person should know that are not errors, e.g.
	// "glibc reads only the first 3 nameservers".
	Warnings []string `json:"warnings,omitempty"`
}

// Empty reports whether the plan has no changes.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// Append adds changes to the plan.
func (p *Plan) Append(c ...Change) { p.Changes = append(p.Changes, c...) }

// Merge appends the changes and warnings of q to p.
func (p *Plan) Merge(q Plan) {
	p.Changes = append(p.Changes, q.Changes...)
	p.Warnings = append(p.Warnings, q.Warnings...)
}

// String renders one line per change followed by one "! warning" line per
// warning, or "no changes".
func (p Plan) String() string {
	if len(p.Changes) == 0 && len(p.Warnings) == 0 {
		return "no changes"
	}
	var b strings.Builder
	for i, c := range p.Changes {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.String())
	}
	if len(p.Changes) == 0 {
		b.WriteString("no changes")
	}
	for _, w := range p.Warnings {
		b.WriteString("\n! ")
		b.WriteString(w)
	}
	return b.String()
}

// DefaultOwnerID is the owner id used when none is configured. For routes it
// is the route protocol number, for addresses the IFA_PROTO value, and it
// names the marker on links.
const DefaultOwnerID = 78

// Owner identifies the product that owns kernel objects. Two products on one
// host use different owners so that neither prunes the other's objects.
type Owner struct {
	// ID is recorded in the kernel: route protocol, address IFA_PROTO.
	// Values 0-4 and 9 are the kernel's own and rejected (Validate).
	ID uint8
	// Name prefixes the link marker (an alternative name "NAME.IFNAME");
	// empty means "netprim".
	Name string
}

// DefaultOwnerName is the owner name used when none is configured.
const DefaultOwnerName = "netprim"

// DefaultOwner returns the owner used when no Owner option is given.
func DefaultOwner() Owner { return Owner{ID: DefaultOwnerID, Name: DefaultOwnerName} }

// Validate rejects owner ids the kernel uses for routes and addresses it
// makes itself: 0-4 (unspec, redirect, kernel, boot, static) and 9 (router
// advertisements). Pruning with such an id would delete kernel state.
func (o Owner) Validate() error {
	if o.ID <= 4 || o.ID == 9 {
		return fmt.Errorf("owner id %d: %w: 0-4 and 9 are the kernel's own (use 5-255 except 9; default %d)", o.ID, ErrInvalidSpec, DefaultOwnerID)
	}
	return nil
}

// Options are the settings shared by every Plan and Apply. Packages read
// them with Resolve.
type Options struct {
	// Prune deletes owned objects that are not in the wanted set.
	Prune bool
	// Owner marks the objects Apply creates and selects the ones it may
	// prune.
	Owner Owner
	// Logger receives debug records; nil means silent.
	Logger *slog.Logger
	// Writes, when not nil, is incremented once per write request sent to
	// the kernel. Tests use it to prove idempotency.
	Writes *int64

	ext map[any]any
}

// Set stores a package-specific setting under key, for Option functions
// of packages whose settings Options has no field for. Use an unexported
// key type of the package, as with context.WithValue.
func (o *Options) Set(key, value any) {
	if o.ext == nil {
		o.ext = make(map[any]any)
	}
	o.ext[key] = value
}

// Value returns the package-specific setting stored under key, or nil.
func (o Options) Value(key any) any { return o.ext[key] }

// Option changes Options.
type Option func(*Options)

// WithPrune makes Apply delete owned objects that are not wanted.
func WithPrune() Option { return func(o *Options) { o.Prune = true } }

// WithOwner sets the owner recorded on and used to select owned objects.
func WithOwner(owner Owner) Option { return func(o *Options) { o.Owner = owner } }

// WithLogger sets a logger for debug records.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithWriteCounter makes Apply add the number of kernel write requests it
// sends to *n.
func WithWriteCounter(n *int64) Option { return func(o *Options) { o.Writes = n } }

// Resolve applies opts over the defaults.
func Resolve(opts ...Option) Options {
	o := Options{Owner: DefaultOwner()}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if o.Owner.Name == "" {
		o.Owner.Name = DefaultOwnerName
	}
	if o.Owner.ID == 0 {
		o.Owner.ID = DefaultOwnerID
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
