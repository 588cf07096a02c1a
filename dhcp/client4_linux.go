package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// Run runs the client until ctx ends: it obtains a lease (asking for the
// lease of Config.LeaseFile first, INIT-REBOOT), keeps it (renewing at T1
// by unicast from the leased address, rebinding at T2 by broadcast),
// starts over when it expires or the server refuses it, and reports every
// change through Config.OnEvent. Its sockets are created inside the
// client's namespace.
//
// When ctx ends, Run sends a DHCPRELEASE if Config.Release is set (and
// reports EventReleased), and returns nil, or the error sending the
// release (also in EventReleased's Err). Otherwise it returns an error
// only when it cannot start: the link does not exist, the packet socket
// needs CAP_NET_RAW, or Run is already running.
func (c *Client) Run(ctx context.Context) error {
	if err := c.start(c.cfg.Link); err != nil {
		return err
	}
	defer c.stopped()
	cn, err := openConn4(c.ns, c.cfg.Link)
	if err != nil {
		return err
	}
	defer cn.close()
	r := &run4{c: c, cfg: &c.cfg, cn: cn}
	return r.loop(ctx)
}

// run4 is one Run of a client.
type run4 struct {
	c     *Client
	cfg   *Config
	cn    *conn4
	specs Specs // of the lease held, to tell renewed from changed
	fails int   // consecutive failed acquisitions, for backoff
}

func (r *run4) loop(ctx context.Context) error {
	var prev *Lease
	if lf, err := loadLease(r.cfg.LeaseFile); err == nil && lf.Lease != nil && lf.Lease.Link == r.cfg.Link && lf.Lease.Address.IsValid() {
		prev = lf.Lease
	}
	for {
		var l *Lease
		var dropped []*OptionError
		if prev != nil {
			l, dropped = r.reboot(ctx, prev)
		}
		if l == nil {
			l, dropped = r.acquire(ctx, prev)
		}
		prev = nil
		if ctx.Err() != nil {
			return nil // nothing held
		}
		r.bound(EventBound, l, dropped)
		for {
			if !sleepUntil(ctx, l.BoundAt.Add(l.T1)) {
				return r.stop(l)
			}
			nl, dropped, err := r.extend(ctx, l, false)
			if errors.Is(err, errNoAnswer) {
				nl, dropped, err = r.extend(ctx, l, true)
			}
			if ctx.Err() != nil {
				return r.stop(l)
			}
			if errors.Is(err, errNoAnswer) {
				err = fmt.Errorf("dhcp: the lease of %s on %s ran out: no server answered the renewal or rebinding%s", l.Address.Addr(), r.cfg.Link, lastSend(err))
			}
			if err != nil {
				r.lost(err)
				break
			}
			kind := EventRenewed
			if nl.Address != l.Address || !nl.Specs(r.cfg.Specs).equal(r.specs, false) {
				kind = EventChanged
			}
			l = nl
			r.bound(kind, l, dropped)
		}
	}
}

// bound takes up l and reports it.
func (r *run4) bound(kind EventKind, l *Lease, dropped []*OptionError) {
	r.fails = 0
	r.specs = l.Specs(r.cfg.Specs)
	r.c.setLease(l)
	saveLease(r.cfg.LeaseFile, leaseFile{Lease: l})
	r.emit(Event{Kind: kind, Lease: l.Clone(), Specs: r.specs, Dropped: dropped})
}

// drop forgets the lease held (also its file) and reports ev.
func (r *run4) drop(ev Event) {
	r.specs = Specs{}
	r.c.setLease(nil)
	removeLease(r.cfg.LeaseFile)
	r.emit(ev)
}

// lost drops the lease: it expired or the server refused it.
func (r *run4) lost(err error) { r.drop(Event{Kind: EventExpired, Err: err}) }

func (r *run4) emit(ev Event) {
	ev.Link = r.cfg.Link
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(ev)
	}
}

// stop ends Run with l held: a release when configured.
func (r *run4) stop(l *Lease) error {
	if !r.cfg.Release {
		return nil
	}
	m, err := dhcpv4.New(
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease),
		dhcpv4.WithHwAddr(r.cn.ifi.HardwareAddr),
		dhcpv4.WithClientIP(l.Address.Addr().AsSlice()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(l.Server.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptClientIdentifier(r.clientID())),
	)
	if err == nil {
		send, closeFn := r.cn.sender(l.Address.Addr(), l.Server)
		err = send(m)
		closeFn()
	}
	if err != nil {
		err = fmt.Errorf("dhcp: release on %s: %w", r.cfg.Link, err)
	}
	r.drop(Event{Kind: EventReleased, Err: err})
	return err
}

