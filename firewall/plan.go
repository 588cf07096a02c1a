package firewall

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/netprim/netprim"
)

// observed is what the kernel holds in our table.
type observed struct {
	Table       bool      // the table exists
	Owned       bool      // our chain holds a safety rule of ours: Apply wrote this table
	Chain       *obsChain // our base chain, nil when missing
	OtherChains []string  // chains in our table other than ours
	Rules       []obsRule // rules of our chain, in order
	Sets        []obsSet  // sets in our table
	setIndex    map[string]int
}

type obsChain struct {
	Base     bool // a base chain (has a hook)
	Hook     uint32
	Priority int32
	Type     string
	Policy   DefaultAction
}

type obsRule struct {
	Handle  uint64
	Comment string
	Packets uint64
	Bytes   uint64
}

type obsSet struct {
	Name     string
	KeyType  string // nft type name
	Interval bool
	Elems    []setElem
}

func (o *observed) set(name string) (obsSet, bool) {
	if o.setIndex == nil {
		o.setIndex = map[string]int{}
		for i, s := range o.Sets {
			o.setIndex[s.Name] = i
		}
	}
	i, ok := o.setIndex[name]
	if !ok {
		return obsSet{}, false
	}
	return o.Sets[i], true
}

type opKind uint8

const (
	opAddTable opKind = iota + 1
	opDelChain        // flush and delete a chain (ours when it must be recreated, or a foreign one)
	opAddChain        // create our chain, or update its policy
	opDelRule
	opAddSet
	opRefillSet // flush the set and add its elements again
	opAddRule
	opDelSet
)

// op is one step of the transaction Apply sends.
type op struct {
	Kind   opKind
	Chain  string
	Set    *setDef
	Rule   *ruleDef
	Handle uint64 // opDelRule: the rule; opAddRule: insert before it (0: append)
	Name   string // opDelSet: the set
	Change netprim.Change
}

// checkOwner refuses a table that exists, holds something and carries no
// sign of having been written by Apply (safety rules with our comments in
// our chain, or, once its rules were flushed, our safety sets), unless
// takeOver is set. An empty table (no chains, no sets) is adopted.
func checkOwner(table string, o observed, takeOver bool) error {
	if !o.Table || o.Owned || takeOver || (o.Chain == nil && len(o.OtherChains) == 0 && len(o.Sets) == 0) || flushedOurs(o) {
		return nil
	}
	return &netprim.OpError{Op: "adopt", Object: "nftables table inet " + table,
		Err: fmt.Errorf("%w: the table exists and was not written by netprim (no netprim safety rules in chain %q); "+
			"choose another Spec.Table, or pass firewall.WithTakeOver() to replace its contents", netprim.ErrConflict, ChainName)}
}

// flushedOurs reports whether o is a table Apply wrote whose rules were
// all removed ("nft flush table" keeps chains and sets): our chain is
// empty and netprim's two safety sets are there with their types.
func flushedOurs(o observed) bool {
	if o.Chain == nil || len(o.Rules) != 0 {
		return false
	}
	v4, ok4 := o.set("safety_icmp")
	v6, ok6 := o.set("safety_icmpv6")
	return ok4 && ok6 && v4.KeyType == setICMPType.nftType() && v6.KeyType == setICMPv6Type.nftType()
}

// chainHookInput is NF_INET_LOCAL_IN.
const chainHookInput = 1

