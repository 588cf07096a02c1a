//go:build !linux

package vip

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netprim/netprim"
)

// Announcer sends gratuitous ARP and unsolicited neighbour advertisements
// on Linux; elsewhere NewAnnouncer returns netprim.ErrUnsupported.
type Announcer struct{}

// NewAnnouncer needs Linux packet sockets; elsewhere it returns an error
// wrapping netprim.ErrUnsupported.
func NewAnnouncer(ns *netprim.Namespace, link string) (*Announcer, error) {
	return nil, errNoAnnouncer
}

var errNoAnnouncer = fmt.Errorf("vip: announcer: %w: needs Linux packet sockets", netprim.ErrUnsupported)

// Announce returns netprim.ErrUnsupported.
func (a *Announcer) Announce(ctx context.Context, ip netip.Addr) error { return errNoAnnouncer }

// Run reports one failed round, wrapping netprim.ErrUnsupported, and
// returns.
func (a *Announcer) Run(ctx context.Context, ip netip.Addr, o AnnounceOptions, report func(round int, at time.Time, err error)) {
	if report != nil {
		report(1, time.Time{}, errNoAnnouncer)
	}
}

// Close does nothing.
func (a *Announcer) Close() error { return nil }
