//go:build linux

package addr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// List returns every address in ns (nil: the caller's namespace) in the
// kernel's order, from one address dump (plus one link dump for the link
// names).
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_, have, err := dumpAll(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(have))
	for i := range have {
		out[i] = have[i].status()
	}
	return out, nil
}

// Plan returns the changes Apply would make to give ns the addresses in
// want, without making them. Errors that concern single addresses (a link
// that does not exist, an attribute that cannot change on an address we do
// not own) are joined; the plan covers the rest.
func Plan(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	s, err := prepare(ctx, ns, want, opts)
	if err != nil {
		return netprim.Plan{}, err
	}
	s.conn.Close()
	return s.res.plan(), errors.Join(s.res.errs...)
}

// Apply makes the addresses of ns match want and returns the changes it
// made. Addresses in want are added or changed; with netprim.WithPrune,
// addresses marked with the owner id that are not in want are deleted.
// Addresses not marked with the owner id are never deleted. Errors of
// single addresses are joined and do not stop the others. A cancelled ctx
// stops Apply before its next dump or chunk of requests; what was added is
// marked, so a later Apply converges.
func Apply(ctx context.Context, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, error) {
	s, err := prepare(ctx, ns, want, opts)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer s.conn.Close()
	done, err := s.execute(ctx)
	return done, errors.Join(append(s.res.errs, err)...)
}

// state is one Plan or Apply in progress.
type state struct {
	conn *nl.Conn
	opts netprim.Options
	res  planResult
}

