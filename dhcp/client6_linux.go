package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
)

// conn6 is a UDP socket on the link's link-local address, port 546,
// created inside the link's namespace. It moves to a new link-local
// address when the link gets one (see follow).
type conn6 struct {
	ns    *netprim.Namespace
	ifi   net.Interface
	pc    net.PacketConn
	bound netip.Addr // pc's address
	in    chan *dhcpv6.Message
	done  chan struct{} // closed when pc's reader returns
}

// openConn6 waits (until ctx ends) for the link's link-local address to be
// usable (duplicate address detection done) and binds to it.
func openConn6(ctx context.Context, ns *netprim.Namespace, link string) (*conn6, error) {
	if _, err := interfaceIn(ns, link); err != nil {
		return nil, err
	}
	c := &conn6{ns: ns, in: make(chan *dhcpv6.Message, 16)}
	wait := 50 * time.Millisecond
	for {
		ifi, ll, err := linkLocal(ns, link)
		var pc net.PacketConn
		if err == nil {
			pc, err = listen6(ns, ifi.Index, ll)
		}
		if err == nil {
			c.use(pc, ifi, ll)
			return c, nil
		}
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, sockErr("UDP socket on "+link, ns, err)
		}
		// No link-local address yet, or still tentative: wait.
		if !sleepUntil(ctx, time.Now().Add(wait)) {
			return nil, fmt.Errorf("dhcp: %s in %s: no usable IPv6 link-local address: %w", link, ns, err)
		}
		wait = min(wait*2, time.Second)
	}
}

// linkLocal looks up the link and its first IPv6 link-local address inside
// ns.
func linkLocal(ns *netprim.Namespace, link string) (net.Interface, netip.Addr, error) {
	var ifi net.Interface
	var ll netip.Addr
	err := ns.Do(func() error {
		i, err := net.InterfaceByName(link)
		if err != nil {
			return err
		}
		ifi = *i
		as, err := i.Addrs()
		if err != nil {
			return err
		}
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Is6() && !ip.Is4In6() && ip.IsLinkLocalUnicast() {
					ll = ip
					return nil
				}
			}
		}
		return fmt.Errorf("%s has no IPv6 link-local address", link)
	})
	return ifi, ll, err
}

// listen6 binds a UDP socket to ll on the link with index ifindex, port
// 546, inside ns; it fails while the address is tentative. The link is
// named by its index: a link name means nothing outside its namespace, and
// the net package would look it up in a process-wide cache that may hold
// another namespace's link of that name (eth0 in every container).
func listen6(ns *netprim.Namespace, ifindex int, ll netip.Addr) (net.PacketConn, error) {
	var pc net.PacketConn
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), "dhcpv6")
		defer f.Close() // FilePacketConn has its own copy
		if err := unix.Bind(fd, &unix.SockaddrInet6{Port: dhcpv6.DefaultClientPort, ZoneId: uint32(ifindex), Addr: ll.As16()}); err != nil {
			return err
		}
		pc, err = net.FilePacketConn(f)
		return err
	})
	return pc, err
}

// use makes pc, bound to ll on ifi, the socket and starts its reader.
func (c *conn6) use(pc net.PacketConn, ifi net.Interface, ll netip.Addr) {
	c.pc, c.ifi, c.bound, c.done = pc, ifi, ll, make(chan struct{})
	go c.read(pc, c.done)
}

// follow moves the socket to the link's link-local address when it is not
// the one the socket is bound to any more (a new MAC address, the link
// down and up, the link deleted and created again): a socket on an
// address or a link that is gone neither sends nor receives again. While
// the new address is not usable yet the old socket stays, and the next
// transmission tries again.
func (c *conn6) follow() {
	ifi, ll, err := linkLocal(c.ns, c.ifi.Name)
	if err != nil || (ifi.Index == c.ifi.Index && ll == c.bound) {
		return
	}
	pc, err := listen6(c.ns, ifi.Index, ll)
	if err != nil {
		return
	}
	c.close()
	c.use(pc, ifi, ll)
}

func (c *conn6) read(pc net.PacketConn, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 4096)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		m, err := dhcpv6.MessageFromBytes(buf[:n])
		if err != nil {
			continue
		}
		select {
		case c.in <- m:
		default:
		}
	}
}

func (c *conn6) close() {
	c.pc.Close()
	<-c.done
}

