package route

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// List returns every route of every table, IPv4 and IPv6, read with one
// route dump (plus one link dump for the link names), in the kernel's
// order. Cached routes are left out. No option changes List today; it
// takes them for symmetry with Apply.
func List(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) ([]Status, error) {
	_, x := resolve(opts)
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	x.countLinkDump()
	l, err := dumpLinks(ctx, c)
	if err != nil {
		return nil, netprim.KernelError("list", "links", err)
	}
	x.countDump()
	routes, _, err := dumpRoutes(ctx, c, &l)
	if err != nil {
		return nil, netprim.KernelError("list", "routes", err)
	}
	return routes, nil
}

// Plan returns the changes Apply would make for want, without making them.
// Like Apply it returns the plan for the routes it can resolve together
// with an error for each it cannot (a link that does not exist).
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	s, err := start(ctx, ns, want, opts)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer s.conn.Close()
	_, changes := s.diff.run()
	s.refused()
	return netprim.Plan{Changes: changes}, errors.Join(s.errs...)
}

// Apply makes the kernel's routes match want and returns the changes it
// made. See the package documentation for identity, ownership and
// ordering. All writes go to the kernel in batches; the error joins one
// error per route that failed (naming the route), and the returned plan
// holds only the changes the kernel accepted. Invalid specs are reported
// before anything is written.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	s, err := start(ctx, ns, want, opts)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer s.conn.Close()
	ops := s.diff.ops()
	s.refused()
	if len(ops) == 0 {
		return netprim.Plan{}, errors.Join(s.errs...)
	}
	changes, results, xerr := s.send(ctx, ops)
	sent, failed := 0, 0
	errs := s.errs
	for i := range ops {
		if ops[i].kind == opDelete && vanished(results[i]) {
			results[i] = nil // gone already, as wanted
		}
		e := results[i]
		if e == nil {
			sent++
			continue
		}
		failed++
		if errors.Is(e, nl.ErrUnknownResult) {
			continue
		}
		sent++
		errs = append(errs, netprim.KernelError(ops[i].kind.verb(), "route "+s.object(&ops[i], changes), e))
	}
	count(s.opts.Writes, sent)
	if xerr != nil {
		errs = append(errs, fmt.Errorf("route: apply stopped after %d of %d writes, re-apply to converge: %w", sent, len(ops), xerr))
	}
	if failed == 0 {
		return netprim.Plan{Changes: changes}, errors.Join(errs...)
	}
	done := make([]netprim.Change, 0, len(changes))
	for i := range ops {
		if results[i] == nil {
			done = append(done, changes[ops[i].first:ops[i].first+ops[i].n]...)
		}
	}
	return netprim.Plan{Changes: done}, errors.Join(errs...)
}

// vanished reports whether a delete failed only because there was nothing
// left to delete: the kernel answers ESRCH for a route and ENOENT for a
// rule that no longer exists (removed with its link, or by someone else,
// after the dump). The wanted state is reached, so it is no error.
func vanished(err error) bool {
	return err != nil && !errors.Is(err, nl.ErrUnknownResult) &&
		(errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT))
}

func (k opKind) verb() string {
	switch k {
	case opAdd:
		return "add"
	case opReplace:
		return "replace"
	}
	return "delete"
}

// object names the route an op writes, as in the plan.
func (s *session) object(op *routeOp, changes []netprim.Change) string {
	if op.kind == opReplace {
		return normalized(&s.diff.want[op.want]).String()
	}
	return changes[op.first].Object
}

// piece is the number of requests encoded and handed to the kernel at a
// time: the next piece is encoded while the kernel works on this one.
const piece = 2048

