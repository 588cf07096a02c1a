package wireguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/netprim/netprim"
)

// resolveEndpoints turns every peer endpoint into addresses: literal
// addresses directly, host names through the resolver of the caller's
// namespace. eps holds the address to configure (IPv4 preferred, as
// wg(8) does), all every address the name resolved to, so that a peer
// already at one of them is left alone whatever order the answers come
// in. Errors name the peer.
func resolveEndpoints(ctx context.Context, s Spec) (eps map[Key]netip.AddrPort, all map[Key][]netip.AddrPort, err error) {
	eps = make(map[Key]netip.AddrPort)
	all = make(map[Key][]netip.AddrPort)
	var errs []error
	for i, p := range s.Peers {
		if p.Endpoint == "" {
			continue
		}
		aps, err := lookupEndpoint(ctx, p.Endpoint)
		if err != nil {
			errs = append(errs, fmt.Errorf("wireguard: %s: peers[%d].endpoint (peer %s): %w", s.Name, i, p.PublicKey, err))
			continue
		}
		eps[p.PublicKey] = aps[0]
		all[p.PublicKey] = aps
	}
	return eps, all, errors.Join(errs...)
}

// ResolveEndpoint turns "address:port" or "host:port" into an address and
// port. A host name is looked up with the default resolver; an IPv4
// address is preferred when the name has both.
func ResolveEndpoint(ctx context.Context, ep string) (netip.AddrPort, error) {
	aps, err := lookupEndpoint(ctx, ep)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return aps[0], nil
}

// lookupEndpoint returns every address of ep, the preferred one first.
func lookupEndpoint(ctx context.Context, ep string) ([]netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(ep); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}, nil
	}
	if err := validEndpoint(ep); err != nil {
		return nil, fmt.Errorf("%w: %v", netprim.ErrInvalidSpec, err)
	}
	host, portStr, _ := net.SplitHostPort(ep)
	port, _ := strconv.Atoi(portStr)
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: %w: no addresses", host, netprim.ErrNotFound)
	}
	return preferredFirst(addrs, uint16(port)), nil
}

// preferredFirst returns addrs with port, unmapped, de-duplicated, the
// first IPv4 address (else the first address) in front. Pure.
func preferredFirst(addrs []netip.Addr, port uint16) []netip.AddrPort {
	best := 0
	for i, a := range addrs {
		if a.Unmap().Is4() {
			best = i
			break
		}
	}
	out := []netip.AddrPort{netip.AddrPortFrom(addrs[best].Unmap(), port)}
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a.Unmap(), port)
		if !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	return out
}
