package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// readTries bounds how often readTable starts again when the ruleset
// changed while it was read.
const readTries = 4

// readOpts says what readTable decodes beyond what every caller needs
// (the table, its chains, the names and types of its sets, the handles and
// comments of the rules of our chain).
type readOpts struct {
	counters bool                  // the rules' counters (Get)
	elems    func(set string) bool // the sets whose elements are read; nil: none
}

// reader reads one table of a namespace: its own connection for most
// requests, and more for reading set elements in parallel.
type reader struct {
	ns    *netprim.Namespace
	c     *nfconn
	extra []*nfconn
}

func newReader(ns *netprim.Namespace, c *nfconn) *reader { return &reader{ns: ns, c: c} }

// Close closes the extra connections (not the main one).
func (r *reader) Close() {
	for _, c := range r.extra {
		c.Close()
	}
	r.extra = nil
}

// conns returns n extra connections, opening them on first use.
func (r *reader) conns(n int) ([]*nfconn, error) {
	for len(r.extra) < n {
		c, err := dialNF(r.ns, r.c.stats)
		if err != nil {
			return nil, err
		}
		r.extra = append(r.extra, c)
	}
	return r.extra[:n], nil
}

// Reading set elements costs one dump per set, and the kernel finds the
// set by walking the table's list of sets, several times per dump: with
// thousands of sets that is most of the time a read takes. Tables with
// many sets have their elements read over up to maxReadConns connections
// at once, while the main connection reads the rules.
const (
	maxReadConns = 3
	setsPerConn  = 64
)

// readTable returns what the kernel holds in table, and the ruleset
// generation it read. The table is read between two generation requests:
// when they differ another transaction changed the ruleset meanwhile, and
// readTable starts again. consistent is false when that kept happening;
// the result is then the last, possibly torn, read.
//
// It reads the table alone, never the rest of the ruleset: the table, our
// chain, the sets of the table, the elements of the sets opts selects and
// the rules of our chain. Only when the table's use count says it holds
// something else than our chain and its sets are the table's other chains
// looked up (in a dump of the chains of family inet).
func (r *reader) readTable(table string, opts readOpts) (o observed, gen uint32, consistent bool, err error) {
	for try := 1; ; try++ {
		g0, err := r.c.gen()
		if err != nil {
			return observed{}, 0, false, netprim.KernelError("read", "nftables generation", err)
		}
		o, err := r.readOnce(table, opts)
		if errors.Is(err, errDumpInterrupted) && try < readTries {
			continue
		}
		if err != nil {
			return observed{}, 0, false, err
		}
		g1, err := r.c.gen()
		if err != nil {
			return observed{}, 0, false, netprim.KernelError("read", "nftables generation", err)
		}
		if g1 == g0 || try == readTries {
			return o, g1, g1 == g0, nil
		}
	}
}

func listError(what string, err error) error {
	if errors.Is(err, errDumpInterrupted) {
		return err
	}
	return netprim.KernelError("list", what, err)
}