// send encodes the requests of ops and sends them, piece by piece, with
// encoding overlapping the kernel's work, and renders the changes
// meanwhile. It returns the changes, one result per op (nil: accepted) and
// the error that stopped the exchange, if any; requests not sent then
// carry nl.ErrUnknownResult.
func (s *session) send(ctx context.Context, ops []routeOp) ([]netprim.Change, []error, error) {
	results := make([]error, len(ops))
	type job struct {
		b  *nl.Batch
		lo int
	}
	jobs := make(chan job, 2)
	var xerr error
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for j := range jobs {
			if xerr != nil {
				for k := j.lo; k < j.lo+j.b.Len(); k++ {
					results[k] = fmt.Errorf("%w: %w", nl.ErrUnknownResult, xerr)
				}
				continue
			}
			errs, err := s.conn.Exec(ctx, j.b)
			copy(results[j.lo:], errs)
			xerr = err
		}
	}()
	proto := uint8(s.opts.Owner.ID)
	for lo := 0; lo < len(ops); lo += piece {
		hi := min(lo+piece, len(ops))
		b := new(nl.Batch)
		b.Grow((hi - lo) * 96)
		for i := lo; i < hi; i++ {
			op := &ops[i]
			switch op.kind {
			case opAdd:
				w := normalized(&s.diff.want[op.want])
				encodeRoute(b, unix.NLM_F_CREATE|unix.NLM_F_EXCL, &w, &s.links, proto)
			case opReplace:
				w := normalized(&s.diff.want[op.want])
				encodeRoute(b, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, &w, &s.links, proto)
			case opDelete:
				encodeDelete(b, &s.diff.have[op.have])
			}
		}
		jobs <- job{b: b, lo: lo}
	}
	close(jobs)
	changes := s.diff.changes(ops)
	<-sent
	return changes, results, xerr
}

// session is the state Plan and Apply share: an open socket, the links,
// and the diff input read from the kernel.
type session struct {
	conn  *nl.Conn
	opts  netprim.Options
	links links
	diff  routeDiff
	errs  []error // per-route errors found before writing
}

// start validates want, then reads links and routes.
func start(ctx context.Context, ns *netprim.Namespace, want []Spec, opts []netprim.Option) (*session, error) {
	o, x := resolve(opts)
	if err := checkOptions(o, x); err != nil {
		return nil, err
	}
	// Validate while the kernel's state is read; nothing is written
	// before the whole input is known to be valid.
	var (
		invalid  error
		prepared = make(chan struct{})
	)
	go func() {
		invalid = Validate(want)
		close(prepared)
	}()
	s := &session{opts: o}
	have, opaque, err := s.read(ctx, ns, x)
	<-prepared
	if invalid != nil || err != nil {
		if s.conn != nil {
			s.conn.Close()
		}
		if invalid != nil {
			return nil, invalid
		}
		return nil, err
	}
	s.diff = routeDiff{
		want: want, have: have, opaque: opaque,
		owner: Protocol(o.Owner.ID), prune: o.Prune, owned: x.ownedTables,
	}
	for i := range want {
		if name := s.missingLink(&want[i]); name != "" {
			if s.diff.skip == nil {
				s.diff.skip = make([]bool, len(want))
			}
			s.diff.skip[i] = true
			s.errs = append(s.errs, &netprim.OpError{Op: "add", Object: "route " + normalized(&want[i]).String(),
				Err: fmt.Errorf("spec[%d]: link %s: %w", i, strconv.Quote(name), netprim.ErrNotFound)})
		}
	}
	return s, nil
}

// read opens the socket and reads links and routes.
func (s *session) read(ctx context.Context, ns *netprim.Namespace, x ext) ([]Status, []bool, error) {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, nil, err
	}
	s.conn = c
	x.countLinkDump()
	s.links, err = dumpLinks(ctx, c)
	if err != nil {
		return nil, nil, netprim.KernelError("list", "links", err)
	}
	x.countDump()
	have, opaque, err := dumpRoutes(ctx, c, &s.links)
	if err != nil {
		return nil, nil, netprim.KernelError("list", "routes", err)
	}
	return have, opaque, nil
}

// refused adds an error for each wanted route the diff refused to write
// over the kernel's route for an address.
func (s *session) refused() {
	for _, c := range s.diff.conflicts {
		s.errs = append(s.errs, s.diff.conflictError(c))
	}
}

// missingLink returns the first link s names that does not exist.
func (s *session) missingLink(sp *Spec) string {
	if sp.Link != "" {
		if _, ok := s.links.byName[sp.Link]; !ok {
			return sp.Link
		}
	}
	for i := range sp.NextHops {
		if n := sp.NextHops[i].Link; n != "" {
			if _, ok := s.links.byName[n]; !ok {
				return n
			}
		}
	}
	return ""
}
