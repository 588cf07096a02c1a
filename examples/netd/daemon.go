//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/wireguard"
)

// Source priorities: the machine configuration wins over a DHCP lease for
// the same object (Talos: nameservers from the configuration replace the
// lease's).
// noResolversPriority is the lowest: that source says "no resolvers
// known" once a lease that brought some is gone.
const (
	staticPriority      = 20
	dhcpPriority        = 10
	noResolversPriority = 0
)

// stopWithin bounds the shutdown: the shared IPs are given up first, then
// the DHCP clients stopped.
const stopWithin = 2 * time.Second

// daemon is one running netd.
type daemon struct {
	o      options
	ns     *netprim.Namespace
	r      *reconcile.Reconciler
	static *reconcile.Source
	// noResolvers contributes resolv.conf without nameservers once a
	// lease ended or a DHCP entry was removed, so that the lease's
	// resolvers do not outlive it (the Reconciler leaves a file alone that
	// no source mentions); a lease or the configuration shadows it.
	noResolvers *reconcile.Source
	out         *printer
	rctx        context.Context // lives until the daemon stops; DHCP clients and shared IPs run under it
	// hostname is the configured host name at start: the node's identity
	// in elections.
	hostname string
	// firewall reports that the configuration in force has firewall
	// documents.
	firewall bool

	staticMu sync.Mutex
	cfg      *netConfig     // the configuration in force
	leaseMTU map[string]int // option 26 of the DHCPv4 leases, by link

	mu    sync.Mutex
	dhcps map[string]*dhcpRunner // by dhcpLink key
	vips  map[string]*vipRunner  // by vipLink key
}

// printer serializes the daemon's output lines.
type printer struct {
	mu          sync.Mutex
	out, errOut io.Writer
}

func (p *printer) printf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format, a...)
}

func (p *printer) errorf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.errOut, format, a...)
}

// run is netd: it reads the file, applies it, and keeps it applied until
// ctx ends; a value on hup re-reads the file.
func run(ctx context.Context, o options, hup <-chan os.Signal, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(o.file)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	if err := checkBackends(o, cfg); err != nil {
		return err
	}
	ns, err := openNetns(o.netns)
	if err != nil {
		return err
	}
	defer ns.Close()
	p := &printer{out: stdout, errOut: stderr}
	r, err := reconcile.New(ns, reconcileOptions(o, p)...)
	if err != nil {
		return err
	}
	defer r.Close()
	static, err := r.AddSource("static", staticPriority)
	if err != nil {
		return err
	}
	noResolvers, err := r.AddSource("no-resolvers", noResolversPriority)
	if err != nil {
		return err
	}
	noResolvers.Clear() // nothing until a lease ends; not pending
	if cfg, err = resolveDevices(ctx, ns, cfg); err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	if err := static.Set(cfg.State); err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	if o.dryRun {
		return dryRun(ctx, r, cfg, p)
	}

	if err := os.MkdirAll(filepath.Join(o.root, "etc"), 0o755); err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	d := &daemon{o: o, ns: ns, r: r, static: static, noResolvers: noResolvers, out: p, rctx: rctx,
		dhcps: map[string]*dhcpRunner{}, vips: map[string]*vipRunner{},
		cfg: cfg, leaseMTU: map[string]int{}}
	if cfg.State.Hostname != nil {
		d.hostname = cfg.State.Hostname.Hostname
	}
	d.firewall = cfg.State.Firewall != nil
	// The DHCP sources come before the first pass (see newDHCP), the
	// clients after it: it creates the links they run on (a VLAN, a bond);
	// its errors are retried by the Reconciler.
	for _, dl := range cfg.DHCP {
		if dr, err := d.newDHCP(dl); err != nil {
			p.errorf("netd: dhcp %s: %v\n", dl.Link, err)
		} else {
			d.dhcps[dl.key()] = dr
		}
	}
	plan, err := r.Apply(ctx)
	if !plan.Empty() {
		p.printf("pass 1 (start):\n%v\n", plan)
	}
	if err != nil && ctx.Err() == nil {
		p.errorf("netd: first pass: %v\n", err)
	}
	if ctx.Err() != nil {
		// Stopped during the first pass: nothing was started yet.
		return d.shutdown()
	}
	if err := r.Start(rctx); err != nil {
		return err
	}
	for _, dr := range d.dhcps {
		dr.start()
	}
	d.converge(cfg)
	p.printf("netd: keeping %s applied\n", o.file)
	for {
		select {
		case <-ctx.Done():
			return d.shutdown()
		case <-hup:
			d.reload()
		}
	}
}

// checkBackends refuses a configuration with a shared IP but no election
// backend.
func checkBackends(o options, cfg *netConfig) error {
	if len(cfg.VIPs) > 0 && len(o.etcdEndpoints) == 0 && o.kubeconfig == "" && !o.dryRun {
		return fmt.Errorf("%s: a shared IP (vip %s) needs an election: give --etcd-endpoints or --kubeconfig", o.file, cfg.VIPs[0].Address)
	}
	return nil
}

func reconcileOptions(o options, p *printer) []reconcile.Option {
	opts := []reconcile.Option{
		reconcile.WithOwner(netprim.Owner{ID: uint8(o.owner), Name: "netd"}),
		reconcile.WithRoot(o.root),
		reconcile.WithResync(o.resync),
		// wg(8) reads the devices netd hosts in userspace (no kernel
		// module) through their UAPI sockets.
		reconcile.WithApplyOptions(wireguard.WithUAPISocket()),
	}
	if o.uts != "" {
		opts = append(opts, reconcile.WithApplyOptions(resolv.WithUTSNamespace(o.uts)))
	}
	if !o.dryRun {
		opts = append(opts, reconcile.OnPass(func(ps reconcile.Pass) {
			if ps.Seq > 1 && !ps.Changes.Empty() {
				p.printf("pass %d (%s):\n%v\n", ps.Seq, strings.Join(ps.Why, ", "), ps.Changes)
			}
			if ps.Err != nil && !errors.Is(ps.Err, context.Canceled) {
				p.errorf("netd: pass %d: %v\n", ps.Seq, ps.Err)
			}
		}))
	}
	return opts
}

