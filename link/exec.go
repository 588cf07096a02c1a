package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

// backend is the kernel as the executor sees it: one method per write
// request, plus snapshots. The Linux implementation talks rtnetlink; tests
// use a fake.
type backend interface {
	// snapshot dumps the links; want says where veth peers are expected.
	snapshot(want []Spec) (*state, error)
	// add sends one add request and returns the new link's index.
	add(l netlink.Link) (int, error)
	// index looks a link up by name (a read, not a write).
	index(name string) (int, error)
	addAltName(index int, name string) error
	del(index int) error
	setUp(index int, up bool) error
	setMTU(index, mtu int) error
	setHardwareAddr(index int, hw net.HardwareAddr) error
	setTxQueueLen(index, n int) error
	setAlias(index int, alias string) error
	setMaster(index, master int) error
	kindChange(index int, raw netlink.Link, c linkkind.Change) error
	// changeInfoData sends one RTM_NEWLINK for the link carrying only
	// IFLA_LINKINFO: the kind and the attributes data.
	changeInfoData(index int, kind string, data []nlattr) error
}

// executor makes the operations of a plan and records what it did.
type executor struct {
	b      backend
	p      *planner
	writes *int64
	done   netprim.Plan
	failed map[string]error
}

// write counts one write request and sends it.
func (e *executor) write(f func() error) error {
	if e.writes != nil {
		atomic.AddInt64(e.writes, 1)
	}
	return f()
}

// apply makes the kernel match want: creations and kind changes first,
// then (on a fresh snapshot when anything was created) attributes, then
// pruning. It returns what it changed, even with an error.
func (e *executor) apply(ctx context.Context, want []Spec) (netprim.Plan, error) {
	e.failed = make(map[string]error)
	st, err := e.b.snapshot(want)
	if err != nil {
		return netprim.Plan{}, err
	}
	ops := e.p.structure(want, st, e.failed)
	if err := e.run(ctx, ops); err != nil {
		return e.done, e.result(want, err)
	}
	if len(ops) > 0 && !e.predictable(want, st, ops) {
		if st, err = e.b.snapshot(want); err != nil {
			return e.done, e.result(want, fmt.Errorf("link: after creating links: %w", err))
		}
	}
	if err := e.run(ctx, e.p.attributes(want, st, e.failed)); err != nil {
		return e.done, e.result(want, err)
	}
	prunes, warnings := e.p.prunes(want, st)
	e.done.Warnings = append(e.done.Warnings, warnings...)
	err = e.run(ctx, prunes)
	return e.done, e.result(want, err)
}

// predictable reports whether st, updated with the predicted effect of
// ops, is all the attribute step needs: when ops only created links, and
// with the prediction no attribute of any wanted link is left to change
// (every attribute a Spec sets was set by its creation), the kernel has
// nothing to add that the step would use, and the snapshot after the
// creations is skipped. Otherwise st is left for a fresh snapshot.
func (e *executor) predictable(want []Spec, st *state, ops []op) bool {
	for _, o := range ops {
		if o.kind != opCreate {
			return false
		}
	}
	e.p.predict(st, ops)
	failed := make(map[string]error, len(e.failed))
	for name, err := range e.failed {
		failed[name] = err
	}
	return len(e.p.attributes(want, st, failed)) == 0 && len(failed) == len(e.failed)
}

// result joins the per-link errors and an interruption.
func (e *executor) result(want []Spec, interrupted error) error {
	err := joinFailed(want, e.failed)
	if interrupted != nil {
		err = errors.Join(err, interrupted)
	}
	return err
}

// run makes ops in order. A failed operation records an error for its link
// and skips that link's later operations; other links go on. When ctx is
// done run stops between two operations (never inside one) and says so.
func (e *executor) run(ctx context.Context, ops []op) error {
	bt, batching := e.b.(batcher)
	for i := 0; i < len(ops); i++ {
		o := ops[i]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("link: apply interrupted after %d changes (the returned plan lists them); %d more of this step not made: %w",
				len(e.done.Changes), len(ops)-i, err)
		}
		if e.failed[o.name] != nil {
			continue
		}
		if batching && o.kind == opCreate {
			j := i + 1
			for j < len(ops) && j-i < createBatch && ops[j].kind == opCreate {
				j++
			}
			e.createMany(bt, ops[i:j])
			i = j - 1
			continue
		}
		c, err := e.exec(o)
		if err != nil {
			e.failed[o.name] = err
			continue
		}
		e.done.Append(c)
	}
	return nil
}