func prepare(ctx context.Context, ns *netprim.Namespace, want []Spec, opts []netprim.Option) (*state, error) {
	o := netprim.Resolve(opts...)
	if err := o.Owner.Validate(); err != nil {
		return nil, fmt.Errorf("addr: %w", err)
	}
	if err := Validate(want); err != nil {
		return nil, err
	}
	c, err := nl.DialRoute(ns)
	if err != nil {
		return nil, err
	}
	s := &state{conn: c, opts: o}
	links, err := dumpLinks(ctx, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	in := planInput{
		want:    make([]target, 0, len(want)),
		promote: make(map[int]bool, len(links.byIndex)),
		owner:   o.Owner.ID,
		prune:   o.Prune,
		marks:   kernelAtLeast(5, 18),
		remark4: kernelAtLeast(6, 3),
		refresh: refreshOf(o),
		now:     time.Now(),
	}
	for idx, l := range links.byIndex {
		in.promote[idx] = l.promote
	}
	var errs []error
	for i := range want {
		sp := want[i]
		sp.Normalize()
		idx, ok := links.byName[sp.Link]
		if !ok {
			errs = append(errs, &netprim.OpError{Op: "add", Object: "address " + sp.String(),
				Err: fmt.Errorf("%w: link %s does not exist in netns %s", netprim.ErrNotFound, sp.Link, ns)})
			continue
		}
		in.want = append(in.want, target{index: i, spec: sp, ifindex: idx})
	}
	in.have, err = dumpAddrs(ctx, c, links)
	if err != nil {
		c.Close()
		return nil, err
	}
	s.res = diff(in)
	if s.res.lost {
		// The setting for all links also makes the kernel promote.
		if all, err := promoteAll(ns); err == nil && all {
			in.promoteAll = true
			s.res = diff(in)
		}
	}
	s.res.errs = append(errs, s.res.errs...)
	return s, nil
}

// execute sends the operations in two batches (adds and replaces, then
// deletes and what must follow them) and returns the changes made.
func (s *state) execute(ctx context.Context) (netprim.Plan, error) {
	ops := s.res.ops
	result := make([]error, len(ops))
	// sent: the kernel answered; pending: encoded in the batch not yet sent.
	sent := make([]bool, len(ops))
	pending := make([]bool, len(ops))
	// done reports whether op i and what it depends on took effect.
	var done func(i int) bool
	done = func(i int) bool {
		o := &ops[i]
		if !o.skip && (!sent[i] || result[i] != nil) {
			return false
		}
		return o.after == 0 || done(o.after-1)
	}
	var (
		b    nl.Batch
		idx  []int
		errs []error
	)
	flush := func() error {
		if len(idx) == 0 {
			return nil
		}
		res, err := s.conn.Exec(ctx, &b)
		for k, i := range idx {
			pending[i] = false
			e := res[k]
			if errors.Is(e, nl.ErrUnknownResult) {
				result[i] = e
				continue
			}
			sent[i] = true
			s.count(1)
			if e != nil && ops[i].readd && errors.Is(e, unix.EEXIST) {
				e = nil // it survived its primary
			}
			result[i] = e
			if e != nil {
				errs = append(errs, netprim.KernelError(ops[i].kind.String(), "address "+ops[i].a.object(), e))
			}
		}
		b.Reset()
		idx = idx[:0]
		return err
	}
	var stopped error
run:
	for _, second := range []bool{false, true} {
		for i := range ops {
			o := &ops[i]
			if o.second != second || o.skip {
				continue
			}
			// A dependency already sent must have succeeded. One still
			// pending comes first in the same request stream: if it fails,
			// this request fails too (EEXIST) or, for a re-add, finds the
			// address still there.
			if d := o.after - 1; d >= 0 && !pending[d] && !done(d) {
				continue
			}
			encode(&b, o)
			idx = append(idx, i)
			pending[i] = true
			if len(idx) == execChunk {
				if stopped = flush(); stopped != nil {
					break run
				}
			}
		}
		// Deletes go out only when the adds before them were answered.
		if stopped = flush(); stopped != nil {
			break
		}
	}
	if stopped != nil {
		errs = append(errs, fmt.Errorf("addr: apply stopped: %w", stopped))
	}
	p := netprim.Plan{Changes: make([]netprim.Change, 0, len(ops))}
	for i := range ops {
		if done(i) {
			p.Append(ops[i].changes...)
		}
	}
	p.Warnings = append(p.Warnings, s.res.warnings...)
	return p, errors.Join(errs...)
}

// execChunk is the number of requests sent per Exec; the context is
// checked between them.
const execChunk = 256

func (s *state) count(n int64) {
	if s.opts.Writes != nil {
		atomic.AddInt64(s.opts.Writes, n)
	}
}

// Netlink attribute and devconf numbers missing from x/sys/unix.
const (
	ifaProto                    = 11 // IFA_PROTO, Linux 5.18
	ipv4DevconfPromoteSecondary = 20 // IPV4_DEVCONF_PROMOTE_SECONDARIES
	rtextFilterSkipStats        = 1 << 3
)

// encode appends the request for o to b.
func encode(b *nl.Batch, o *op) {
	a := &o.a
	fam := byte(unix.AF_INET6)
	if a.v4() {
		fam = unix.AF_INET
	}
	var hdr [unix.SizeofIfAddrmsg]byte
	hdr[0] = fam
	hdr[1] = byte(a.bits)
	hdr[3] = a.scope
	putU32(hdr[4:], uint32(a.ifindex))
	if o.kind == opDelete {
		b.Begin(unix.RTM_DELADDR, 0)
		b.Fixed(hdr[:])
		b.AttrAddr(unix.IFA_LOCAL, a.local)
		b.AttrAddr(unix.IFA_ADDRESS, a.remote())
		b.End()
		return
	}
	flags := uint16(unix.NLM_F_CREATE | unix.NLM_F_EXCL)
	if o.kind == opReplace {
		flags = unix.NLM_F_REPLACE
	}
	wantFlags := a.flags & (managedFlags6 | unixIFA_F_OPTIMISTIC)
	if a.v4() {
		wantFlags = a.flags & managedFlags4
	}
	hdr[2] = byte(wantFlags)
	b.Begin(unix.RTM_NEWADDR, flags)
	b.Fixed(hdr[:])
	b.AttrAddr(unix.IFA_LOCAL, a.local)
	b.AttrAddr(unix.IFA_ADDRESS, a.remote())
	if a.v4() {
		if a.label != "" {
			b.AttrString(unix.IFA_LABEL, a.label)
		}
		if a.broadcast.IsValid() {
			b.AttrAddr(unix.IFA_BROADCAST, a.broadcast)
		}
	}
	b.AttrU32(unix.IFA_FLAGS, wantFlags)
	if a.valid != lifeForever || a.preferred != lifeForever || o.kind == opReplace {
		var ci [unix.SizeofIfaCacheinfo]byte
		putU32(ci[0:], a.preferred)
		putU32(ci[4:], a.valid)
		b.Attr(unix.IFA_CACHEINFO, ci[:])
	}
	if a.metric != 0 || o.kind == opReplace {
		b.AttrU32(unix.IFA_RT_PRIORITY, a.metric)
	}
	if a.proto != 0 {
		b.AttrU8(ifaProto, a.proto)
	}
	b.End()
}

func putU32(p []byte, v uint32) { binary.NativeEndian.PutUint32(p, v) }
func putU16(p []byte, v uint16) { binary.NativeEndian.PutUint16(p, v) }

// linkTable holds the links of a namespace by index and name.
type linkTable struct {
	byIndex map[int]linkInfo
	byName  map[string]int
}

type linkInfo struct {
	name    string
	promote bool // net.ipv4.conf.NAME.promote_secondaries
}

func dumpLinks(ctx context.Context, c *nl.Conn) (linkTable, error) {
	var req [unix.SizeofIfInfomsg + 8]byte
	// IFLA_EXT_MASK: leave out statistics, only names and settings matter.
	putU16(req[unix.SizeofIfInfomsg:], 8)
	putU16(req[unix.SizeofIfInfomsg+2:], unix.IFLA_EXT_MASK)
	putU32(req[unix.SizeofIfInfomsg+4:], rtextFilterSkipStats)
	var t linkTable
	reset := func() {
		t = linkTable{byIndex: make(map[int]linkInfo), byName: make(map[string]int)}
	}
	reset()
	err := c.Dump(ctx, unix.RTM_GETLINK, req[:], reset, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWLINK || len(data) < unix.SizeofIfInfomsg {
			return nil
		}
		idx := int(int32(nl.U32(data[4:])))
		var li linkInfo
		nl.Attrs(data[unix.SizeofIfInfomsg:], func(typ uint16, v []byte) bool {
			switch typ {
			case unix.IFLA_IFNAME:
				li.name = nl.String(v)
			case unix.IFLA_AF_SPEC:
				li.promote = promoteFromAFSpec(v)
			}
			return true
		})
		t.byIndex[idx] = li
		t.byName[li.name] = idx
		return nil
	})
	if err != nil {
		return linkTable{}, netprim.KernelError("list", "links", err)
	}
	return t, nil
}