// dryRun prints the plan of the static configuration and what would run
// besides it.
func dryRun(ctx context.Context, r *reconcile.Reconciler, cfg *netConfig, p *printer) error {
	plan, err := r.Plan(ctx)
	p.printf("%v\n", plan)
	for _, dl := range cfg.DHCP {
		p.printf("dhcp %s: a client would run (%s)\n", dl.Link, dl.families())
	}
	for _, vl := range cfg.VIPs {
		p.printf("vip %s: would stand for election on %s\n", vl.Address, vl.Link)
	}
	return err
}

// converge starts the DHCP clients and shared IPs cfg has and the daemon
// does not run, and stops those it runs and cfg no longer has.
func (d *daemon) converge(cfg *netConfig) {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := map[string]dhcpLink{}
	dhcpOn := map[string]bool{} // links that keep a DHCP entry
	for _, dl := range cfg.DHCP {
		want[dl.key()] = dl
		dhcpOn[dl.Link] = true
	}
	for k, dr := range d.dhcps {
		if _, ok := want[k]; !ok {
			// An entry changed (not removed) gets its lease again at
			// once: resolv.conf keeps the nameservers meanwhile.
			if dr.resolvers.Load() && !dhcpOn[dr.link] {
				d.leaseGone()
			}
			dr.stop(true)
			d.setLeaseMTU(dr.link, 0)
			delete(d.dhcps, k)
		}
	}
	for k, dl := range want {
		if _, ok := d.dhcps[k]; !ok {
			if dr, err := d.newDHCP(dl); err != nil {
				d.out.errorf("netd: dhcp %s: %v\n", dl.Link, err)
			} else {
				dr.start()
				d.dhcps[k] = dr
			}
		}
	}
	wantV := map[string]vipLink{}
	for _, vl := range cfg.VIPs {
		wantV[vl.key()] = vl
	}
	for k, vr := range d.vips {
		if _, ok := wantV[k]; !ok {
			vr.stop()
			delete(d.vips, k)
		}
	}
	for k, vl := range wantV {
		if _, ok := d.vips[k]; !ok {
			if vr, err := d.startVIP(vl); err != nil {
				d.out.errorf("netd: vip %s: %v\n", vl.Address, err)
			} else {
				d.vips[k] = vr
			}
		}
	}
}

// reload re-reads the file: a valid one replaces the configuration (the
// Reconciler applies the difference), an invalid one is reported and the
// previous one stays.
func (d *daemon) reload() {
	cfg, err := loadConfig(d.o.file)
	if err == nil {
		err = checkBackends(d.o, cfg)
	}
	if err == nil {
		cfg, err = resolveDevices(d.rctx, d.ns, cfg)
	}
	if err == nil && cfg.State.Firewall == nil && d.firewall {
		// The firewall documents were removed: open the firewall (the
		// Reconciler leaves a table alone that no source mentions).
		cfg.State.Firewall = &firewall.Spec{DefaultAction: firewall.DefaultAccept}
	}
	if err == nil {
		err = d.setConfig(cfg)
	}
	if err != nil {
		d.out.errorf("netd: reload %s: %v; the previous configuration stays in force\n", d.o.file, err)
		return
	}
	d.firewall = cfg.State.Firewall != nil
	d.converge(cfg)
	d.out.printf("netd: reloaded %s\n", d.o.file)
}

// shutdown gives the shared IPs up (each removes its address, then
// resigns), stops the DHCP clients (releasing and removing their leases
// with --dhcp-release, keeping them otherwise: the addresses end with the
// lease) and leaves the rest of the configuration in place.
func (d *daemon) shutdown() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	deadline := time.Now().Add(stopWithin)
	var wg sync.WaitGroup
	for _, vr := range d.vips {
		wg.Go(vr.stop)
	}
	wg.Wait()
	for _, dr := range d.dhcps {
		wg.Go(func() { dr.stop(d.o.dhcpRelease) })
	}
	wg.Wait()
	if d.o.dhcpRelease && len(d.dhcps) > 0 {
		// One more pass without the leases removes their objects.
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		plan, err := d.r.Apply(ctx)
		if !plan.Empty() {
			d.out.printf("released DHCP leases:\n%v\n", plan)
		}
		if err != nil {
			return fmt.Errorf("removing the released leases: %w", err)
		}
	}
	d.out.printf("netd: stopped; the configuration stays in place\n")
	return nil
}

// resolveDevices names the devices the configuration picks by selector, as
// they are now: their addresses, routes, VLANs, DHCP clients and shared IPs
// need the name. A device that appears later is taken up on SIGHUP.
func resolveDevices(ctx context.Context, ns *netprim.Namespace, cfg *netConfig) (*netConfig, error) {
	links, err := link.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	return cfg.resolve(links)
}

func openNetns(name string) (*netprim.Namespace, error) {
	if name == "" {
		return nil, nil
	}
	ns, err := netprim.OpenNamespace(name)
	if err != nil {
		return nil, fmt.Errorf("--netns %s: %w", name, err)
	}
	return ns, nil
}
