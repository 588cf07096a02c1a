package firewall

import (
	"net/netip"
	"slices"
)

// addrRange is an inclusive range of addresses of one family.
type addrRange struct {
	From, To netip.Addr
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// prefix reports the prefix r covers exactly, if any.
func (r addrRange) prefix() (netip.Prefix, bool) {
	a, b := r.From.AsSlice(), r.To.AsSlice()
	bits := 0
	for i := range a {
		x := a[i] ^ b[i]
		if x == 0 {
			bits += 8
			continue
		}
		for x&0x80 == 0 {
			bits++
			x <<= 1
		}
		break
	}
	p := netip.PrefixFrom(r.From, bits)
	if p.Masked().Addr() != r.From || lastAddr(p) != r.To {
		return netip.Prefix{}, false
	}
	return p, true
}

// String renders a prefix when the range is one, "A-B" otherwise.
func (r addrRange) String() string {
	if p, ok := r.prefix(); ok {
		if p.Bits() == p.Addr().BitLen() {
			return p.Addr().String()
		}
		return p.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// mergeRanges sorts ranges (IPv4 before IPv6) and merges overlapping and
// adjacent ones.
func mergeRanges(rs []addrRange) []addrRange {
	if len(rs) <= 1 {
		return rs
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b addrRange) int { return a.From.Compare(b.From) })
	var out []addrRange
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.To.BitLen() == r.From.BitLen() && (r.From.Compare(last.To) <= 0 || last.To.Next() == r.From) {
				if r.To.Compare(last.To) > 0 {
					last.To = r.To
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// subtract returns the union of subnets minus the union of except, as
// sorted, merged ranges (IPv4 first).
func subtract(subnets, except []netip.Prefix) []addrRange {
	in := make([]addrRange, 0, len(subnets))
	var ex []addrRange
	for _, p := range subnets {
		if p.IsValid() {
			in = append(in, addrRange{p.Masked().Addr(), lastAddr(p)})
		}
	}
	for _, p := range except {
		if p.IsValid() {
			ex = append(ex, addrRange{p.Masked().Addr(), lastAddr(p)})
		}
	}
	out := mergeRanges(in)
	for _, e := range mergeRanges(ex) {
		var next []addrRange
		for _, r := range out {
			if r.From.BitLen() != e.From.BitLen() || e.To.Compare(r.From) < 0 || e.From.Compare(r.To) > 0 {
				next = append(next, r)
				continue
			}
			if r.From.Compare(e.From) < 0 {
				next = append(next, addrRange{r.From, e.From.Prev()})
			}
			if e.To.Compare(r.To) < 0 {
				next = append(next, addrRange{e.To.Next(), r.To})
			}
		}
		out = next
	}
	return out
}

// mergePorts sorts and merges port ranges.
func mergePorts(ps []PortRange) []PortRange {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b PortRange) int { return int(a.First) - int(b.First) })
	var out []PortRange
	for _, p := range ps {
		if n := len(out); n > 0 && int(p.First) <= int(out[n-1].Last)+1 {
			if p.Last > out[n-1].Last {
				out[n-1].Last = p.Last
			}
			continue
		}
		out = append(out, p)
	}
	return out
}
