package route

import (
	"net/netip"
	"strconv"
)

// fields is a set of Spec fields that may differ between a wanted route and
// the kernel's route with the same key.
type fields uint16

const (
	fType fields = 1 << iota
	fGateway
	fLink
	fSource
	fScope
	fMTU
	fOnLink
	fNextHops
	fProtocol
)

// fieldOrder lists the fields in the order a Plan reports them, with the
// names of their Spec tags.
var fieldOrder = [...]struct {
	f    fields
	name string
}{
	{fType, "type"}, {fGateway, "gateway"}, {fLink, "link"}, {fSource, "source"},
	{fScope, "scope"}, {fMTU, "mtu"}, {fOnLink, "onLink"}, {fNextHops, "nextHops"},
	{fProtocol, "protocol"},
}

// String renders the route in the words of ip-route(8), e.g.
// "198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100": the Object of the
// Plan's changes that add or modify it, and of the events Watch reports
// for it once Apply wrote it (see Status.String).
func (s Spec) String() string { return string(appendRoute(nil, &s, 0, netip.Prefix{}, 0)) }

// String renders the route as Plan and Watch name it: like Spec.String,
// so that the event for a route Apply wrote names it exactly as the Plan
// did. The protocol is the route's owner, not part of its identity, and is
// left out, with one exception: the kernel's own routes for addresses
// (protocol kernel), which Apply never replaces or deletes, read
// "... proto kernel ...", where ip(8) puts it, so a reader tells them
// apart from a route a Spec would make. Status.Protocol has the owner of
// every route. A source-specific route (From) reads "DST from SRC ...".
func (s Status) String() string {
	return string(appendRoute(nil, &s.Spec, 0, s.From, s.Protocol))
}

// appendRoute appends the ip-route(8) words for s, leaving out the fields
// in skip, with "from" for a source prefix and "proto kernel" for the
// kernel's own routes (see Status.String).
func appendRoute(b []byte, s *Spec, skip fields, from netip.Prefix, proto Protocol) []byte {
	if s.Type != "" && s.Type != TypeUnicast && skip&fType == 0 {
		b = append(b, s.Type...)
		b = append(b, ' ')
	}
	b = s.Destination.AppendTo(b)
	if from.IsValid() {
		b = append(b, " from "...)
		b = from.AppendTo(b)
	}
	if s.TOS != 0 {
		b = append(b, " tos 0x"...)
		b = strconv.AppendUint(b, uint64(s.TOS), 16)
	}
	if skip&fGateway == 0 && s.Gateway.IsValid() {
		b = appendVia(b, s.Destination.Addr().Is4(), s.Gateway)
	}
	if skip&fLink == 0 && s.Link != "" {
		b = append(b, " dev "...)
		b = append(b, s.Link...)
	}
	if s.Table != 0 && s.Table != TableMain {
		b = append(b, " table "...)
		b = appendTable(b, s.Table)
	}
	if proto == ProtocolKernel {
		b = append(b, " proto kernel"...)
	}
	if skip&fScope == 0 && s.Scope != "" && s.Scope != ScopeGlobal {
		b = append(b, " scope "...)
		b = append(b, s.Scope...)
	}
	if s.Metric != 0 {
		b = append(b, " metric "...)
		b = strconv.AppendUint(b, uint64(s.Metric), 10)
	}
	if skip&fSource == 0 && s.Source.IsValid() {
		b = append(b, " src "...)
		b = s.Source.AppendTo(b)
	}
	if skip&fMTU == 0 && s.MTU != 0 {
		b = append(b, " mtu "...)
		b = strconv.AppendUint(b, uint64(s.MTU), 10)
	}
	if skip&fOnLink == 0 && s.OnLink {
		b = append(b, " onlink"...)
	}
	if skip&fNextHops == 0 {
		for i := range s.NextHops {
			b = append(b, " nexthop"...)
			b = appendHop(b, s.Destination.Addr().Is4(), &s.NextHops[i])
		}
	}
	return b
}

func appendVia(b []byte, dst4 bool, gw netip.Addr) []byte {
	b = append(b, " via "...)
	if dst4 && gw.Is6() {
		b = append(b, "inet6 "...)
	}
	return gw.AppendTo(b)
}

func appendHop(b []byte, dst4 bool, h *NextHop) []byte {
	if h.Gateway.IsValid() {
		b = appendVia(b, dst4, h.Gateway)
	}
	if h.Link != "" {
		b = append(b, " dev "...)
		b = append(b, h.Link...)
	}
	w := h.Weight
	if w == 0 {
		w = 1
	}
	b = append(b, " weight "...)
	b = strconv.AppendInt(b, int64(w), 10)
	if h.OnLink {
		b = append(b, " onlink"...)
	}
	return b
}

func appendTable(b []byte, t uint32) []byte {
	switch t {
	case TableMain:
		return append(b, "main"...)
	case TableLocal:
		return append(b, "local"...)
	case TableDefault:
		return append(b, "default"...)
	}
	return strconv.AppendUint(b, uint64(t), 10)
}

// fieldValue renders one field of s for a Plan's From/To; "" is none.
func fieldValue(s *Spec, f fields, proto Protocol) string {
	switch f {
	case fType:
		return string(s.Type)
	case fGateway:
		if !s.Gateway.IsValid() {
			return ""
		}
		return s.Gateway.String()
	case fLink:
		return s.Link
	case fSource:
		if !s.Source.IsValid() {
			return ""
		}
		return s.Source.String()
	case fScope:
		return string(s.Scope)
	case fMTU:
		if s.MTU == 0 {
			return ""
		}
		return strconv.FormatUint(uint64(s.MTU), 10)
	case fOnLink:
		return strconv.FormatBool(s.OnLink)
	case fNextHops:
		var b []byte
		for i := range s.NextHops {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHop(b, s.Destination.Addr().Is4(), &s.NextHops[i])
		}
		if len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		return string(b)
	case fProtocol:
		return proto.String()
	}
	return ""
}