// send multicasts m to All_DHCP_Relay_Agents_and_Servers on the link: the
// socket's link, as it is bound to a link-local address on it (no zone,
// see listen6).
func (c *conn6) send(m *dhcpv6.Message) error {
	_, err := c.pc.WriteTo(m.ToBytes(), &net.UDPAddr{IP: nclient6.AllDHCPRelayAgentsAndServers.IP, Port: dhcpv6.DefaultServerPort})
	return err
}

// exchange is conn4.exchange for DHCPv6 (a failed transmission is a lost
// one): it also updates the Elapsed Time option on each retransmission.
func (c *conn6) exchange(ctx context.Context, m *dhcpv6.Message, match func(*dhcpv6.Message) bool, next func(int) time.Duration) (*dhcpv6.Message, error) {
	return retransmit(ctx, c.in, next, func(elapsed time.Duration) error {
		m.UpdateOption(dhcpv6.OptElapsedTime(elapsed))
		c.follow()
		if err := c.send(m); err != nil {
			return fmt.Errorf("dhcp: send %s: %w", m.MessageType, err)
		}
		return nil
	}, func(r *dhcpv6.Message) bool { return r.TransactionID == m.TransactionID && match(r) })
}

// Run runs the client until ctx ends: it solicits a lease (rapid commit
// unless turned off), renews it at T1 with its server, rebinds at T2 with
// any server, starts over when it expires or a server refuses it, and
// reports every change through Config6.OnEvent. Its socket is created
// inside the client's namespace, on the link's link-local address, which
// Run waits for.
//
// When ctx ends, Run sends a Release if Config6.Release is set (and
// reports EventReleased), and returns nil, or the error sending the
// release (also in EventReleased's Err). Otherwise it returns an error
// only when it cannot start.
func (c *Client6) Run(ctx context.Context) error {
	if err := c.start(c.cfg.Link); err != nil {
		return err
	}
	defer c.stopped()
	cn, err := openConn6(ctx, c.ns, c.cfg.Link)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer cn.close()
	mac := cn.ifi.HardwareAddr
	if len(mac) < 4 {
		mac = append(net.HardwareAddr{0, 0, 0, 0}, mac...)
	}
	r := &run6{c: c, cfg: &c.cfg, cn: cn, duid: &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: cn.ifi.HardwareAddr}}
	if len(c.cfg.DUID) > 0 {
		if r.duid, err = parseDUID(c.cfg.DUID); err != nil {
			return fmt.Errorf("dhcp: duid: %w", err) // Validate checked it
		}
	}
	copy(r.iaid[:], mac[len(mac)-4:])
	return r.loop(ctx)
}

type run6 struct {
	c     *Client6
	cfg   *Config6
	cn    *conn6
	duid  dhcpv6.DUID
	iaid  [4]byte
	specs Specs
	fails int
}

func (r *run6) emit(ev Event) {
	ev.Link = r.cfg.Link
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(ev)
	}
}

func (r *run6) loop(ctx context.Context) error {
	var prev *Lease6
	if lf, err := loadLease(r.cfg.LeaseFile); err == nil && lf.Lease6 != nil && lf.Lease6.Link == r.cfg.Link && lf.Lease6.Address.IsValid() {
		prev = lf.Lease6
	}
	for {
		var l *Lease6
		var dropped []*OptionError
		if prev != nil {
			l, dropped = r.rebindKept(ctx, prev)
			prev = nil
		}
		if l == nil {
			l, dropped = r.acquire(ctx)
		}
		if ctx.Err() != nil {
			return nil // nothing taken up: a kept lease stays in its file
		}
		if stopped, err := r.hold(ctx, l, dropped); stopped {
			return err
		}
	}
}