func (r *run4) clientID() []byte {
	if len(r.cfg.ClientID) > 0 {
		return r.cfg.ClientID
	}
	return append([]byte{1}, r.cn.ifi.HardwareAddr...)
}

// common are the fields and options of every message but DECLINE and
// RELEASE: the parameter request list goes on every DISCOVER and REQUEST.
func (r *run4) common(t dhcpv4.MessageType) []dhcpv4.Modifier {
	prl := make([]dhcpv4.OptionCode, len(ParameterRequestList))
	for i, o := range ParameterRequestList {
		prl[i] = dhcpv4.GenericOptionCode(o)
	}
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(t),
		dhcpv4.WithHwAddr(r.cn.ifi.HardwareAddr),
		dhcpv4.WithOption(dhcpv4.OptClientIdentifier(r.clientID())),
		dhcpv4.WithOption(dhcpv4.OptParameterRequestList(prl...)),
		dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(nclient4.MaxMessageSize)),
	}
	if r.cfg.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(r.cfg.Hostname)))
	}
	return mods
}

func isType(t ...dhcpv4.MessageType) func(*dhcpv4.DHCPv4) bool {
	return func(m *dhcpv4.DHCPv4) bool {
		for _, x := range t {
			if m.MessageType() == x {
				return true
			}
		}
		return false
	}
}

// acquire runs INIT, SELECTING and REQUESTING (and the ARP probe) until a
// lease is bound or ctx ends (nil). hint, if set, is asked for in the
// DISCOVER.
func (r *run4) acquire(ctx context.Context, hint *Lease) (*Lease, []*OptionError) {
	t := r.cfg.Timing
	for ctx.Err() == nil {
		if r.fails > 0 && !sleepUntil(ctx, time.Now().Add(t.backoff(r.fails-1))) {
			return nil, nil
		}
		r.fails++
		mods := r.common(dhcpv4.MessageTypeDiscover)
		if hint != nil {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(hint.Address.Addr().AsSlice())))
		}
		disc, err := dhcpv4.New(mods...)
		if err != nil {
			continue
		}
		// SELECTING: the first usable offer.
		var offer *dhcpv4.DHCPv4
		_, err = r.cn.exchange(ctx, disc, r.cn.broadcast, func(m *dhcpv4.DHCPv4) bool {
			if m.MessageType() != dhcpv4.MessageTypeOffer {
				return false
			}
			if _, _, err := ParseAck(r.cfg.Link, m, time.Now()); err != nil {
				r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("offer from %s: %w", m.ServerIdentifier(), err)})
				return false
			}
			offer = m
			return true
		}, func(i int) time.Duration { return t.backoff(i) })
		if err != nil {
			continue // ctx ended
		}
		// REQUESTING.
		req, err := dhcpv4.New(append(r.common(dhcpv4.MessageTypeRequest),
			dhcpv4.WithTransactionID(disc.TransactionID),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())),
		)...)
		if err != nil {
			continue
		}
		sid := offer.ServerIdentifier()
		sent := time.Now()
		ack, err := r.cn.exchange(ctx, req, r.cn.broadcast, func(m *dhcpv4.DHCPv4) bool {
			return isType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)(m) && m.ServerIdentifier().Equal(sid)
		}, t.tries(t.RequestTries))
		if err != nil || ack.MessageType() == dhcpv4.MessageTypeNak {
			continue
		}
		l, dropped, err := ParseAck(r.cfg.Link, ack, sent)
		if err != nil {
			r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("ack from %s: %w", sid, err)})
			continue
		}
		if r.cfg.ProbeWait > 0 {
			inUse, mac, err := r.cn.arpProbe(ctx, l.Address.Addr(), r.cfg.ProbeWait)
			if ctx.Err() != nil {
				return nil, nil
			}
			if err == nil && inUse {
				r.decline(l)
				r.emit(Event{Kind: EventDeclined, Err: fmt.Errorf("dhcp: %s is in use by %s: declined", l.Address.Addr(), mac)})
				// RFC 2131 3.1.5: wait at least 10 s (2.5 × Initial).
				if !sleepUntil(ctx, time.Now().Add(t.Initial*5/2)) {
					return nil, nil
				}
				r.fails = 0
				continue
			}
		}
		return l, dropped
	}
	return nil, nil
}

// decline sends a DHCPDECLINE for l.
func (r *run4) decline(l *Lease) {
	m, err := dhcpv4.New(
		dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithHwAddr(r.cn.ifi.HardwareAddr),
		dhcpv4.WithOption(dhcpv4.OptClientIdentifier(r.clientID())),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(l.Address.Addr().AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(l.Server.AsSlice())),
	)
	if err == nil {
		r.cn.broadcast(m)
	}
}

