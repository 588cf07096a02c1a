package firewall

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// elemChunk is the number of set elements sent per message: all elements
// of a message share one netlink attribute with a 16-bit length.
const elemChunk = 1000

// dial opens a lasting nftables connection in ns with socket buffers of
// at least bufBytes.
func dial(ns *netprim.Namespace, bufBytes int) (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		return setBuffers(c, bufBytes)
	})}
	if ns != nil {
		opts = append(opts, nftables.WithNetNSFd(ns.FD()))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, netprim.KernelError("open", "nftables in netns "+ns.String(), err)
	}
	return c, nil
}

func isNotExist(err error) bool {
	return errors.Is(err, syscall.ENOENT)
}

// session is one Plan or Apply: the compiled Spec, the table as read, and
// what the Cache needs to record the outcome.
type session struct {
	c          *nfconn
	r          *reader
	p          program
	obs        observed
	gen        uint32 // generation the table was read at
	consistent bool   // nothing else committed while the table was read
	cache      *Cache // nil: no caching
	cookie     uint64
	key        [sha256.Size]byte
}

// open validates and compiles want, opens the namespace and reads the
// table. With a Cache that knows the namespace holds want at the current
// generation it reads nothing else and returns nil: nothing to do.
func open(ctx context.Context, ns *netprim.Namespace, want Spec, o netprim.Options) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cache := cacheOf(o)
	if cache == nil {
		// Refuse a bad Spec before touching the kernel. With a Cache it
		// is validated below, unless it is known to be applied already.
		if err := want.Validate(); err != nil {
			return nil, err
		}
	}
	c, err := dialNF(ns, statsOf(o))
	if err != nil {
		return nil, err
	}
	s := &session{c: c}
	if cache != nil {
		hit, err := s.useCache(cache, want, ns)
		if err == nil && !hit {
			err = want.Validate()
		}
		if err != nil || hit {
			c.Close()
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		c.Close()
		return nil, err
	}
	want = clone(want)
	want.Normalize()
	// Compile while the table is read; the set elements wait for it.
	compiled := make(chan struct{})
	go func() {
		defer close(compiled)
		s.p = compile(want)
	}()
	var wanted map[string]bool
	elems := func(name string) bool {
		if wanted == nil {
			<-compiled
			wanted = make(map[string]bool, len(s.p.Sets))
			for _, set := range s.p.Sets {
				wanted[set.Name] = true
			}
		}
		return wanted[name]
	}
	s.r = newReader(ns, c)
	s.obs, s.gen, s.consistent, err = s.r.readTable(want.Table, readOpts{elems: elems})
	<-compiled
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// useCache prepares s to record its outcome in cache and reports whether
// cache knows that the namespace holds want at the current generation.
func (s *session) useCache(cache *Cache, want Spec, ns *netprim.Namespace) (bool, error) {
	cookie, err := s.c.cookie()
	if err != nil || cookie == 0 {
		// Without a namespace cookie (before Linux 5.14) namespaces
		// cannot be told apart for sure: no caching.
		return false, nil
	}
	g, err := s.c.gen()
	if err != nil {
		return false, netprim.KernelError("read", "nftables generation in netns "+ns.String(), err)
	}
	s.cache, s.cookie, s.key = cache, cookie, specHash(want)
	return cache.hit(cookie, s.key, g), nil
}

// close releases the connections.
func (s *session) close() {
	if s.r != nil {
		s.r.Close()
	}
	s.c.Close()
}

// remember records in the Cache that the namespace holds the Spec at
// generation gen.
func (s *session) remember(gen uint32) {
	if s.cache != nil && s.consistent {
		s.cache.store(s.cookie, s.key, gen)
	}
}

// Plan returns the changes Apply would make to the namespace, each rule
// rendered as nft text. An empty Plan means Apply would send nothing.
//
// It fails with an error wrapping netprim.ErrConflict, as Apply does, when
// the table exists but was not written by netprim (see WithTakeOver). With
// WithCache it reads only the ruleset generation when the Cache knows the
// table holds want at that generation, and records a Spec it finds already
// applied.
func Plan(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	o := netprim.Resolve(opts...)
	s, err := open(ctx, ns, want, o)
	if err != nil || s == nil {
		return netprim.Plan{}, err
	}
	defer s.close()
	if err := checkOwner(s.p.Table, s.obs, takeOver(o)); err != nil {
		return netprim.Plan{}, err
	}
	ops := diff(s.p, s.obs)
	if len(ops) == 0 {
		s.remember(s.gen)
	}
	return plan(ops), nil
}

// Apply makes the firewall table in ns match want in one atomic nftables
// transaction and returns the changes it made. Rules that did not change
// are left in place with their counters; when nothing differs Apply sends
// nothing. Options: netprim.WithWriteCounter counts the messages of the
// transaction; WithTakeOver lets Apply replace the contents of a table it
// did not write; WithCache skips reading the table when the namespace's
// ruleset did not change since want was applied with the same Cache.
//
// A table that exists, is not empty and holds none of netprim's safety
// rules belongs to someone else (for example a distribution's "table inet
// filter"): Apply then writes nothing and returns an error wrapping
// netprim.ErrConflict that names the table.
func Apply(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	o := netprim.Resolve(opts...)
	s, err := open(ctx, ns, want, o)
	if err != nil || s == nil {
		return netprim.Plan{}, err
	}
	defer s.close()
	p := s.p
	if err := checkOwner(p.Table, s.obs, takeOver(o)); err != nil {
		return netprim.Plan{}, err
	}
	ops := diff(p, s.obs)
	if len(ops) == 0 {
		s.remember(s.gen)
		return netprim.Plan{}, nil
	}
	if err := ctx.Err(); err != nil {
		return netprim.Plan{}, err
	}
	wc, w, err := newWriter(ns, 1<<20)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer w.Close()
	n, err := queue(wc, p, ops)
	if err == nil {
		if o.Writes != nil {
			*o.Writes += int64(n)
		}
		err = wc.Flush()
	}
	if err != nil {
		// The batch is atomic, but a failure to read the replies (ENOBUFS)
		// may come after the kernel applied it: look again.
		if again, _, _, rerr := s.r.readTable(p.Table, readOpts{elems: func(string) bool { return true }}); rerr == nil && len(diff(p, again)) == 0 {
			return plan(ops), nil
		}
		return netprim.Plan{}, netprim.KernelError("apply", "nftables table inet "+p.Table, err)
	}
	// Our transaction is the only one since the table was read when the
	// generation moved by exactly one: the kernel then holds want.
	if s.cache != nil {
		if g, err := s.c.gen(); err == nil && g == nextGen(s.gen) {
			s.remember(g)
		}
	}
	o.Logger.Debug("firewall applied", "table", p.Table, "changes", len(ops), "messages", n)
	return plan(ops), nil
}

// queue adds the messages of ops to c and returns how many.
func queue(c *nftables.Conn, p program, ops []op) (int, error) {
	t := &nftables.Table{Name: p.Table, Family: nftables.TableFamilyINet}
	chain := &nftables.Chain{Name: ChainName, Table: t}
	sets := map[string]*nftables.Set{}
	n := 0
	nextID := uint32(0)
	// Flush every chain that goes away before deleting any: a rule of one
	// may jump to another, and a chain still referenced cannot be deleted.
	for _, o := range ops {
		if o.Kind == opDelChain {
			c.FlushChain(&nftables.Chain{Name: o.Chain, Table: t})
			n++
		}
	}
	for _, o := range ops {
		switch o.Kind {
		case opAddTable:
			c.AddTable(t)
			n++
		case opDelChain:
			c.DelChain(&nftables.Chain{Name: o.Chain, Table: t})
			n++
		case opAddChain:
			policy := nftables.ChainPolicyAccept
			if p.Policy == DefaultBlock {
				policy = nftables.ChainPolicyDrop
			}
			c.AddChain(&nftables.Chain{Name: ChainName, Table: t, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &policy})
			n++
		case opDelRule:
			if err := c.DelRule(&nftables.Rule{Table: t, Chain: chain, Handle: o.Handle}); err != nil {
				return n, err
			}
			n++
		case opAddSet, opRefillSet:
			nextID++
			// Set ids only need to be unique within the transaction;
			// setting one keeps nftables.AddSet off its global counter.
			s := &nftables.Set{Table: t, ID: nextID, Name: o.Set.Name, KeyType: keyType(o.Set.Kind), Interval: o.Set.Kind.interval()}
			if o.Kind == opAddSet {
				if err := c.AddSet(s, nil); err != nil {
					return n, fmt.Errorf("set %s: %w", s.Name, err)
				}
				sets[s.Name] = s
			} else {
				c.FlushSet(s)
			}
			n++
			for i := 0; i < len(o.Set.Elems); i += elemChunk {
				var elems []nftables.SetElement
				for _, e := range o.Set.Elems[i:min(i+elemChunk, len(o.Set.Elems))] {
					elems = append(elems, nftables.SetElement{Key: e.Key, IntervalEnd: e.End})
				}
				if err := c.SetAddElements(s, elems); err != nil {
					return n, fmt.Errorf("set %s: %w", s.Name, err)
				}
				n++
			}
		case opAddRule:
			r := &nftables.Rule{Table: t, Chain: chain, Exprs: exprs(o.Rule.Stmts, sets),
				UserData: userdata.AppendString(nil, userdata.TypeComment, o.Rule.Comment)}
			if o.Handle != 0 {
				r.Position = o.Handle
				c.InsertRule(r)
			} else {
				c.AddRule(r)
			}
			n++
		case opDelSet:
			c.DelSet(&nftables.Set{Table: t, Name: o.Name})
			n++
		}
	}
	return n, nil
}

func keyType(k setKind) nftables.SetDatatype {
	switch k {
	case setIPv4:
		return nftables.TypeIPAddr
	case setIPv6:
		return nftables.TypeIP6Addr
	case setPort:
		return nftables.TypeInetService
	case setICMPType:
		return nftables.TypeICMPType
	case setICMPv6Type:
		return nftables.TypeICMP6Type
	}
	return nftables.TypeInvalid
}

// exprs translates statements to nftables expressions, exactly as nft
// compiles the same text. sets holds the sets created in this transaction
// (looked up by id as well as by name).
func exprs(st []stmt, sets map[string]*nftables.Set) []expr.Any {
	var out []expr.Any
	lookup := func(name string) expr.Any {
		l := &expr.Lookup{SourceRegister: 1, SetName: name}
		if s, ok := sets[name]; ok {
			l.SetID = s.ID
		}
		return l
	}
	for _, s := range st {
		switch s.Kind {
		case stIIFName:
			name := make([]byte, unix.IFNAMSIZ)
			copy(name, s.Str)
			out = append(out, &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name})
		case stNFProto:
			proto := byte(unix.NFPROTO_IPV4)
			if s.V6 {
				proto = unix.NFPROTO_IPV6
			}
			out = append(out, &expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
		case stSaddr, stSaddrSet:
			off, n := uint32(12), uint32(4)
			if s.V6 {
				off, n = 8, 16
			}
			if s.Kind == stSaddrSet {
				out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}, lookup(s.Set))
				continue
			}
			addr := s.Prefix.Masked().Addr().AsSlice()
			if bits := s.Prefix.Bits(); bits%8 == 0 {
				// Like nft: load only the prefix's bytes, no mask.
				out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(bits / 8)},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:bits/8]})
				continue
			}
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: prefixMask(s.Prefix), Xor: make([]byte, n)},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr})
		case stL4Proto:
			out = append(out, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{s.Proto}})
		case stDport:
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, s.Port)})
		case stDportSet:
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}, lookup(s.Set))
		case stICMPSet:
			out = append(out, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1}, lookup(s.Set))
		case stCtState:
			out = append(out, &expr.Ct{Register: 1, Key: expr.CtKeySTATE},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, s.Mask), Xor: make([]byte, 4)},
				&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
		case stCounter:
			out = append(out, &expr.Counter{})
		case stAccept:
			out = append(out, &expr.Verdict{Kind: expr.VerdictAccept})
		case stDrop:
			out = append(out, &expr.Verdict{Kind: expr.VerdictDrop})
		case stReject:
			out = append(out, &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH})
		case stRejectTCP:
			out = append(out, &expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
		}
	}
	return out
}

