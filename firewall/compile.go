package firewall

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// program is a Spec compiled to what the kernel holds: sets and the
// ordered rules of the input chain. It is pure data; the Linux backend
// turns it into nftables messages.
type program struct {
	Table  string
	Policy DefaultAction
	Sets   []setDef  // sorted by name
	Rules  []ruleDef // chain order
}

type setKind uint8

const (
	setIPv4 setKind = iota + 1
	setIPv6
	setPort
	setICMPType
	setICMPv6Type
)

func (k setKind) nftType() string {
	switch k {
	case setIPv4:
		return "ipv4_addr"
	case setIPv6:
		return "ipv6_addr"
	case setPort:
		return "inet_service"
	case setICMPType:
		return "icmp_type"
	case setICMPv6Type:
		return "icmpv6_type"
	}
	return "invalid"
}

func (k setKind) interval() bool { return k == setIPv4 || k == setIPv6 || k == setPort }

// setElem is one kernel set element: a key, flagged as the (exclusive) end
// of an interval or not.
type setElem struct {
	Key []byte
	End bool
}

// setDef is a named set.
type setDef struct {
	Name  string
	Kind  setKind
	Elems []setElem // kernel elements, in order
	Text  []string  // elements as nft text
}

type stmtKind uint8

const (
	stIIFName  stmtKind = iota + 1 // iifname Str
	stNFProto                      // meta nfproto ipv4/ipv6 (V6)
	stSaddr                        // ip/ip6 saddr Prefix (V6)
	stSaddrSet                     // ip/ip6 saddr @Set (V6)
	stL4Proto                      // meta l4proto Proto
	stDport                        // th dport Port (after stL4Proto)
	stDportSet                     // th dport @Set (after stL4Proto)
	stICMPSet                      // icmp/icmpv6 type @Set (V6; after stL4Proto)
	stCtState                      // ct state & Mask != 0
	stCounter                      // counter
	stAccept
	stDrop
	stReject    // reject (ICMPx port unreachable)
	stRejectTCP // reject with tcp reset
)

// stmt is one statement of a rule (one or a few nftables expressions).
type stmt struct {
	Kind   stmtKind
	Str    string
	V6     bool
	Proto  uint8
	Prefix netip.Prefix
	Port   uint16
	Set    string
	Mask   uint32
}

// ruleDef is one kernel rule.
type ruleDef struct {
	Name    string // Spec rule name, "safety:..." or "default"
	Family  string // "", "ip" or "ip6"
	Stmts   []stmt
	Body    string // nft text without comment
	Comment string // identity: NAME[/FAMILY] #HASH
}

// IP protocol numbers.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// conntrack state bits.
const (
	ctInvalid     = 1
	ctEstablished = 2
	ctRelated     = 4
)

var (
	icmpTypes = []struct {
		v uint8
		n string
	}{{3, "destination-unreachable"}, {11, "time-exceeded"}, {12, "parameter-problem"}}
	icmpv6Types = []struct {
		v uint8
		n string
	}{
		{1, "destination-unreachable"}, {2, "packet-too-big"}, {3, "time-exceeded"}, {4, "parameter-problem"},
		{133, "nd-router-solicit"}, {134, "nd-router-advert"}, {135, "nd-neighbor-solicit"},
		{136, "nd-neighbor-advert"}, {137, "nd-redirect"},
	}
)

