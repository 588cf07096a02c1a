package addr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
)

// dadBuffer is the receive buffer of WaitDAD's subscription: it follows
// one address, and a loss only costs a re-read.
const dadBuffer = 256 << 10

// WaitDAD waits until the kernel's duplicate address detection of the
// IPv6 address a on link in ns (nil: the caller's namespace) has ended, and
// reports how. The address need not be there yet: WaitDAD listens for
// address notifications before it reads the link's addresses, so an
// address added meanwhile, or one whose detection fails and which the
// kernel removes at once, is not missed. An address removed while
// tentative without the "dadfailed" mark (by anyone) is waited for again.
// The link is the one of that name when WaitDAD starts.
//
// WaitDAD returns an error wrapping ctx's when ctx ends first (give it a
// deadline: nobody may ever add the address), one wrapping
// netprim.ErrInvalidSpec when a is not an IPv6 address, and one wrapping
// netprim.ErrNotFound when link does not exist.
func WaitDAD(ctx context.Context, ns *netprim.Namespace, link string, a netip.Addr) (DADResult, error) {
	if !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return 0, fmt.Errorf("addr: duplicate address detection of %s: %w: not an IPv6 address without zone", a, netprim.ErrInvalidSpec)
	}
	sub, err := nl.Subscribe(ns, nl.SubscriptionConfig{
		Protocol:      unix.NETLINK_ROUTE,
		Groups:        []uint32{unix.RTNLGRP_IPV6_IFADDR},
		ReceiveBuffer: dadBuffer,
		Name:          "address notifications",
	})
	if err != nil {
		return 0, err
	}
	// Subscribed first: what changes after this read is queued.
	ifindex, result, err := dadNow(ctx, ns, link, a)
	if err != nil || result != 0 {
		sub.Close()
		return result, err
	}
	sub.Run(ctx, nl.Handlers{
		Handle: func(_ context.Context, p []byte) bool {
			msgs, perr := syscall.ParseNetlinkMessage(p)
			if perr != nil {
				return true
			}
			for _, m := range msgs {
				if result = dadEvent(m, ifindex, a); result != 0 {
					return false
				}
			}
			return true
		},
		Resync: func(ctx context.Context) bool {
			ifindex, result, err = dadNow(ctx, ns, link, a)
			return err == nil && result == 0
		},
	})
	switch {
	case result != 0:
		return result, nil
	case ctx.Err() != nil:
		return 0, fmt.Errorf("addr: duplicate address detection of %s on %s: %w", a, link, ctx.Err())
	case err != nil:
		return 0, err
	}
	return 0, fmt.Errorf("addr: duplicate address detection of %s on %s: %w", a, link, errNotificationsEnded)
}

var errNotificationsEnded = errors.New("address notifications ended")

// dadNow reads link's index and the state of a on it: a result once
// detection has ended, zero while it runs or the address is not there.
func dadNow(ctx context.Context, ns *netprim.Namespace, link string, a netip.Addr) (int, DADResult, error) {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	links, err := dumpLinks(ctx, c)
	if err != nil {
		return 0, 0, err
	}
	idx, ok := links.byName[link]
	if !ok {
		return 0, 0, fmt.Errorf("addr: duplicate address detection of %s: link %q: %w", a, link, netprim.ErrNotFound)
	}
	have, err := dumpAddrs(ctx, c, links)
	if err != nil {
		return 0, 0, err
	}
	for i := range have {
		if have[i].ifindex == idx && have[i].local == a {
			return idx, dadState(have[i].flags, true), nil
		}
	}
	return idx, 0, nil
}

// dadEvent is the result an address notification tells for a on the link
// ifindex, zero when it tells none.
func dadEvent(m syscall.NetlinkMessage, ifindex int, a netip.Addr) DADResult {
	typ := m.Header.Type
	if typ != unix.RTM_NEWADDR && typ != unix.RTM_DELADDR || len(m.Data) < unix.SizeofIfAddrmsg {
		return 0
	}
	k, ok := parseAddr(m.Data)
	if !ok || k.ifindex != ifindex || k.local != a {
		return 0
	}
	return dadState(k.flags, typ == unix.RTM_NEWADDR)
}

// dadState is what an address's flags say of its detection: failed
// when marked so (also in the notification of its removal), passed when
// the address is there and not tentative.
func dadState(flags uint32, present bool) DADResult {
	switch {
	case flags&unixIFA_F_DADFAILED != 0:
		return DADFailed
	case present && flags&unixIFA_F_TENTATIVE == 0:
		return DADPassed
	}
	return 0
}
