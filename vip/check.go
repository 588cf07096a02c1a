package vip

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/link"
)

// check compares the configuration with the kernel: the link exists, the
// address lies inside a subnet of another address of the link, and no
// other owner has the address on this node.
func (c *Controller) check(ctx context.Context) error {
	links, err := link.List(ctx, c.ns, link.WithoutEthtool())
	if err != nil {
		return fmt.Errorf("vip %s: %w", c.cfg.Address, err)
	}
	found := false
	for _, l := range links {
		if l.Name == c.cfg.Link {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("vip: link: %s does not exist in netns %s: %w", c.cfg.Link, c.ns, netprim.ErrNotFound)
	}
	addrs, err := addr.List(ctx, c.ns)
	if err != nil {
		return fmt.Errorf("vip %s: %w", c.cfg.Address, err)
	}
	return checkAddrs(c.cfg, addrs)
}

// checkAddrs is check's pure part.
func checkAddrs(cfg Config, addrs []addr.Status) error {
	vip := cfg.Address
	var subnets []string
	inside := false
	for _, a := range addrs {
		if a.Address.Addr() == vip {
			if a.Protocol != cfg.Owner.ID {
				return fieldError("address", "%s is already an address of this node (on %s): a shared IP must not be a node's own address", vip, a.Link)
			}
			continue
		}
		if a.Link != cfg.Link || a.Address.Addr().Is4() != vip.Is4() || a.Address.Addr().IsLinkLocalUnicast() {
			continue
		}
		p := a.Address.Masked()
		subnets = append(subnets, p.String())
		if p.Bits() < vip.BitLen() && p.Contains(vip) {
			inside = true
		}
	}
	if !inside {
		have := "it has no such address"
		if len(subnets) > 0 {
			have = "its subnets: " + strings.Join(subnets, ", ")
		}
		return fieldError("address", "%s lies outside every subnet of link %s (%s)", vip, cfg.Link, have)
	}
	return nil
}

// matches reports whether an address event names the shared IP.
func matches(object string, p netip.Prefix, link string) bool {
	return object == p.String()+" dev "+link
}
