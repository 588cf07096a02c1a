//go:build linux

// Command netd is a network daemon that reads the network part of a Talos
// Linux machine configuration and keeps a node's network converged with
// netprim's public packages: reconcile for links, bonds, VLANs, bridges,
// WireGuard, addresses, routes, the firewall and resolv.conf/hosts/
// hostname; dhcp for "dhcp: true"; vip for shared IPs elected over etcd or
// a Kubernetes Lease. See README.md and FIELDS.md.
//
//	netd -f CONFIG.yaml [--netns NAME] [--root DIR] [--uts PATH] [--owner ID]
//	     [--etcd-endpoints URL[,URL...]] [--election-ttl DURATION] [--kubeconfig PATH]
//	     [--resync DURATION] [--dhcp-release] [--dry-run]
//
// It runs until SIGTERM or SIGINT, prints every pass that changed
// something and one line per DHCP or shared-IP event. SIGHUP re-reads the
// file and applies the difference; an invalid file on reload is reported
// and the previous configuration stays in force.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
)

// options are the command line's settings.
type options struct {
	file          string
	netns         string
	root          string
	uts           string
	owner         uint
	etcdEndpoints []string
	electionTTL   time.Duration
	kubeconfig    string
	resync        time.Duration
	dhcpRelease   bool
	dryRun        bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("netd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "f", "", "the Talos machine configuration (YAML, one or more documents)")
	fs.StringVar(&o.netns, "netns", "", "network namespace to manage (a name under /run/netns); default: this process's")
	fs.StringVar(&o.root, "root", "/", "directory under which etc/resolv.conf, etc/hosts and etc/hostname are written")
	fs.StringVar(&o.uts, "uts", "", "UTS namespace file (e.g. /proc/self/ns/uts) whose kernel host name is set; without it only etc/hostname is written")
	fs.UintVar(&o.owner, "owner", netprim.DefaultOwnerID, "owner id marking what netd creates (5-255, not 9)")
	endpoints := fs.String("etcd-endpoints", "", "etcd client URLs (comma-separated) for shared IP elections")
	fs.DurationVar(&o.electionTTL, "election-ttl", vip.DefaultTTL, "shared IP election TTL (whole seconds, at least 3s; 4s for a Kubernetes Lease)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for shared IP elections over Kubernetes Leases")
	fs.DurationVar(&o.resync, "resync", time.Minute, "full pass period besides kernel events")
	fs.BoolVar(&o.dhcpRelease, "dhcp-release", false, "on SIGTERM, release DHCP leases and remove their addresses (default: keep them; they expire with the lease)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan of the whole configuration and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.file == "" {
		return o, errors.New("-f CONFIG.yaml is required")
	}
	if *endpoints != "" {
		o.etcdEndpoints = strings.Split(*endpoints, ",")
	}
	if o.owner > 255 {
		return o, fmt.Errorf("--owner %d: want 5-255", o.owner)
	}
	if err := (netprim.Owner{ID: uint8(o.owner)}).Validate(); err != nil {
		return o, fmt.Errorf("--owner: %w", err)
	}
	if o.electionTTL < vip.MinTTL || o.electionTTL%time.Second != 0 {
		return o, fmt.Errorf("--election-ttl %v: want whole seconds, at least %v", o.electionTTL, vip.MinTTL)
	}
	if len(o.etcdEndpoints) > 0 && o.kubeconfig != "" {
		return o, errors.New("--etcd-endpoints and --kubeconfig: choose one election backend")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "netd:", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if err := run(ctx, o, hup, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "netd:", err)
		os.Exit(1)
	}
}