func (r *reader) readOnce(table string, opts readOpts) (observed, error) {
	var o observed
	c := r.c
	object := "nftables table inet " + table

	// The table and its use count: its chains, sets, objects and
	// flowtables.
	var use uint32
	err := c.request("gettable", unix.NFT_MSG_GETTABLE, unix.NFPROTO_INET, false, strAttr(nil, unix.NFTA_TABLE_NAME, table), func(data []byte) error {
		return walkAttrs(data, func(typ uint16, v []byte) error {
			if typ == unix.NFTA_TABLE_USE && len(v) == 4 {
				use = binary.BigEndian.Uint32(v)
			}
			return nil
		})
	})
	if errors.Is(err, syscall.ENOENT) {
		return o, nil
	}
	if err != nil {
		return observed{}, listError(object, err)
	}
	o.Table = true

	// Our chain.
	req := strAttr(nil, unix.NFTA_CHAIN_TABLE, table)
	req = strAttr(req, unix.NFTA_CHAIN_NAME, ChainName)
	err = c.request("getchain", unix.NFT_MSG_GETCHAIN, unix.NFPROTO_INET, false, req, func(data []byte) error {
		ch, err := decodeChain(data)
		o.Chain = &ch.obsChain
		return err
	})
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		return observed{}, listError(object+" chain "+ChainName, err)
	}

	// Its sets.
	nsets := uint32(0)
	err = c.request("getset", unix.NFT_MSG_GETSET, unix.NFPROTO_INET, true, strAttr(nil, unix.NFTA_SET_TABLE, table), func(data []byte) error {
		s, anonymous, err := decodeSet(data)
		if err != nil {
			return err
		}
		nsets++
		if !anonymous {
			o.Sets = append(o.Sets, s)
		}
		return nil
	})
	if err != nil {
		return observed{}, listError("sets of "+object, err)
	}

	// Other chains exist only if the use count has room for them.
	ours := uint32(0)
	if o.Chain != nil {
		ours = 1
	}
	if use != ours+nsets {
		err = c.request("getchain-dump", unix.NFT_MSG_GETCHAIN, unix.NFPROTO_INET, true, nil, func(data []byte) error {
			ch, err := decodeChain(data)
			if err == nil && ch.table == table && ch.name != ChainName {
				o.OtherChains = append(o.OtherChains, ch.name)
			}
			return err
		})
		if err != nil {
			return observed{}, listError("chains of family inet", err)
		}
	}

	// The rules of our chain on the main connection, meanwhile the set
	// elements on others.
	rulesDone := make(chan error, 1)
	if o.Chain != nil {
		go func() {
			req := strAttr(nil, unix.NFTA_RULE_TABLE, table)
			req = strAttr(req, unix.NFTA_RULE_CHAIN, ChainName)
			err := c.request("getrule", unix.NFT_MSG_GETRULE, unix.NFPROTO_INET, true, req, func(data []byte) error {
				rule, err := decodeRule(data, opts.counters)
				if err != nil {
					return err
				}
				if name, _, ok := parseComment(rule.Comment); ok && strings.HasPrefix(name, "safety:") {
					o.Owned = true
				}
				o.Rules = append(o.Rules, rule)
				return nil
			})
			if err != nil {
				err = listError("rules of "+object+" "+ChainName, err)
			}
			rulesDone <- err
		}()
	} else {
		rulesDone <- nil
	}
	var sets []*obsSet
	if opts.elems != nil {
		for i := range o.Sets {
			if opts.elems(o.Sets[i].Name) {
				sets = append(sets, &o.Sets[i])
			}
		}
	}
	eerr := r.readElems(table, sets)
	if err := <-rulesDone; err != nil {
		return observed{}, err
	}
	if eerr != nil {
		return observed{}, eerr
	}
	return o, nil
}