// hold takes l up (EventBound) and keeps it: it renews it at T1 and
// rebinds at T2, while the kernel's duplicate address detection of each
// newly bound address is watched alongside (the watch listens before the
// address is reported, and a failure cuts a renewal short). It returns when
// the lease is gone (expired, withdrawn or declined: the client starts
// over) or, with stopped, when ctx ended (err is stop's).
func (r *run6) hold(ctx context.Context, l *Lease6, dropped []*OptionError) (stopped bool, err error) {
	dad := r.watchDAD(ctx, l.Address)
	defer func() { dad.stop() }()
	r.bound(EventBound, l, dropped)
	for {
		sleepUntil(dad.ctx, l.BoundAt.Add(l.T1))
		if dad.failed() {
			r.decline(ctx, l)
			return false, nil
		}
		if ctx.Err() != nil {
			return true, r.stop(l)
		}
		nl, dropped, err := r.extend(dad.ctx, l, false)
		if errors.Is(err, errNoAnswer) {
			nl, dropped, err = r.extend(dad.ctx, l, true)
		}
		if dad.failed() {
			r.decline(ctx, l)
			return false, nil
		}
		if ctx.Err() != nil {
			return true, r.stop(l)
		}
		if errors.Is(err, errNoAnswer) {
			err = fmt.Errorf("dhcp: the lease of %s on %s ran out: no server answered the renewal or rebinding%s", l.Address, r.cfg.Link, lastSend(err))
		}
		if err != nil {
			r.lost(err)
			return false, nil
		}
		kind := EventRenewed
		if nl.Address != l.Address || !nl.Specs(r.cfg.Specs).equal(r.specs, false) {
			kind = EventChanged
		}
		if nl.Address != l.Address {
			dad.stop()
			dad = r.watchDAD(ctx, nl.Address)
		}
		l = nl
		r.bound(kind, l, dropped)
	}
}

func (r *run6) bound(kind EventKind, l *Lease6, dropped []*OptionError) {
	r.fails = 0
	r.specs = l.Specs(r.cfg.Specs)
	r.c.setLease(l)
	saveLease(r.cfg.LeaseFile, leaseFile{Lease6: l})
	r.emit(Event{Kind: kind, Lease6: l.Clone(), Specs: r.specs, Dropped: dropped})
}

// drop forgets the lease held (also its file) and reports ev.
func (r *run6) drop(ev Event) {
	r.specs = Specs{}
	r.c.setLease(nil)
	removeLease(r.cfg.LeaseFile)
	r.emit(ev)
}

// lost drops the lease: it ran out, or a server ended it.
func (r *run6) lost(err error) { r.drop(Event{Kind: EventExpired, Err: err}) }

// rebindKept takes up prev, the lease of Config6.LeaseFile that an earlier
// run kept: a Rebind with its address asks any server to extend it (RFC
// 8415 18.2.12), for as long as RequestTries transmissions take and no
// longer than the lease. It returns the extended lease; prev for what is
// left of it when no server answered (a server may answer the renewals
// that follow); nil when ctx ended, or when the lease has run out or a
// server ended it or had no binding for it and refused a new one (the
// lease is reported expired, so that a caller's source holding it
// clears, and the client solicits).
func (r *run6) rebindKept(ctx context.Context, prev *Lease6) (*Lease6, []*OptionError) {
	now := time.Now()
	ranOut := func() {
		r.lost(fmt.Errorf("dhcp: the lease of %s kept in %s ran out at %s", prev.Address, r.cfg.LeaseFile, prev.Expiry().Format(time.RFC3339)))
	}
	end := prev.Expiry()
	if !end.IsZero() && !now.Before(end) {
		ranOut()
		return nil, nil
	}
	t := r.cfg.Timing
	var window time.Duration
	for i := range t.RequestTries {
		window += t.nominal(i) * 11 / 10 // with the most randomization
	}
	deadline := now.Add(window)
	if !end.IsZero() && end.Before(deadline) {
		deadline = end
	}
	tries := t.tries6(t.RequestTries)
	l, dropped, err := r.extendWith(ctx, prev, dhcpv6.MessageTypeRebind, deadline, func(i int) time.Duration {
		return min(tries(i), time.Until(deadline))
	})
	switch {
	case err == nil:
		return l, dropped
	case ctx.Err() != nil:
		return nil, nil
	case errors.Is(err, errNoAnswer) && !errors.Is(err, errNoBinding):
		if now := time.Now(); end.IsZero() || now.Before(end) {
			return resumed6(prev, now), nil
		}
		ranOut()
		return nil, nil
	}
	r.lost(fmt.Errorf("dhcp: the lease of %s kept in %s: %w", prev.Address, r.cfg.LeaseFile, err))
	return nil, nil
}

// resumed6 is prev taken up again at now for what is left of it, as
// resumed is for a DHCPv4 lease.
func resumed6(prev *Lease6, now time.Time) *Lease6 {
	l := prev.Clone()
	resume(&l.BoundAt, now, &l.ValidLifetime, &l.PreferredLifetime, &l.T1, &l.T2)
	return l
}