// compile turns a normalized, valid Spec into a program.
func compile(s Spec) program {
	p := program{Table: s.Table, Policy: s.DefaultAction}
	sets := map[string]setDef{}
	addSet := func(d setDef) string {
		sets[d.Name] = d
		return d.Name
	}
	rules := make([]ruleDef, 0, len(s.Rules)+8)
	add := func(name, family string, st ...stmt) {
		rules = append(rules, newRule(name, family, st))
	}

	// Safety rules.
	add("safety:loopback", "", stmt{Kind: stIIFName, Str: "lo"}, stmt{Kind: stCounter}, stmt{Kind: stAccept})
	add("safety:established", "", stmt{Kind: stCtState, Mask: ctEstablished | ctRelated}, stmt{Kind: stCounter}, stmt{Kind: stAccept})
	add("safety:invalid", "", stmt{Kind: stCtState, Mask: ctInvalid}, stmt{Kind: stCounter}, stmt{Kind: stDrop})
	icmp6 := setDef{Name: "safety_icmpv6", Kind: setICMPv6Type}
	for _, t := range icmpv6Types {
		icmp6.Elems = append(icmp6.Elems, setElem{Key: []byte{t.v}})
		icmp6.Text = append(icmp6.Text, t.n)
	}
	icmp4 := setDef{Name: "safety_icmp", Kind: setICMPType}
	for _, t := range icmpTypes {
		icmp4.Elems = append(icmp4.Elems, setElem{Key: []byte{t.v}})
		icmp4.Text = append(icmp4.Text, t.n)
	}
	add("safety:icmpv6", "", stmt{Kind: stL4Proto, Proto: protoICMPv6}, stmt{Kind: stICMPSet, V6: true, Set: addSet(icmp6)}, stmt{Kind: stCounter}, stmt{Kind: stAccept})
	add("safety:icmp", "", stmt{Kind: stL4Proto, Proto: protoICMP}, stmt{Kind: stICMPSet, Set: addSet(icmp4)}, stmt{Kind: stCounter}, stmt{Kind: stAccept})

	for _, r := range s.Rules {
		tail := make([]stmt, 0, 4)
		switch r.Protocol {
		case TCP, UDP:
			proto := uint8(protoTCP)
			if r.Protocol == UDP {
				proto = protoUDP
			}
			tail = append(tail, stmt{Kind: stL4Proto, Proto: proto})
			ports := make([]PortRange, 0, len(r.Ports))
			for _, ps := range r.Ports {
				pr, _ := ParsePortRange(ps)
				ports = append(ports, pr)
			}
			ports = mergePorts(ports)
			switch {
			case len(ports) == 1 && ports[0].First == ports[0].Last:
				tail = append(tail, stmt{Kind: stDport, Port: ports[0].First})
			case len(ports) > 0:
				tail = append(tail, stmt{Kind: stDportSet, Set: addSet(portSet(ports))})
			}
		case ICMP:
			tail = append(tail, stmt{Kind: stL4Proto, Proto: protoICMP})
		case ICMPv6:
			tail = append(tail, stmt{Kind: stL4Proto, Proto: protoICMPv6})
		}
		tail = append(tail, stmt{Kind: stCounter})
		switch r.Action {
		case Accept:
			tail = append(tail, stmt{Kind: stAccept})
		case Drop:
			tail = append(tail, stmt{Kind: stDrop})
		case Reject:
			if r.Protocol == TCP {
				tail = append(tail, stmt{Kind: stRejectTCP})
			} else {
				tail = append(tail, stmt{Kind: stReject})
			}
		}
		var head []stmt
		if r.InInterface != "" {
			head = append(head, stmt{Kind: stIIFName, Str: r.InInterface})
		}
		if len(r.Subnets) == 0 {
			add(r.Name, "", slices.Concat(head, tail)...)
			continue
		}
		ranges := subtract(r.Subnets, r.Except)
		for _, v6 := range []bool{false, true} {
			if (r.Protocol == ICMP && v6) || (r.Protocol == ICMPv6 && !v6) {
				continue
			}
			var fam []addrRange
			for _, a := range ranges {
				if a.From.Is6() == v6 {
					fam = append(fam, a)
				}
			}
			if len(fam) == 0 {
				continue
			}
			family := "ip"
			if v6 {
				family = "ip6"
			}
			st := make([]stmt, 0, len(head)+2+len(tail))
			st = append(st, head...)
			st = append(st, stmt{Kind: stNFProto, V6: v6})
			if pfx, ok := fam[0].prefix(); ok && len(fam) == 1 {
				if pfx.Bits() != 0 {
					st = append(st, stmt{Kind: stSaddr, V6: v6, Prefix: pfx})
				}
			} else {
				st = append(st, stmt{Kind: stSaddrSet, V6: v6, Set: addSet(addrSet(fam, v6))})
			}
			add(r.Name, family, append(st, tail...)...)
		}
	}
	add("default", "", stmt{Kind: stCounter})

	p.Rules = rules
	for _, name := range slices.Sorted(mapsKeys(sets)) {
		p.Sets = append(p.Sets, sets[name])
	}
	return p
}

func mapsKeys(m map[string]setDef) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func newRule(name, family string, st []stmt) ruleDef {
	body := renderStmts(st)
	sum := sha256.Sum256([]byte(body))
	var h [12]byte
	hex.Encode(h[:], sum[:6])
	comment := name + " #" + string(h[:])
	if family != "" {
		comment = name + "/" + family + " #" + string(h[:])
	}
	return ruleDef{Name: name, Family: family, Stmts: st, Body: body, Comment: comment}
}

// contentName names a set after a hash of its kind and elements, so equal
// sets share a name and a set whose contents change gets a new name.
func contentName(prefix string, kind setKind, text []string) string {
	h := sha256.New()
	// The hash of "KIND\nTEXT[0]\nTEXT[1]...".
	h.Write(strconv.AppendInt(nil, int64(kind), 10))
	for _, t := range text {
		h.Write([]byte{'\n'})
		h.Write([]byte(t))
	}
	if len(text) == 0 {
		h.Write([]byte{'\n'})
	}
	var sum [sha256.Size]byte
	return prefix + hex.EncodeToString(h.Sum(sum[:0])[:8])
}