// reboot runs INIT-REBOOT: a broadcast REQUEST for the previous address.
// No answer at all means using the previous lease for what is left of it
// (RFC 2131 3.2). Starting over (nil) follows a NAK, an ACK the client
// cannot use, or no answer when the previous lease has run out: each time
// the previous lease is reported expired first, so that a caller's source
// still holding it clears.
func (r *run4) reboot(ctx context.Context, prev *Lease) (*Lease, []*OptionError) {
	t := r.cfg.Timing
	req, err := dhcpv4.New(append(r.common(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(prev.Address.Addr().AsSlice())),
	)...)
	if err != nil {
		return nil, nil
	}
	sent := time.Now()
	ack, err := r.cn.exchange(ctx, req, r.cn.broadcast, isType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak), t.tries(t.RequestTries))
	if errors.Is(err, errNoAnswer) {
		if now := time.Now(); prev.Expiry().IsZero() || now.Before(prev.Expiry()) {
			return resumed(prev, now), nil
		}
		r.lost(fmt.Errorf("dhcp: the lease of %s kept in %s ran out at %s", prev.Address.Addr(), r.cfg.LeaseFile, prev.Expiry().Format(time.RFC3339)))
		return nil, nil
	}
	if err != nil {
		return nil, nil
	}
	if ack.MessageType() == dhcpv4.MessageTypeNak {
		// The previous address must not be used any more (RFC 2131 3.2):
		// what a previous run applied of it goes.
		r.lost(nakError(ack, prev))
		return nil, nil
	}
	l, dropped, err := ParseAck(r.cfg.Link, ack, sent)
	if err != nil {
		err = fmt.Errorf("ack from %s: %w", ack.ServerIdentifier(), err)
		r.emit(Event{Kind: EventRefused, Err: err})
		r.lost(fmt.Errorf("dhcp: the lease of %s kept in %s: %w", prev.Address.Addr(), r.cfg.LeaseFile, err))
		return nil, nil
	}
	return l, dropped
}

// extend runs RENEWING (unicast to the server until T2) or, with
// rebinding, REBINDING (broadcast until the lease expires). It returns the
// extended lease, errNoAnswer when the time ran out, or an error for a
// NAK.
func (r *run4) extend(ctx context.Context, l *Lease, rebinding bool) (*Lease, []*OptionError, error) {
	deadline := l.BoundAt.Add(l.T2)
	if rebinding {
		deadline = l.Expiry()
	}
	req, err := dhcpv4.New(append(r.common(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(l.Address.Addr().AsSlice()),
	)...)
	if err != nil {
		return nil, nil, err
	}
	// From the leased address, with it as ciaddr (RFC 2131 4.3.2):
	// unicast to the server, or broadcast when rebinding.
	dst := l.Server
	if rebinding {
		dst = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	send, closeFn := r.cn.sender(l.Address.Addr(), dst)
	defer closeFn()
	var lease *Lease
	var dropped []*OptionError
	sent := time.Now()
	ack, err := r.cn.exchange(ctx, req, send, func(m *dhcpv4.DHCPv4) bool {
		switch m.MessageType() {
		case dhcpv4.MessageTypeNak:
			return true
		case dhcpv4.MessageTypeAck:
			nl, d, err := ParseAck(r.cfg.Link, m, sent)
			if err != nil {
				// Keep the lease held; wait for a usable answer.
				r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("ack from %s: %w", m.ServerIdentifier(), err)})
				return false
			}
			lease, dropped = nl, d
			return true
		}
		return false
	}, r.cfg.Timing.until(deadline))
	if err != nil {
		return nil, nil, err
	}
	if ack.MessageType() == dhcpv4.MessageTypeNak {
		return nil, nil, nakError(ack, l)
	}
	return lease, dropped, nil
}

// nakError says that the server of nak refused l.
func nakError(nak *dhcpv4.DHCPv4, l *Lease) error {
	msg := nak.Message()
	if msg == "" {
		msg = "no message"
	}
	return fmt.Errorf("dhcp: %s refused the lease of %s (DHCPNAK: %s)", nak.ServerIdentifier(), l.Address.Addr(), msg)
}

// resumed is prev taken up again at now, after a restart, for what is left
// of it: bound at now, its lease time, T1 and T2 counted from now (T1 and
// T2 zero once passed), so that its expiry stays and the address's
// lifetimes are what is left.
func resumed(prev *Lease, now time.Time) *Lease {
	l := prev.Clone()
	resume(&l.BoundAt, now, &l.LeaseTime, &l.T1, &l.T2)
	return l
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