// decline drops l, whose address another host of the link has: the
// lease goes (EventDeclined, empty specs: the address goes), and a
// Decline goes to the server (RFC 8415 18.2.8, retransmitted up to
// DEC_MAX_RC times).
func (r *run6) decline(ctx context.Context, l *Lease6) {
	r.drop(Event{Kind: EventDeclined, Err: fmt.Errorf("dhcp: %s on %s is in use by another host (duplicate address detection failed): declined", l.Address, r.cfg.Link)})
	m, err := r.base(dhcpv6.MessageTypeDecline)
	if err != nil {
		return
	}
	m.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionServerID, OptionData: l.ServerID})
	m.AddOption(r.ia(l))
	r.cn.exchange(ctx, m, func(rep *dhcpv6.Message) bool {
		return rep.MessageType == dhcpv6.MessageTypeReply
	}, r.cfg.Timing.tries6(declineTries))
}

// declineTries is DEC_MAX_RC (RFC 8415 7.6): transmissions of a Decline.
const declineTries = 4

// errDADFailed ends a dadWatch's context when another host has the
// address.
var errDADFailed = errors.New("duplicate address detection failed")

// dadWatch follows the kernel's duplicate address detection of one
// address on the client's link, on a goroutine of its own, for up to
// Config6.DADWait (addr.DADWatch). Its ctx ends with the lease's, with
// stop, or with errDADFailed as its cause.
type dadWatch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// watchDAD starts listening for a's detection at once and waits for it on
// a goroutine (no watch when Config6.DADWait is negative or the
// subscription fails).
func (r *run6) watchDAD(ctx context.Context, a netip.Addr) *dadWatch {
	w := &dadWatch{done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	var dw *addr.DADWatch
	if r.cfg.DADWait >= 0 {
		dw, _ = addr.NewDADWatch(r.c.ns, r.cfg.Link, a)
	}
	if dw == nil {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		tctx, cancel := context.WithTimeout(w.ctx, r.cfg.DADWait)
		defer cancel()
		if res, err := dw.Wait(tctx); err == nil && res == addr.DADFailed {
			w.cancel(errDADFailed)
		}
	}()
	return w
}

// failed reports whether the detection found the address in use.
func (w *dadWatch) failed() bool { return errors.Is(context.Cause(w.ctx), errDADFailed) }

// stop ends the watch and waits for its goroutine.
func (w *dadWatch) stop() {
	w.cancel(context.Canceled)
	<-w.done
}

// base is a client message of type t with the client ID, the elapsed
// time and the option request list (DNS servers, domain list).
func (r *run6) base(t dhcpv6.MessageType) (*dhcpv6.Message, error) {
	m, err := dhcpv6.NewMessage()
	if err != nil {
		return nil, err
	}
	m.MessageType = t
	m.AddOption(dhcpv6.OptClientID(r.duid))
	m.AddOption(dhcpv6.OptElapsedTime(0))
	m.AddOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList))
	return m, nil
}

// ia is the IA_NA of the client, with addr (lifetimes 0: the client
// has no preference) when set.
func (r *run6) ia(l *Lease6) *dhcpv6.OptIANA {
	ia := &dhcpv6.OptIANA{IaId: r.iaid}
	if l != nil {
		ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: l.Address.AsSlice()})
	}
	return ia
}

