package wireguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/netprim/netprim"
)

// resolveEndpoints turns every peer endpoint into an address: literal
// addresses directly, host names through the resolver of the caller's
// namespace (IPv4 preferred, as wg(8) does). Errors name the peer.
func resolveEndpoints(ctx context.Context, s Spec) (map[Key]netip.AddrPort, error) {
	eps := make(map[Key]netip.AddrPort)
	var errs []error
	for i, p := range s.Peers {
		if p.Endpoint == "" {
			continue
		}
		ap, err := ResolveEndpoint(ctx, p.Endpoint)
		if err != nil {
			errs = append(errs, fmt.Errorf("wireguard: %s: peers[%d].endpoint (peer %s): %w", s.Name, i, p.PublicKey, err))
			continue
		}
		eps[p.PublicKey] = ap
	}
	return eps, errors.Join(errs...)
}

// ResolveEndpoint turns "address:port" or "host:port" into an address and
// port. A host name is looked up with the default resolver; an IPv4
// address is preferred when the name has both.
func ResolveEndpoint(ctx context.Context, ep string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(ep); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	if err := validEndpoint(ep); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %v", netprim.ErrInvalidSpec, err)
	}
	host, portStr, _ := net.SplitHostPort(ep)
	port, _ := strconv.Atoi(portStr)
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolve %s: %w: no addresses", host, netprim.ErrNotFound)
	}
	best := addrs[0].Unmap()
	for _, a := range addrs {
		if a.Unmap().Is4() {
			best = a.Unmap()
			break
		}
	}
	return netip.AddrPortFrom(best, uint16(port)), nil
}