// exec makes one operation.
func (e *executor) exec(o op) (netprim.Change, error) {
	c := o.change
	switch o.kind {
	case opCreate:
		return c, e.create(o)
	case opRecreate:
		if err := e.write(func() error { return e.b.del(o.index) }); err != nil && !gone(err) {
			return c, netprim.KernelError("delete", "link "+o.name, err)
		}
		if err := e.create(o); err != nil {
			return c, fmt.Errorf("%w (the old link was deleted to recreate it)", err)
		}
		return c, nil
	case opKindChange:
		err := e.write(func() error {
			if o.infoData != nil {
				return e.b.changeInfoData(o.index, o.settings.Kind(), o.infoData)
			}
			return e.b.kindChange(o.index, o.raw, o.kc)
		})
		return c, netprim.KernelError("set", "link "+o.name+" "+o.kc.Field, err)
	case opDelete:
		err := e.write(func() error { return e.b.del(o.index) })
		if gone(err) {
			err = nil
		}
		return c, netprim.KernelError("delete", "link "+o.name, err)
	case opSetUp:
		err := e.write(func() error { return e.b.setUp(o.index, o.up) })
		return c, netprim.KernelError("set", "link "+o.name+" up", err)
	case opMTU:
		return e.live(o, func() error { return e.b.setMTU(o.index, o.mtu) })
	case opHardwareAddr:
		return e.live(o, func() error { return e.b.setHardwareAddr(o.index, o.hw) })
	case opTxQueueLen:
		err := e.write(func() error { return e.b.setTxQueueLen(o.index, o.txqlen) })
		return c, netprim.KernelError("set", "link "+o.name+" txQueueLen", err)
	case opAlias:
		err := e.write(func() error { return e.b.setAlias(o.index, o.alias) })
		return c, netprim.KernelError("set", "link "+o.name+" alias", err)
	case opMaster:
		err := e.write(func() error { return e.b.setMaster(o.index, o.masterIndex) })
		return c, netprim.KernelError("set", "link "+o.name+" master", err)
	}
	return c, fmt.Errorf("link: unknown operation %d", o.kind)
}

// live makes a change the driver may refuse on a running link: when it
// answers EBUSY, the link is taken down, changed and brought back up, and
// the change is marked disruptive.
func (e *executor) live(o op, set func() error) (netprim.Change, error) {
	c := o.change
	obj := "link " + o.name + " " + c.Field
	err := e.write(set)
	if !errors.Is(err, syscall.EBUSY) || !o.wasUp {
		return c, netprim.KernelError("set", obj, err)
	}
	c.Disruptive = true
	c.Reason = "the driver refused a live change (EBUSY): made with the link down"
	if err := e.write(func() error { return e.b.setUp(o.index, false) }); err != nil {
		return c, netprim.KernelError("set", obj, fmt.Errorf("busy, and taking the link down to retry failed: %w", err))
	}
	errSet := e.write(set)
	errUp := e.write(func() error { return e.b.setUp(o.index, true) })
	switch {
	case errSet != nil && errUp != nil:
		return c, netprim.KernelError("set", obj, fmt.Errorf(
			"failed with the link down too: %w; bringing it back up failed: %v: the link is left DOWN", errSet, errUp))
	case errSet != nil:
		return c, netprim.KernelError("set", obj, fmt.Errorf("failed with the link down too (link brought back up): %w", errSet))
	case errUp != nil:
		// The change is made: record it, and say the link stayed down.
		e.done.Append(c)
		return c, netprim.KernelError("set", "link "+o.name+" up", fmt.Errorf(
			"%s changed with the link down, but bringing it back up failed: the link is left DOWN: %w", c.Field, errUp))
	}
	return c, nil
}