// acquire solicits until a lease is bound (by a rapid-commit Reply, or an
// Advertise and the Reply to a Request) or ctx ends (nil).
func (r *run6) acquire(ctx context.Context) (*Lease6, []*OptionError) {
	t := r.cfg.Timing
	for ctx.Err() == nil {
		if r.fails > 0 && !sleepUntil(ctx, time.Now().Add(t.backoff6(r.fails-1, false))) {
			return nil, nil
		}
		r.fails++
		sol, err := r.base(dhcpv6.MessageTypeSolicit)
		if err != nil {
			continue
		}
		sol.AddOption(r.ia(nil))
		if !r.cfg.NoRapidCommit {
			dhcpv6.WithRapidCommit(sol)
		}
		var lease *Lease6
		var dropped []*OptionError
		// RFC 8415 18.2.1: Advertises are collected until the first
		// retransmission time has passed, and the one of the highest
		// preference wins; one of preference 255 wins at once, and so
		// does the first usable one after that time.
		var best *dhcpv6.Message
		collecting := true
		// The exchange's outcome is in lease or best.
		r.cn.exchange(ctx, sol, func(m *dhcpv6.Message) bool {
			switch m.MessageType {
			case dhcpv6.MessageTypeAdvertise:
				_, _, err := ParseReply6(r.cfg.Link, m, r.iaid, time.Now())
				if err != nil {
					r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("advertise: %w", err)})
					return false
				}
				if best == nil || m.Options.Preference() > best.Options.Preference() {
					best = m
				}
				return !collecting || m.Options.Preference() == 255
			case dhcpv6.MessageTypeReply:
				if r.cfg.NoRapidCommit || m.GetOneOption(dhcpv6.OptionRapidCommit) == nil {
					return false
				}
				l, d, err := ParseReply6(r.cfg.Link, m, r.iaid, time.Now())
				if err != nil {
					r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("reply: %w", err)})
					return false
				}
				l.RapidCommit = true
				lease, dropped = l, d
				return true
			}
			return false
		}, func(i int) time.Duration {
			if i > 0 {
				// The first retransmission time is over.
				collecting = false
				if best != nil {
					return 0
				}
			}
			return t.backoff6(i, true)
		})
		if lease != nil {
			return lease, dropped
		}
		if best == nil || ctx.Err() != nil {
			continue
		}
		resp := best
		req, err := r.base(dhcpv6.MessageTypeRequest)
		if err != nil {
			continue
		}
		req.AddOption(resp.GetOneOption(dhcpv6.OptionServerID))
		if ia := resp.Options.OneIANA(); ia != nil {
			for _, x := range resp.Options.IANA() {
				if x.IaId == r.iaid {
					ia = x
				}
			}
			req.AddOption(ia)
		}
		sid := resp.Options.ServerID()
		rep, err := r.cn.exchange(ctx, req, func(m *dhcpv6.Message) bool {
			return m.MessageType == dhcpv6.MessageTypeReply && m.Options.ServerID() != nil && m.Options.ServerID().Equal(sid)
		}, t.tries6(t.RequestTries))
		if err != nil {
			continue
		}
		l, d, err := ParseReply6(r.cfg.Link, rep, r.iaid, time.Now())
		if err != nil {
			r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("reply: %w", err)})
			continue
		}
		return l, d
	}
	return nil, nil
}

// extend sends Renew (to the lease's server, until T2) or Rebind (to any
// server, until the valid lifetime ends) and handles the Reply as RFC 8415
// section 18.2.10.1 says: a usable lease is returned; a Reply that gives
// the address a valid lifetime of 0 ends the lease (an error); NoBinding
// for the IA_NA is followed by a Request for it, with the address; any
// other Reply that cannot be used (UnspecFail, no IA_NA, malformed) is
// reported as EventRefused and the lease is kept: the client retransmits.
// It returns errNoAnswer when the time ran out.
func (r *run6) extend(ctx context.Context, l *Lease6, rebind bool) (*Lease6, []*OptionError, error) {
	deadline := l.BoundAt.Add(l.T2)
	typ := dhcpv6.MessageTypeRenew
	if rebind {
		deadline, typ = l.Expiry(), dhcpv6.MessageTypeRebind
	}
	return r.extendWith(ctx, l, typ, deadline, r.cfg.Timing.until(deadline))
}

// errNoBinding says that a server had no binding for the lease and did not
// make one when asked with a Request.
var errNoBinding = errors.New("a server had no binding for the lease and refused a Request for it")

// extendWith is extend with a Renew or Rebind (typ) retransmitted after
// each wait next returns, and Requests after NoBinding until deadline. When
// next says stop after a NoBinding, the error is errNoAnswer joined with
// errNoBinding.
func (r *run6) extendWith(ctx context.Context, l *Lease6, typ dhcpv6.MessageType, deadline time.Time, next func(int) time.Duration) (*Lease6, []*OptionError, error) {
	rebind := typ == dhcpv6.MessageTypeRebind
	sawNoBinding := false
	for {
		m, err := r.base(typ)
		if err != nil {
			return nil, nil, err
		}
		if !rebind {
			m.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionServerID, OptionData: l.ServerID})
		}
		m.AddOption(r.ia(l))
		var lease *Lease6
		var dropped []*OptionError
		var withdrawn error
		var noBinding dhcpv6.DUID
		_, err = r.cn.exchange(ctx, m, func(rep *dhcpv6.Message) bool {
			if rep.MessageType != dhcpv6.MessageTypeReply {
				return false
			}
			nl, d, err := ParseReply6(r.cfg.Link, rep, r.iaid, time.Now())
			switch {
			case err == nil:
				lease, dropped = nl, d
				return true
			case withdrawn6(rep, r.iaid, l.Address):
				withdrawn = err
				return true
			case rep.Options.ServerID() != nil && iaStatus6(rep, r.iaid) == iana.StatusNoBinding:
				noBinding = rep.Options.ServerID()
				return true
			}
			r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("reply to %s: %w", typ, err)})
			return false
		}, next)
		if err != nil {
			if sawNoBinding && errors.Is(err, errNoAnswer) {
				err = errors.Join(err, errNoBinding)
			}
			return nil, nil, err
		}
		if lease != nil {
			return lease, dropped, nil
		}
		if withdrawn != nil {
			return nil, nil, fmt.Errorf("dhcp: the server withdrew the lease of %s: %w", l.Address, withdrawn)
		}
		sawNoBinding = true
		if nl, d := r.request(ctx, l, noBinding, deadline); nl != nil {
			return nl, d, nil
		}
		// Wait as for a retransmission before asking again.
		if !sleepUntil(ctx, time.Now().Add(next(0))) {
			return nil, nil, ctx.Err()
		}
	}
}

