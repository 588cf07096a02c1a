package link

import (
	"fmt"
	"sync/atomic"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
)

// batcher is implemented by backends that send many creations in one
// exchange with the kernel: the add requests of up to createBatch links,
// then the marker requests of those that were added. Each request still
// gets its own answer, so errors stay per link.
type batcher interface {
	// encodable reports whether addMany can build the add request of l.
	encodable(l netlink.Link) bool
	// addMany sends the add requests of links and returns one error per
	// link, nil where the kernel added it.
	addMany(links []netlink.Link) []error
	// markMany adds the alternative name markers[i] to the link named
	// names[i] and returns one error per link.
	markMany(names, markers []string) []error
}

// createBatch bounds the creations sent in one exchange: a cancelled
// context is noticed between two batches.
const createBatch = 64

// count adds n write requests to the counter.
func (e *executor) count(n int) {
	if e.writes != nil {
		atomic.AddInt64(e.writes, int64(n))
	}
}

// createMany makes the creations ops (all opCreate) through bt. Links
// created on top of another link (lowered kinds) and links bt cannot
// encode are created one by one, in order, after the batch before them:
// their lower link may be one of its links. Like create, the adds and the
// markers are never separated by a cancellation, and a link whose marker
// is refused is deleted again.
func (e *executor) createMany(bt batcher, ops []op) {
	var (
		pend     []op
		links    []netlink.Link
		releases []func()
	)
	flush := func() {
		if len(pend) == 0 {
			return
		}
		e.count(len(pend))
		errs := bt.addMany(links)
		for _, r := range releases {
			if r != nil {
				r()
			}
		}
		var added []op
		var names, markers []string
		for k, o := range pend {
			if errs[k] != nil {
				e.failed[o.name] = e.addErr(o, errs[k])
				continue
			}
			added = append(added, o)
			names = append(names, o.name)
			markers = append(markers, e.p.marker(o.name))
		}
		if len(added) > 0 {
			e.count(len(added))
			merrs := bt.markMany(names, markers)
			for k, o := range added {
				if merrs[k] != nil {
					if err := e.markAgain(o, merrs[k]); err != nil {
						e.failed[o.name] = err
						continue
					}
				}
				e.done.Append(o.change)
			}
		}
		pend, links, releases = pend[:0], links[:0], releases[:0]
	}
	for _, o := range ops {
		if e.failed[o.name] != nil {
			continue
		}
		if _, ok := o.settings.(lowered); ok {
			flush()
			e.createOne(o)
			continue
		}
		l, release, err := e.newLink(o)
		if err != nil {
			e.failed[o.name] = err
			continue
		}
		if !bt.encodable(l) {
			flush()
			if err := e.createLink(o, l, release); err != nil {
				e.failed[o.name] = err
				continue
			}
			e.done.Append(o.change)
			continue
		}
		pend, links, releases = append(pend, o), append(links, l), append(releases, release)
	}
	flush()
}

// createOne creates the link of o on its own and records the result.
func (e *executor) createOne(o op) {
	if err := e.create(o); err != nil {
		e.failed[o.name] = err
		return
	}
	e.done.Append(o.change)
}

// markAgain handles a refused marker request of a batch: like create, it
// falls back to the alias where the kernel lacks alternative names and
// otherwise deletes the link again.
func (e *executor) markAgain(o op, errMarker error) error {
	index, err := e.b.index(o.name)
	if err != nil {
		return netprim.KernelError("add", "link "+o.name, fmt.Errorf(
			"added, but marking it as owned (%s) failed: %w; looking it up to delete it again failed too: %v: the link may be left UNMARKED",
			e.p.marker(o.name), errMarker, err))
	}
	return e.mark(o, index, errMarker)
}
