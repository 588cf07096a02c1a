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

// dadBuffer is the receive buffer of a DADWatch's subscription: it follows
// one address, and a loss only costs a re-read.
const dadBuffer = 256 << 10

// DADWatch follows the kernel's duplicate address detection of one IPv6
// address on one link (see WaitDAD). It listens from NewDADWatch on, so a
// caller that makes one before it adds the address (or before anything
// else may add it) misses nothing, not even a detection that fails at
// once and whose address the kernel removes.
type DADWatch struct {
	ns   *netprim.Namespace
	link string
	a    netip.Addr
	sub  *nl.Subscription
}

// NewDADWatch starts listening for the address notifications of ns (nil:
// the caller's namespace) that concern a on link. Wait reads them; Close
// releases the watch. It returns an error wrapping netprim.ErrInvalidSpec
// when a is not an IPv6 address.
func NewDADWatch(ns *netprim.Namespace, link string, a netip.Addr) (*DADWatch, error) {
	if !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return nil, fmt.Errorf("addr: duplicate address detection of %s: %w: not an IPv6 address without zone", a, netprim.ErrInvalidSpec)
	}
	sub, err := nl.Subscribe(ns, nl.SubscriptionConfig{
		Protocol:      unix.NETLINK_ROUTE,
		Groups:        []uint32{unix.RTNLGRP_IPV6_IFADDR, unix.RTNLGRP_LINK},
		ReceiveBuffer: dadBuffer,
		Name:          "address notifications",
	})
	if err != nil {
		return nil, err
	}
	return &DADWatch{ns: ns, link: link, a: a, sub: sub}, nil
}

// Close releases the watch. It may be called more than once, also after
// Wait.
func (w *DADWatch) Close() { w.sub.Close() }

// Wait waits until the detection has ended and reports how; the address
// need not be there yet. An address removed while tentative without the
// "dadfailed" mark (by anyone) is waited for again. Wait is called once;
// it closes the watch when it returns.
//
// Wait returns an error wrapping ctx's when ctx ends first (give it a
// deadline: nobody may ever add the address), and one wrapping
// netprim.ErrNotFound when the link does not exist, or is deleted or
// replaced (another link takes its name) meanwhile.
func (w *DADWatch) Wait(ctx context.Context) (DADResult, error) {
	ifindex, result, err := dadNow(ctx, w.ns, w.link, w.a, 0)
	if err != nil || result != 0 {
		w.sub.Close()
		return result, err
	}
	w.sub.Run(ctx, nl.Handlers{
		Handle: func(_ context.Context, p []byte) bool {
			msgs, perr := syscall.ParseNetlinkMessage(p)
			if perr != nil {
				return true
			}
			for _, m := range msgs {
				if m.Header.Type == unix.RTM_DELLINK && len(m.Data) >= unix.SizeofIfInfomsg && int(int32(nl.U32(m.Data[4:]))) == ifindex {
					err = fmt.Errorf("addr: duplicate address detection of %s: link %s: %w: deleted", w.a, w.link, netprim.ErrNotFound)
					return false
				}
				if result = dadEvent(m, ifindex, w.a); result != 0 {
					return false
				}
			}
			return true
		},
		Resync: func(ctx context.Context) bool {
			_, result, err = dadNow(ctx, w.ns, w.link, w.a, ifindex)
			return err == nil && result == 0
		},
	})
	switch {
	case result != 0:
		return result, nil
	case ctx.Err() != nil:
		return 0, fmt.Errorf("addr: duplicate address detection of %s on %s: %w", w.a, w.link, ctx.Err())
	case err != nil:
		return 0, err
	}
	return 0, fmt.Errorf("addr: duplicate address detection of %s on %s: %w", w.a, w.link, errNotificationsEnded)
}

// WaitDAD waits until the kernel's duplicate address detection of the
// IPv6 address a on link in ns (nil: the caller's namespace) has ended, and
// reports how: NewDADWatch, then Wait. It starts listening before it reads
// the link's addresses, so an address added meanwhile is not missed; to
// follow an address the caller is about to add, make the DADWatch first.
func WaitDAD(ctx context.Context, ns *netprim.Namespace, link string, a netip.Addr) (DADResult, error) {
	w, err := NewDADWatch(ns, link, a)
	if err != nil {
		return 0, err
	}
	return w.Wait(ctx)
}

var errNotificationsEnded = errors.New("address notifications ended")

// dadNow reads link's index and the state of a on it: a result once
// detection has ended, zero while it runs or the address is not there.
// With want set, a link of that name with another index is an error.
func dadNow(ctx context.Context, ns *netprim.Namespace, link string, a netip.Addr, want int) (int, DADResult, error) {
	c, err := nl.DialRoute(ns)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	links, have, err := dumpAll(ctx, c)
	if err != nil {
		return 0, 0, err
	}
	idx, ok := links.byName[link]
	if !ok || want != 0 && idx != want {
		return 0, 0, fmt.Errorf("addr: duplicate address detection of %s: link %q: %w", a, link, netprim.ErrNotFound)
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
