package reconcile

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/netprim/netprim"
)

// Source is one producer of desired state: static configuration, a DHCP
// lease, a VIP election, a product's own code. Its contribution is merged
// with the other sources' by object key (see the package documentation);
// for the same key, the source with the higher priority wins.
//
// A Source is safe for concurrent use.
type Source struct {
	r        *Reconciler
	name     string
	priority int

	// Guarded by r.mu.
	raw     State            // as last given to Set
	use     State            // the sections merged: valid ones, or the last valid
	errs    map[string]error // section -> why the last Set of it was refused
	blocked map[string]bool  // sections refused with no valid version to fall back on
	good    map[string]bool  // sections that had a valid version
	pending bool             // no Set yet
	removed bool
}

// AddSource registers a source named name (unique in the Reconciler) with
// the given priority (higher wins). It contributes nothing until Set, and
// until then no stage prunes: a source that has not said what it wants
// yet (a DHCP client waiting for a lease after a restart) must not lose
// what it had. Register sources that may never contribute only when they
// do, or Set them empty at once.
func (r *Reconciler) AddSource(name string, priority int) (*Source, error) {
	if name == "" {
		return nil, fmt.Errorf("reconcile: source name: %w: empty", netprim.ErrInvalidSpec)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sources[name]; ok {
		return nil, fmt.Errorf("reconcile: source %s: %w: name used twice", name, netprim.ErrInvalidSpec)
	}
	s := &Source{r: r, name: name, priority: priority, errs: map[string]error{}, blocked: map[string]bool{}, good: map[string]bool{}, pending: true}
	r.sources[name] = s
	r.gen++
	return s, nil
}

// Name returns the source's name.
func (s *Source) Name() string { return s.name }

// Priority returns the source's priority.
func (s *Source) Priority() int { return s.priority }

// Set replaces the source's contribution with st and asks for a pass (none
// when st equals the source's last Set). Each
// section of st (links, addresses, routes, ...) is validated on its own: a
// valid section replaces the source's previous one; an invalid section is
// not used — the source keeps contributing its last valid version of that
// section, so nothing is deleted because of a bad update — and its stage
// reports the error, naming the source and the field, until a valid one
// comes. A section refused before any valid version of it also keeps its
// stage from pruning. Set returns the errors of the refused sections,
// joined (nil when every section is valid); the other sections are
// applied either way.
func (s *Source) Set(st State) error {
	r := s.r
	errs := validateSections(&st)
	r.mu.Lock()
	if s.removed {
		r.mu.Unlock()
		return fmt.Errorf("reconcile: source %s: %w: it was removed", s.name, netprim.ErrNotFound)
	}
	if !s.pending && reflect.DeepEqual(s.raw, st) {
		// Nothing new (the same state set again): no pass. A DHCP
		// renewal differs: its addresses end later (ValidUntil).
		out := s.errorLocked()
		r.mu.Unlock()
		return out
	}
	s.raw = st
	s.pending = false
	r.gen++
	for _, sec := range builtinSections {
		if err := errs[sec.name]; err != nil {
			s.errs[sec.name] = err
			if !s.good[sec.name] {
				s.blocked[sec.name] = true
			}
			continue
		}
		delete(s.errs, sec.name)
		delete(s.blocked, sec.name)
		s.good[sec.name] = true
		copySection(&s.use, &st, sec.name)
	}
	out := s.errorLocked()
	r.mu.Unlock()
	r.markAll("source " + s.name)
	return out
}

// Clear withdraws the source's whole contribution and asks for a pass:
// the objects only it wanted are pruned (unless pruning is off). The
// firewall table and the resolver files are not pruned: without a
// contribution they are left as they are; a kernel WireGuard device is
// removed only if this Reconciler holds its handle.
func (s *Source) Clear() {
	_ = s.Set(State{})
}

// Remove withdraws the source's contribution, like Clear, and unregisters
// it; its name may be used again.
func (s *Source) Remove() {
	r := s.r
	r.mu.Lock()
	s.removed = true
	delete(r.sources, s.name)
	r.gen++
	r.mu.Unlock()
	r.markAll("source " + s.name + " removed")
}

// Err returns the errors of the sections the last Set refused, or nil.
func (s *Source) Err() error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.errorLocked()
}

func (s *Source) errorLocked() error {
	var errs []error
	for _, sec := range builtinSections {
		if err := s.errs[sec.name]; err != nil {
			errs = append(errs, &SourceError{Source: s.name, Section: sec.name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// SourceError is a section of a source's contribution that was refused.
type SourceError struct {
	Source  string // the source's name
	Section string // the section: links, addresses, routes, ...
	Err     error  // the validation error, naming the entry and field
}

// Error renders "source NAME: SECTION: ERR".
func (e *SourceError) Error() string {
	return "source " + e.Source + ": " + e.Section + ": " + e.Err.Error()
}

// Unwrap returns the validation error.
func (e *SourceError) Unwrap() error { return e.Err }

// validateSections validates each section of st on its own, by section
// name.
func validateSections(st *State) map[string]error {
	out := map[string]error{}
	for _, sec := range builtinSections {
		if err := sec.validate(st); err != nil {
			out[sec.name] = err
		}
	}
	if err := st.validateCross(); err != nil {
		out[StageWireGuard] = errors.Join(out[StageWireGuard], err)
	}
	return out
}

// copySection copies one section of src into dst.
func copySection(dst, src *State, section string) {
	switch section {
	case StageLinks:
		dst.Links = slices.Clone(src.Links)
	case StageWireGuard:
		dst.WireGuard = slices.Clone(src.WireGuard)
	case StageBonds:
		dst.Bonds = slices.Clone(src.Bonds)
	case StageVLANs:
		dst.VLANs = slices.Clone(src.VLANs)
	case StageBridges:
		dst.Bridges = slices.Clone(src.Bridges)
	case StageAddresses:
		dst.Addresses = slices.Clone(src.Addresses)
	case StageRoutes:
		dst.Routes = slices.Clone(src.Routes)
	case StageRules:
		dst.Rules = slices.Clone(src.Rules)
	case StageFirewall:
		dst.Firewall = src.Firewall
	case StageFiles:
		dst.Resolvers, dst.Hosts, dst.Hostname = src.Resolvers, slices.Clone(src.Hosts), src.Hostname
	}
}