func prefixMask(p netip.Prefix) []byte {
	m := make([]byte, p.Addr().BitLen()/8)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// Get returns the rules of the firewall table in ns with their counters.
// It fails with an error wrapping netprim.ErrNotFound when the table does
// not exist. An empty table name means DefaultTable.
func Get(ctx context.Context, ns *netprim.Namespace, table string) (Status, error) {
	if table == "" {
		table = DefaultTable
	}
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	c, err := dialNF(ns, nil)
	if err != nil {
		return Status{}, err
	}
	defer c.Close()
	r := newReader(ns, c)
	defer r.Close()
	o, _, _, err := r.readTable(table, readOpts{counters: true})
	if err != nil {
		return Status{}, err
	}
	if !o.Table {
		return Status{}, &netprim.OpError{Op: "get", Object: "nftables table inet " + table, Err: netprim.ErrNotFound}
	}
	st := Status{Table: table, DefaultAction: DefaultAccept, Rules: []RuleStatus{}}
	if o.Chain != nil {
		st.DefaultAction = o.Chain.Policy
	}
	for _, r := range o.Rules {
		rs := RuleStatus{Handle: r.Handle, Comment: r.Comment, Packets: r.Packets, Bytes: r.Bytes}
		rs.Name, rs.Family, _ = parseComment(r.Comment)
		st.Rules = append(st.Rules, rs)
	}
	return st, nil
}

// Delete removes the firewall table from ns; a missing table is not an
// error. An empty table name means DefaultTable.
func Delete(ctx context.Context, ns *netprim.Namespace, table string, opts ...netprim.Option) error {
	if table == "" {
		table = DefaultTable
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := netprim.Resolve(opts...)
	c, err := dial(ns, 0)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	if _, err := c.ListTableOfFamily(table, nftables.TableFamilyINet); err != nil {
		if isNotExist(err) {
			return nil
		}
		return netprim.KernelError("list", "nftables table inet "+table, err)
	}
	c.DelTable(&nftables.Table{Name: table, Family: nftables.TableFamilyINet})
	if o.Writes != nil {
		*o.Writes++
	}
	return netprim.KernelError("delete", "nftables table inet "+table, c.Flush())
}