// request asks server sid for the IA_NA with l's address (after NoBinding),
// until deadline at the latest; nil when no usable Reply came.
func (r *run6) request(ctx context.Context, l *Lease6, sid dhcpv6.DUID, deadline time.Time) (*Lease6, []*OptionError) {
	req, err := r.base(dhcpv6.MessageTypeRequest)
	if err != nil {
		return nil, nil
	}
	req.AddOption(dhcpv6.OptServerID(sid))
	req.AddOption(r.ia(l))
	t := r.cfg.Timing
	tries := t.tries6(t.RequestTries)
	rep, err := r.cn.exchange(ctx, req, func(m *dhcpv6.Message) bool {
		return m.MessageType == dhcpv6.MessageTypeReply && m.Options.ServerID() != nil && m.Options.ServerID().Equal(sid)
	}, func(i int) time.Duration {
		return min(tries(i), time.Until(deadline))
	})
	if err != nil {
		return nil, nil
	}
	nl, d, err := ParseReply6(r.cfg.Link, rep, r.iaid, time.Now())
	if err != nil {
		r.emit(Event{Kind: EventRefused, Err: fmt.Errorf("reply to %s: %w", dhcpv6.MessageTypeRequest, err)})
		return nil, nil
	}
	return nl, d
}

// iaStatus6 is the status code of m's IA_NA iaid (0 without one).
func iaStatus6(m *dhcpv6.Message, iaid [4]byte) iana.StatusCode {
	for _, ia := range m.Options.IANA() {
		if ia.IaId == iaid {
			if st := ia.Options.Status(); st != nil {
				return st.StatusCode
			}
		}
	}
	return 0
}

// withdrawn6 reports whether m gives a, in the IA_NA iaid, a valid
// lifetime of 0: the server ends its lease.
func withdrawn6(m *dhcpv6.Message, iaid [4]byte, a netip.Addr) bool {
	for _, ia := range m.Options.IANA() {
		if ia.IaId != iaid {
			continue
		}
		for _, x := range ia.Options.Addresses() {
			if ip, ok := netip.AddrFromSlice(x.IPv6Addr); ok && ip == a && x.ValidLifetime <= 0 {
				return true
			}
		}
	}
	return false
}

func (r *run6) stop(l *Lease6) error {
	if !r.cfg.Release {
		return nil
	}
	m, err := r.base(dhcpv6.MessageTypeRelease)
	if err == nil {
		m.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionServerID, OptionData: l.ServerID})
		m.AddOption(r.ia(l))
		// One transmission, waiting briefly for the Reply: the address
		// goes either way.
		ctx, cancel := context.WithTimeout(context.Background(), 2*r.cfg.Timing.Initial)
		_, err = r.cn.exchange(ctx, m, func(rep *dhcpv6.Message) bool { return rep.MessageType == dhcpv6.MessageTypeReply }, r.cfg.Timing.tries6(1))
		cancel()
		switch {
		case errors.Is(err, errNoAnswer):
			err = sendErr(err) // nil when it was sent
		case errors.Is(err, context.DeadlineExceeded):
			err = nil
		}
	}
	if err != nil {
		err = fmt.Errorf("dhcp: release on %s: %w", r.cfg.Link, err)
	}
	r.drop(Event{Kind: EventReleased, Err: err})
	return err
}