// diff computes the operations that make the kernel (o) match p, in the
// order they go into the transaction.
func diff(p program, o observed) []op {
	var ops []op
	obj := func(rest string) string { return "inet " + p.Table + " " + rest }
	policy := func(d DefaultAction) string {
		if d == DefaultBlock {
			return "drop"
		}
		return "accept"
	}
	if !o.Table {
		ops = append(ops, op{Kind: opAddTable, Change: netprim.Change{Action: netprim.Add, Kind: "nftables table", Object: "inet " + p.Table}})
	}
	rules := o.Rules
	switch c := o.Chain; {
	case c == nil:
		ops = append(ops, op{Kind: opAddChain, Change: netprim.Change{Action: netprim.Add, Kind: "nftables chain",
			Object: obj(ChainName + " { type filter hook input priority filter; policy " + policy(p.Policy) + "; }")}})
	case !c.Base || c.Hook != chainHookInput || c.Priority != 0 || c.Type != "filter":
		ops = append(ops, op{Kind: opDelChain, Chain: ChainName, Change: netprim.Change{Action: netprim.Recreate, Kind: "nftables chain",
			Object: obj(ChainName), Disruptive: true, Reason: "chain is not type filter hook input priority filter: recreated, its counters reset"}})
		ops = append(ops, op{Kind: opAddChain})
		rules = nil
	case c.Policy != p.Policy:
		ops = append(ops, op{Kind: opAddChain, Change: netprim.Change{Action: netprim.Modify, Kind: "nftables chain", Object: obj(ChainName),
			Field: "policy", From: policy(c.Policy), To: policy(p.Policy)}})
	}

	// Sets whose type does not match must be deleted and created again;
	// the rules that use them are then rewritten too.
	badSets := map[string]bool{}
	for _, s := range p.Sets {
		if have, ok := o.set(s.Name); ok && (have.KeyType != s.Kind.nftType() || have.Interval != s.Kind.interval()) {
			badSets[s.Name] = true
		}
	}

	// Rules: keep the longest run of wanted rules already in the kernel in
	// the right order; delete the others; insert the missing ones.
	want := make(map[string]int, len(p.Rules))
	for i, r := range p.Rules {
		want[r.Comment] = i
	}
	usesBad := func(r ruleDef) bool {
		for _, st := range r.Stmts {
			if st.Set != "" && badSets[st.Set] {
				return true
			}
		}
		return false
	}
	var cand []int                 // indexes into rules of candidates to keep
	pos := make([]int, len(rules)) // for each candidate, its index in p.Rules
	seen := make(map[string]bool, len(rules))
	for i, r := range rules {
		j, ok := want[r.Comment]
		if ok && !seen[r.Comment] && (len(badSets) == 0 || !usesBad(p.Rules[j])) {
			cand = append(cand, i)
			pos[i] = j
		}
		seen[r.Comment] = true
	}
	keep := make([]bool, len(rules))
	for _, k := range longestIncreasing(cand, func(i int) int { return pos[i] }) {
		keep[k] = true
	}
	keptAt := make([]uint64, len(p.Rules)) // handle of the kept kernel rule for each wanted rule
	for i, r := range rules {
		if keep[i] {
			keptAt[pos[i]] = r.Handle
			continue
		}
		what := r.Comment
		if what == "" {
			what = fmt.Sprintf("handle %d (not written by netprim)", r.Handle)
		}
		ops = append(ops, op{Kind: opDelRule, Chain: ChainName, Handle: r.Handle, Change: netprim.Change{Action: netprim.Delete, Kind: "nftables rule",
			Object: obj(ChainName + ": " + what)}})
	}

	used := map[string]bool{}
	for _, s := range p.Sets {
		used[s.Name] = true
	}
	for _, s := range o.Sets {
		if badSets[s.Name] {
			ops = append(ops, op{Kind: opDelSet, Name: s.Name, Change: netprim.Change{Action: netprim.Recreate, Kind: "nftables set",
				Object: obj(s.Name), Reason: "set type changed"}})
		}
	}
	for i := range p.Sets {
		s := &p.Sets[i]
		have, ok := o.set(s.Name)
		elems := func() string { return "{ " + strings.Join(s.Text, ", ") + " }" }
		switch {
		case !ok || badSets[s.Name]:
			ops = append(ops, op{Kind: opAddSet, Set: s, Change: netprim.Change{Action: netprim.Add, Kind: "nftables set",
				Object: obj(s.Name + " { type " + s.Kind.nftType() + "; elements = " + elems() + " }")}})
		case !sameElems(have.Elems, s.Elems):
			ops = append(ops, op{Kind: opRefillSet, Set: s, Change: netprim.Change{Action: netprim.Modify, Kind: "nftables set",
				Object: obj(s.Name), Field: "elements", To: elems(), Reason: "elements changed outside netprim"}})
		}
	}

	next := uint64(0) // handle of the next kept rule, walking backwards
	var adds []op
	for i := len(p.Rules) - 1; i >= 0; i-- {
		if keptAt[i] != 0 {
			next = keptAt[i]
			continue
		}
		r := &p.Rules[i]
		adds = append(adds, op{Kind: opAddRule, Chain: ChainName, Rule: r, Handle: next, Change: netprim.Change{Action: netprim.Add, Kind: "nftables rule",
			Object: obj(ChainName + ": " + r.text())}})
	}
	slices.Reverse(adds)
	ops = append(ops, adds...)

	for _, c := range o.OtherChains {
		ops = append(ops, op{Kind: opDelChain, Chain: c, Change: netprim.Change{Action: netprim.Delete, Kind: "nftables chain",
			Object: obj(c), Reason: "not written by netprim"}})
	}
	for _, s := range o.Sets {
		if !used[s.Name] {
			ops = append(ops, op{Kind: opDelSet, Name: s.Name, Change: netprim.Change{Action: netprim.Delete, Kind: "nftables set", Object: obj(s.Name)}})
		}
	}
	return ops
}

// plan collects the changes of ops.
func plan(ops []op) netprim.Plan {
	var pl netprim.Plan
	for _, o := range ops {
		if o.Change.Action != 0 {
			pl.Append(o.Change)
		}
	}
	return pl
}

// sameElems reports whether a and b hold the same elements, in any order.
func sameElems(a, b []setElem) bool {
	if len(a) != len(b) {
		return false
	}
	eq := func(x, y setElem) bool { return x.End == y.End && bytes.Equal(x.Key, y.Key) }
	// The kernel lists interval sets in reverse order: try both orders
	// before sorting.
	fwd, rev := true, true
	for i := range a {
		fwd = fwd && eq(a[i], b[i])
		rev = rev && eq(a[i], b[len(b)-1-i])
		if !fwd && !rev {
			break
		}
	}
	if fwd || rev {
		return true
	}
	key := func(e setElem) string {
		if e.End {
			return string(e.Key) + "\x01"
		}
		return string(e.Key) + "\x00"
	}
	as := make([]string, len(a))
	bs := make([]string, len(b))
	for i := range a {
		as[i], bs[i] = key(a[i]), key(b[i])
	}
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

// longestIncreasing returns the longest subsequence of xs whose values
// v(x) strictly increase (patience sorting, O(n log n)).
func longestIncreasing(xs []int, v func(int) int) []int {
	var tails []int // index into xs of the smallest tail of each length
	prev := make([]int, len(xs))
	for i, x := range xs {
		lo, hi := 0, len(tails)
		for lo < hi {
			m := (lo + hi) / 2
			if v(xs[tails[m]]) < v(x) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		prev[i] = -1
		if lo > 0 {
			prev[i] = tails[lo-1]
		}
		if lo == len(tails) {
			tails = append(tails, i)
		} else {
			tails[lo] = i
		}
	}
	out := make([]int, len(tails))
	for k, i := len(tails)-1, -1; k >= 0; k-- {
		if k == len(tails)-1 {
			i = tails[k]
		}
		out[k] = xs[i]
		i = prev[i]
	}
	return out
}
