//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
)

// key identifies a DHCP entry across reloads. The entries are resolved
// (resolveDevices): a device selector is its device's name by now.
func (dl dhcpLink) key() string {
	return fmt.Sprintf("%s|%v|%v|%d|%x", dl.Link, dl.IPv4, dl.IPv6, dl.RouteMetric, dl.DUIDv6)
}

func (dl dhcpLink) families() string {
	var f []string
	if dl.IPv4 {
		f = append(f, "DHCPv4")
	}
	if dl.IPv6 {
		f = append(f, "DHCPv6")
	}
	return strings.Join(f, " and ")
}

// dhcpRunner is the DHCP client(s) of one link, each feeding a source.
type dhcpRunner struct {
	link string
	// resolvers: a lease of this entry brought resolvers, so resolv.conf
	// must lose them when it is gone (leaseGone).
	resolvers atomic.Bool
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	srcs      []*reconcile.Source
	runs      []func(context.Context) // the clients, started by start
}

// newDHCP adds the sources of a DHCP entry and makes its clients without
// starting them. A source that was never set keeps the Reconciler from
// pruning anything: the source of a client whose lease file holds a lease
// (an unreadable file holds none the client could take up), made before
// the first pass, so keeps the addresses and routes of a lease kept by an
// earlier run (SIGTERM without --dhcp-release) until the client has taken
// the lease up again (DHCPv4 INIT-REBOOT, a DHCPv6 Rebind; also without a
// server while the lease lasts) or found it gone, which sets or clears the
// source. Every other source starts empty, so that a client waiting for a
// server does not hold pruning back.
func (d *daemon) newDHCP(dl dhcpLink) (*dhcpRunner, error) {
	name := dl.Link
	ctx, cancel := context.WithCancel(d.rctx)
	dr := &dhcpRunner{link: name, ctx: ctx, cancel: cancel}
	fail := func(err error) (*dhcpRunner, error) {
		dr.stop(true)
		return nil, err
	}
	// source adds the source of one client and returns its lease file.
	source := func(proto string) (*reconcile.Source, string, error) {
		src, err := d.r.AddSource(proto+":"+name, dhcpPriority)
		if err != nil {
			return nil, "", err
		}
		dr.srcs = append(dr.srcs, src)
		dir := filepath.Join(d.o.root, "var/lib/netd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		leaseFile := filepath.Join(dir, proto+"-"+name+".json")
		switch l4, l6, err := dhcp.ReadLeaseFile(leaseFile); {
		case err != nil || l4 == nil && l6 == nil:
			src.Clear() // nothing the client can take up: see above
		case l4 != nil && len(l4.DNS) > 0 || l6 != nil && len(l6.DNS) > 0:
			dr.resolvers.Store(true) // the kept lease's are in resolv.conf
		}
		return src, leaseFile, nil
	}
	if dl.IPv4 {
		src, leaseFile, err := source("dhcp")
		if err != nil {
			return fail(err)
		}
		c, err := dhcp.NewClient(d.ns, dhcp.Config{
			Link:      name,
			LeaseFile: leaseFile,
			Release:   d.o.dhcpRelease,
			Specs:     dhcp.SpecOptions{RouteMetric: dl.RouteMetric},
			OnEvent:   d.dhcpEvent("dhcp", src, dr),
		})
		if err != nil {
			return fail(err)
		}
		dr.runs = append(dr.runs, func(ctx context.Context) {
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				d.out.errorf("netd: dhcp %s: %v\n", name, err)
			}
		})
	}
	if dl.IPv6 {
		src, leaseFile, err := source("dhcp6")
		if err != nil {
			return fail(err)
		}
		c, err := dhcp.NewClient6(d.ns, dhcp.Config6{
			Link:      name,
			DUID:      dl.DUIDv6,
			LeaseFile: leaseFile,
			Release:   d.o.dhcpRelease,
			OnEvent:   d.dhcpEvent("dhcp6", src, dr),
		})
		if err != nil {
			return fail(err)
		}
		dr.runs = append(dr.runs, func(ctx context.Context) {
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				d.out.errorf("netd: dhcp6 %s: %v\n", name, err)
			}
		})
	}
	return dr, nil
}

// start runs the clients.
func (dr *dhcpRunner) start() {
	for _, run := range dr.runs {
		dr.wg.Go(func() { run(dr.ctx) })
	}
	dr.runs = nil
}

// dhcpEvent prints a client's event and sets or clears its source.
func (d *daemon) dhcpEvent(proto string, src *reconcile.Source, dr *dhcpRunner) func(dhcp.Event) {
	return func(e dhcp.Event) {
		line := fmt.Sprintf("%s %s: %s", proto, e.Link, e.Kind)
		switch {
		case e.Lease != nil:
			line += fmt.Sprintf(" %s, lease %v", e.Lease.Address, e.Lease.LeaseTime)
		case e.Lease6 != nil:
			line += fmt.Sprintf(" %s, valid %v", e.Lease6.Address, e.Lease6.ValidLifetime)
		}
		if e.Err != nil {
			line += ": " + e.Err.Error()
		}
		for _, o := range e.Dropped {
			line += "; dropped " + o.Error()
		}
		d.out.printf("%s\n", line)
		switch e.Kind {
		case dhcp.EventBound, dhcp.EventRenewed, dhcp.EventChanged:
			if e.Lease != nil {
				d.setLeaseMTU(e.Link, e.Lease.MTU) // see mtu.go
			}
			if e.Specs.Resolvers != nil {
				dr.resolvers.Store(true)
			}
			if err := src.Set(reconcile.State{
				Addresses: e.Specs.Addresses,
				Routes:    e.Specs.Routes,
				Resolvers: e.Specs.Resolvers,
			}); err != nil {
				d.out.errorf("netd: %s %s: %v\n", proto, e.Link, err)
			}
		case dhcp.EventExpired, dhcp.EventReleased, dhcp.EventDeclined:
			if dr.resolvers.Load() {
				d.leaseGone()
			}
			src.Clear()
			if proto == "dhcp" {
				d.setLeaseMTU(e.Link, 0)
			}
		}
	}
}

// leaseGone makes resolv.conf say "no nameservers" where nothing else
// provides resolvers any more: a lease that brought some ended, was
// released or declined, or its DHCP entry was removed.
func (d *daemon) leaseGone() {
	if err := d.noResolvers.Set(reconcile.State{Resolvers: &resolv.ResolverSpec{}}); err != nil {
		d.out.errorf("netd: %v\n", err)
	}
}

// stop ends the clients; with remove, their sources go too, so the next
// pass removes what the leases brought (otherwise the addresses stay and
// end with their leases).
func (dr *dhcpRunner) stop(remove bool) {
	dr.cancel()
	dr.wg.Wait()
	if remove {
		for _, s := range dr.srcs {
			s.Remove()
		}
	}
}