func promoteFromAFSpec(v []byte) bool {
	promote := false
	nl.Attrs(v, func(typ uint16, v []byte) bool {
		if typ != unix.AF_INET {
			return true
		}
		nl.Attrs(v, func(typ uint16, v []byte) bool {
			if typ == unix.IFLA_INET_CONF {
				off := (ipv4DevconfPromoteSecondary - 1) * 4
				if off+4 <= len(v) {
					promote = nl.U32(v[off:]) != 0
				}
			}
			return true
		})
		return false
	})
	return promote
}

// dumpAll dumps the links, then the addresses (with their link names).
func dumpAll(ctx context.Context, c *nl.Conn) (linkTable, []kaddr, error) {
	links, err := dumpLinks(ctx, c)
	if err != nil {
		return linkTable{}, nil, err
	}
	have, err := dumpAddrs(ctx, c, links)
	return links, have, err
}

func dumpAddrs(ctx context.Context, c *nl.Conn, links linkTable) ([]kaddr, error) {
	var req [unix.SizeofIfAddrmsg]byte
	var out []kaddr
	err := c.Dump(ctx, unix.RTM_GETADDR, req[:], func() { out = out[:0] }, func(typ uint16, data []byte) error {
		if typ != unix.RTM_NEWADDR || len(data) < unix.SizeofIfAddrmsg {
			return nil
		}
		a, ok := parseAddr(data)
		if !ok {
			return nil
		}
		a.link = links.byIndex[a.ifindex].name
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, netprim.KernelError("list", "addresses", err)
	}
	return out, nil
}

// parseAddr decodes one RTM_NEWADDR message.
func parseAddr(data []byte) (kaddr, bool) {
	a := kaddr{
		bits:      int(data[1]),
		flags:     uint32(data[2]),
		scope:     data[3],
		ifindex:   int(nl.U32(data[4:])),
		valid:     lifeForever,
		preferred: lifeForever,
	}
	var address, local netip.Addr
	nl.Attrs(data[unix.SizeofIfAddrmsg:], func(typ uint16, v []byte) bool {
		switch typ {
		case unix.IFA_ADDRESS:
			address, _ = nl.Addr(v)
		case unix.IFA_LOCAL:
			local, _ = nl.Addr(v)
		case unix.IFA_LABEL:
			a.label = nl.String(v)
		case unix.IFA_BROADCAST:
			a.broadcast, _ = nl.Addr(v)
		case unix.IFA_FLAGS:
			a.flags = nl.U32(v)
		case unix.IFA_CACHEINFO:
			if len(v) >= 8 {
				a.preferred = nl.U32(v)
				a.valid = nl.U32(v[4:])
			}
		case unix.IFA_RT_PRIORITY:
			a.metric = nl.U32(v)
		case ifaProto:
			if len(v) >= 1 {
				a.proto = v[0]
			}
		}
		return true
	})
	switch {
	case local.IsValid():
		a.local = local
		if address.IsValid() && address != local {
			a.peer = address
		}
	case address.IsValid():
		a.local = address
	default:
		return kaddr{}, false
	}
	return a, true
}

// kernelRelease is the running kernel's release, e.g. "6.1.0-18-amd64".
var kernelRelease = sync.OnceValue(func() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
})

// kernelAtLeast reports whether the running kernel is major.minor or newer
// (true when the release cannot be read). IFA_PROTO is recorded since 5.18;
// IPv4 addresses take a new IFA_PROTO on replace since 6.3.
func kernelAtLeast(major, minor int) bool {
	return releaseAtLeast(kernelRelease(), major, minor)
}

// releaseAtLeast compares a kernel release string such as "6.1.0-18-amd64"
// with major.minor.
func releaseAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return true
	}
	digits := func(s string) string {
		if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			return s[:i]
		}
		return s
	}
	ma, err1 := strconv.Atoi(digits(parts[0]))
	mi, err2 := strconv.Atoi(digits(parts[1]))
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}

// promoteAll reads net.ipv4.conf.all.promote_secondaries inside ns.
func promoteAll(ns *netprim.Namespace) (bool, error) {
	var v []byte
	err := ns.Do(func() error {
		var err error
		v, err = os.ReadFile("/proc/sys/net/ipv4/conf/all/promote_secondaries")
		return err
	})
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(v)) == "1", nil
}