// readElems reads the elements of sets over extra connections, in
// parallel when there are many.
func (r *reader) readElems(table string, sets []*obsSet) error {
	if len(sets) == 0 {
		return nil
	}
	n := min(maxReadConns, max(1, runtime.GOMAXPROCS(0)), (len(sets)+setsPerConn-1)/setsPerConn)
	conns, err := r.conns(n)
	if err != nil {
		return err
	}
	var next atomic.Int64
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for w, c := range conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sets) {
					return
				}
				s := sets[i]
				s.Elems = nil
				req := strAttr(nil, unix.NFTA_SET_ELEM_LIST_TABLE, table)
				req = strAttr(req, unix.NFTA_SET_ELEM_LIST_SET, s.Name)
				err := c.request("getsetelem", unix.NFT_MSG_GETSETELEM, unix.NFPROTO_INET, true, req, func(data []byte) error {
					return decodeElems(data, &s.Elems)
				})
				if err != nil {
					errs[w] = listError("set nftables table inet "+table+" "+s.Name, err)
					next.Store(int64(len(sets))) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type decodedChain struct {
	obsChain
	table, name string
}

func decodeChain(data []byte) (decodedChain, error) {
	ch := decodedChain{obsChain: obsChain{Policy: DefaultAccept}}
	err := walkAttrs(data, func(typ uint16, v []byte) error {
		switch typ {
		case unix.NFTA_CHAIN_TABLE:
			ch.table = cstring(v)
		case unix.NFTA_CHAIN_NAME:
			ch.name = cstring(v)
		case unix.NFTA_CHAIN_TYPE:
			ch.Type = cstring(v)
		case unix.NFTA_CHAIN_POLICY:
			if len(v) == 4 && binary.BigEndian.Uint32(v) == nfDrop {
				ch.Policy = DefaultBlock
			}
		case unix.NFTA_CHAIN_HOOK:
			ch.Base = true
			return walkAttrs(v, func(typ uint16, v []byte) error {
				switch {
				case typ == unix.NFTA_HOOK_HOOKNUM && len(v) == 4:
					ch.Hook = binary.BigEndian.Uint32(v)
				case typ == unix.NFTA_HOOK_PRIORITY && len(v) == 4:
					ch.Priority = int32(binary.BigEndian.Uint32(v))
				}
				return nil
			})
		}
		return nil
	})
	return ch, err
}

// setTypeNames maps the key types of our sets (nft's datatype numbers) to
// their nft names.
var setTypeNames = func() map[uint32]string {
	m := map[uint32]string{}
	for _, k := range []setKind{setIPv4, setIPv6, setPort, setICMPType, setICMPv6Type} {
		kt := keyType(k)
		m[kt.GetNFTMagic()] = k.nftType()
	}
	return m
}()

func decodeSet(data []byte) (s obsSet, anonymous bool, err error) {
	err = walkAttrs(data, func(typ uint16, v []byte) error {
		switch {
		case typ == unix.NFTA_SET_NAME:
			s.Name = cstring(v)
		case typ == unix.NFTA_SET_FLAGS && len(v) == 4:
			f := binary.BigEndian.Uint32(v)
			anonymous = f&unix.NFT_SET_ANONYMOUS != 0
			s.Interval = f&unix.NFT_SET_INTERVAL != 0
		case typ == unix.NFTA_SET_KEY_TYPE && len(v) == 4:
			t := binary.BigEndian.Uint32(v)
			name, ok := setTypeNames[t]
			if !ok {
				name = fmt.Sprintf("type %d", t)
			}
			s.KeyType = name
		}
		return nil
	})
	return s, anonymous, err
}

func decodeElems(data []byte, out *[]setElem) error {
	return walkAttrs(data, func(typ uint16, v []byte) error {
		if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			return nil
		}
		return walkAttrs(v, func(typ uint16, v []byte) error {
			if typ != unix.NFTA_LIST_ELEM {
				return nil
			}
			var e setElem
			err := walkAttrs(v, func(typ uint16, v []byte) error {
				switch {
				case typ == unix.NFTA_SET_ELEM_KEY:
					return walkAttrs(v, func(typ uint16, v []byte) error {
						if typ == unix.NFTA_DATA_VALUE {
							e.Key = append([]byte(nil), v...)
						}
						return nil
					})
				case typ == unix.NFTA_SET_ELEM_FLAGS && len(v) == 4:
					e.End = binary.BigEndian.Uint32(v)&unix.NFT_SET_ELEM_INTERVAL_END != 0
				}
				return nil
			})
			*out = append(*out, e)
			return err
		})
	})
}

func decodeRule(data []byte, counters bool) (obsRule, error) {
	var r obsRule
	err := walkAttrs(data, func(typ uint16, v []byte) error {
		switch {
		case typ == unix.NFTA_RULE_HANDLE && len(v) == 8:
			r.Handle = binary.BigEndian.Uint64(v)
		case typ == unix.NFTA_RULE_USERDATA:
			r.Comment = ruleComment(v)
		case typ == unix.NFTA_RULE_EXPRESSIONS && counters:
			return walkAttrs(v, func(typ uint16, v []byte) error {
				if typ != unix.NFTA_LIST_ELEM {
					return nil
				}
				counter := false
				return walkAttrs(v, func(typ uint16, v []byte) error {
					switch {
					case typ == unix.NFTA_EXPR_NAME:
						counter = isCString(v, "counter")
					case typ == unix.NFTA_EXPR_DATA && counter:
						return walkAttrs(v, func(typ uint16, v []byte) error {
							switch {
							case typ == unix.NFTA_COUNTER_PACKETS && len(v) == 8:
								r.Packets = binary.BigEndian.Uint64(v)
							case typ == unix.NFTA_COUNTER_BYTES && len(v) == 8:
								r.Bytes = binary.BigEndian.Uint64(v)
							}
							return nil
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return r, err
}

// ruleComment returns the comment in a rule's user data: type-length-value
// records of one byte type and one byte length, the comment NUL-terminated.
// Malformed data (anyone may write a rule) yields no comment.
func ruleComment(ud []byte) string {
	for len(ud) >= 2 {
		typ, l := ud[0], int(ud[1])
		if len(ud) < 2+l {
			return ""
		}
		if typ == byte(userdata.TypeComment) {
			return cstring(ud[2 : 2+l])
		}
		ud = ud[2+l:]
	}
	return ""
}

// nfDrop is the verdict NF_DROP, a chain's policy.
const nfDrop = 0