// create adds the link of o and marks it as owned. The add and the marker
// are never separated by a cancellation: a link is not left unmarked unless
// the process dies between the two requests. When marking fails the link
// is deleted again.
func (e *executor) create(o op) error {
	l, release, err := e.newLink(o)
	if err != nil {
		return err
	}
	return e.createLink(o, l, release)
}

// createLink is create with the link already built by newLink.
func (e *executor) createLink(o op, l netlink.Link, release func()) error {
	var index int
	err := e.write(func() error {
		var err error
		index, err = e.b.add(l)
		return err
	})
	if release != nil {
		release()
	}
	if err != nil {
		return e.addErr(o, err)
	}
	return e.mark(o, index, nil)
}

// newLink returns the link to add for o, with the index of its lower link
// resolved.
func (e *executor) newLink(o op) (netlink.Link, func(), error) {
	s := o.spec
	attrs := netlink.NewLinkAttrs()
	attrs.Name = s.Name
	attrs.MTU = s.MTU
	if s.TxQueueLen != 0 {
		attrs.TxQLen = s.TxQueueLen
	}
	if s.HardwareAddr != "" {
		hw, err := net.ParseMAC(s.HardwareAddr)
		if err != nil {
			return nil, nil, linkErr("add", s.Name, err)
		}
		attrs.HardwareAddr = hw
	}
	if upAtCreate(s) {
		attrs.Flags = net.FlagUp
	}
	set := o.settings
	if lw, ok := set.(lowered); ok {
		if field, name := lw.lower(); name != "" {
			index, err := e.b.index(name)
			if err != nil {
				return nil, nil, netprim.KernelError("add", "link "+s.Name, fmt.Errorf("%s %s: %w", field, name, err))
			}
			set = lw.withLower(index)
		}
	}
	l, release, err := set.Link(attrs)
	if err != nil {
		return nil, nil, linkErr("add", s.Name, err)
	}
	return l, release, nil
}

// addErr turns the kernel's refusal of o's add request into Apply's error.
func (e *executor) addErr(o op, err error) error {
	if errors.Is(err, syscall.EOPNOTSUPP) {
		k := o.settings.Kind()
		return linkErr("add", o.name, netprim.Unsupported("link kind "+k, moduleOf(k)))
	}
	return netprim.KernelError("add", "link "+o.name, err)
}

// mark records the ownership marker on the link of o, just added with
// index. errMarker, when not nil, is the kernel's answer to a marker
// request already sent; otherwise mark sends it. When the kernel lacks
// alternative names the marker becomes the alias; when marking fails the
// link is deleted again.
func (e *executor) mark(o op, index int, errMarker error) error {
	s := o.spec
	obj := "link " + s.Name
	marker := e.p.marker(s.Name)
	err := errMarker
	if err == nil {
		err = e.write(func() error { return e.b.addAltName(index, marker) })
	}
	if errors.Is(err, syscall.EOPNOTSUPP) {
		// No alternative names (kernel < 5.5): the alias holds the marker.
		if s.Alias != nil && *s.Alias != marker {
			err = fmt.Errorf("the kernel lacks alternative names, so the ownership marker must be the alias, and spec sets alias %q", *s.Alias)
		} else {
			err = e.write(func() error { return e.b.setAlias(index, marker) })
		}
	}
	if err == nil {
		return nil
	}
	if errDel := e.write(func() error { return e.b.del(index) }); errDel != nil && !gone(errDel) {
		return netprim.KernelError("add", obj, fmt.Errorf(
			"added, but marking it as owned (%s) failed: %w; deleting it again failed too: %v: the link is left UNMARKED",
			marker, err, errDel))
	}
	return netprim.KernelError("add", obj, fmt.Errorf("marking it as owned (%s) failed, so it was deleted again: %w", marker, err))
}

// gone reports an error that says the link does not exist.
func gone(err error) bool {
	return errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENOENT) || errors.Is(err, netprim.ErrNotFound)
}

// moduleOf names the kernel module that provides a link kind.
func moduleOf(kind string) string {
	switch kind {
	case "bond":
		return "bonding"
	case "vlan":
		return "8021q"
	}
	return kind
}