func addrSet(rs []addrRange, v6 bool) setDef {
	d := setDef{Kind: setIPv4}
	prefix := "a4_"
	if v6 {
		d.Kind, prefix = setIPv6, "a6_"
	}
	for _, r := range rs {
		d.Text = append(d.Text, r.String())
		d.Elems = append(d.Elems, setElem{Key: r.From.AsSlice()})
		if next := r.To.Next(); next.IsValid() {
			d.Elems = append(d.Elems, setElem{Key: next.AsSlice(), End: true})
		}
	}
	d.Name = contentName(prefix, d.Kind, d.Text)
	return d
}

func portSet(ps []PortRange) setDef {
	d := setDef{Kind: setPort}
	for _, p := range ps {
		d.Text = append(d.Text, p.String())
		d.Elems = append(d.Elems, setElem{Key: binary.BigEndian.AppendUint16(nil, p.First)})
		if p.Last < 65535 {
			d.Elems = append(d.Elems, setElem{Key: binary.BigEndian.AppendUint16(nil, p.Last+1), End: true})
		}
	}
	d.Name = contentName("p_", d.Kind, d.Text)
	return d
}

var protoNames = map[uint8]string{protoICMP: "icmp", protoTCP: "tcp", protoUDP: "udp", protoICMPv6: "ipv6-icmp"}

// renderStmts renders statements as nft rule text. Dependencies nft adds
// by itself (meta nfproto before ip saddr, meta l4proto before tcp dport)
// are left implicit, as "nft list" shows them.
func renderStmts(st []stmt) string {
	var b strings.Builder
	b.Grow(64)
	part := func(ss ...string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for _, s := range ss {
			b.WriteString(s)
		}
	}
	for i, s := range st {
		next := stmtKind(0)
		if i+1 < len(st) {
			next = st[i+1].Kind
		}
		fam := "ip"
		if s.V6 {
			fam = "ip6"
		}
		switch s.Kind {
		case stIIFName:
			part("iifname ", strconv.Quote(s.Str))
		case stNFProto:
			if next != stSaddr && next != stSaddrSet {
				if s.V6 {
					part("meta nfproto ipv6")
				} else {
					part("meta nfproto ipv4")
				}
			}
		case stSaddr:
			a := s.Prefix.String()
			if s.Prefix.IsSingleIP() {
				a = s.Prefix.Addr().String()
			}
			part(fam, " saddr ", a)
		case stSaddrSet:
			part(fam, " saddr @", s.Set)
		case stL4Proto:
			if next != stDport && next != stDportSet && next != stICMPSet {
				part("meta l4proto ", protoNames[s.Proto])
			}
		case stDport, stDportSet:
			proto := "tcp"
			if i > 0 && st[i-1].Proto == protoUDP {
				proto = "udp"
			}
			if s.Kind == stDport {
				part(proto, " dport ", strconv.Itoa(int(s.Port)))
			} else {
				part(proto, " dport @", s.Set)
			}
		case stICMPSet:
			if s.V6 {
				part("icmpv6 type @", s.Set)
			} else {
				part("icmp type @", s.Set)
			}
		case stCtState:
			var names []string
			if s.Mask&ctInvalid != 0 {
				names = append(names, "invalid")
			}
			if s.Mask&ctEstablished != 0 {
				names = append(names, "established")
			}
			if s.Mask&ctRelated != 0 {
				names = append(names, "related")
			}
			part("ct state ", strings.Join(names, ","))
		case stCounter:
			part("counter")
		case stAccept:
			part("accept")
		case stDrop:
			part("drop")
		case stReject:
			part("reject")
		case stRejectTCP:
			part("reject with tcp reset")
		}
	}
	return b.String()
}

// text renders the rule as it appears in an nft script.
func (r ruleDef) text() string { return r.Body + " comment " + strconv.Quote(r.Comment) }

// render renders the program as an nft script that creates the table.
func (p program) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", p.Table)
	for _, s := range p.Sets {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n", s.Name, s.Kind.nftType())
		if s.Kind.interval() {
			b.WriteString("\t\tflags interval\n")
		}
		fmt.Fprintf(&b, "\t\telements = { %s }\n\t}\n", strings.Join(s.Text, ", "))
	}
	policy := "accept"
	if p.Policy == DefaultBlock {
		policy = "drop"
	}
	fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook input priority filter; policy %s;\n", ChainName, policy)
	for _, r := range p.Rules {
		fmt.Fprintf(&b, "\t\t%s\n", r.text())
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// Render returns the ruleset the Spec compiles to as an nft script; "nft
// -f" loads it into a namespace where the table does not exist yet.
func Render(s Spec) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	s = clone(s)
	s.Normalize()
	return compile(s).render(), nil
}

// clone deep-copies the slices Normalize rewrites.
func clone(s Spec) Spec {
	s.Rules = slices.Clone(s.Rules)
	for i := range s.Rules {
		r := &s.Rules[i]
		r.Ports = slices.Clone(r.Ports)
		r.Subnets = slices.Clone(r.Subnets)
		r.Except = slices.Clone(r.Except)
	}
	return s
}
