package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/document"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/wireguard"
)

func cmdApply(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, dry bool) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	file := fs.String("f", "", "document to apply (- for standard input)")
	prune := fs.Bool("prune", false, "delete owned objects the document does not list")
	owner := fs.Uint("owner", netprim.DefaultOwnerID, "owner id recorded on objects (5-255)")
	netns := fs.String("netns", "", "network namespace name (/var/run/netns/NAME)")
	root := fs.String("root", "", "write resolv.conf, hosts and hostname under DIR/etc instead of /etc")
	uts := fs.String("uts", "", "also set the kernel host name in the UTS namespace at PATH (e.g. /proc/PID/ns/uts)")
	serve := fs.Bool("serve", false, "host userspace WireGuard devices in this process and serve them until interrupted")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError(fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	if *file == "" {
		return usageError("-f DOC.yaml is required")
	}
	if *owner < 5 || *owner > 255 {
		return usageError(fmt.Sprintf("--owner %d: must be 5..255 (0-4 are the kernel's)", *owner))
	}
	in := stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	doc, err := document.Decode(in)
	if err != nil {
		return err
	}
	if err := doc.Validate(); err != nil {
		return err
	}
	ns, err := openNetns(*netns)
	if err != nil {
		return err
	}
	defer ns.Close()
	opts := []netprim.Option{netprim.WithOwner(netprim.Owner{ID: uint8(*owner)})}
	if *root != "" {
		opts = append(opts, document.WithRoot(*root))
	}
	if *uts != "" {
		opts = append(opts, resolv.WithUTSNamespace(*uts))
	}
	if *prune {
		opts = append(opts, netprim.WithPrune())
	}
	var devs []*wireguard.Device
	if *serve {
		// The UAPI socket lets wg(8) and "netctl get wireguard" read the
		// devices this process hosts.
		opts = append(opts, document.WithWireGuardDevices(&devs), wireguard.WithUAPISocket())
	}
	var p netprim.Plan
	if dry {
		p, err = document.Plan(ctx, ns, doc, opts...)
	} else {
		p, err = document.Apply(ctx, ns, doc, opts...)
	}
	if err == nil || !p.Empty() {
		fmt.Fprintln(stdout, p)
	}
	if errors.Is(err, document.ErrNeedsHost) {
		err = fmt.Errorf("%w\nnetctl: run \"netctl apply --serve\" to host the WireGuard devices in netctl's process until it is interrupted", err)
	}
	if err != nil || dry || !*serve {
		closeAll(devs)
		return err
	}
	return serveDevices(ctx, devs, stdout)
}

// serveDevices keeps the userspace WireGuard devices this process hosts
// until ctx is done (SIGINT or SIGTERM), then closes them, which removes
// their links. Handles of kernel devices are released at once: those
// devices stay without netctl.
func serveDevices(ctx context.Context, devs []*wireguard.Device, stdout io.Writer) error {
	var hosted []*wireguard.Device
	for _, d := range devs {
		if d.Backend() == wireguard.BackendUserspace {
			hosted = append(hosted, d)
		} else {
			d.Close()
		}
	}
	if len(hosted) == 0 {
		fmt.Fprintln(stdout, "no userspace WireGuard devices to serve")
		return nil
	}
	names := make([]string, len(hosted))
	for i, d := range hosted {
		names[i] = d.Name()
	}
	fmt.Fprintf(stdout, "serving %d userspace WireGuard device(s) until interrupted: %s\n", len(hosted), strings.Join(names, ", "))
	<-ctx.Done()
	closeAll(hosted)
	fmt.Fprintf(stdout, "stopped serving; removed %s\n", strings.Join(names, ", "))
	return nil
}

func closeAll(devs []*wireguard.Device) {
	for _, d := range devs {
		d.Close()
	}
}

func openNetns(name string) (*netprim.Namespace, error) {
	if name == "" {
		return nil, nil
	}
	return netprim.OpenNamespace(name)
}
