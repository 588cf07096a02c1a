package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/wireguard"
)

// cmdApply runs "plan" (dry) and "apply": one pass of a reconcile.Reconciler
// whose only source is the document, or its dry run.
func cmdApply(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, dry bool) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	file := fs.String("f", "", "document to apply (- for standard input)")
	prune := fs.Bool("prune", false, "delete owned objects the document does not list")
	owner := fs.Uint("owner", netprim.DefaultOwnerID, "owner id recorded on objects (5-255)")
	netns := fs.String("netns", "", "network namespace name (/var/run/netns/NAME)")
	root := fs.String("root", "", "write resolv.conf, hosts and hostname under DIR/etc instead of /etc")
	uts := fs.String("uts", "", "also set the kernel host name in the UTS namespace at PATH (e.g. /proc/PID/ns/uts)")
	serve := fs.Bool("serve", false, "host userspace WireGuard devices in this process and keep the document applied until interrupted")
	try := fs.Duration("try", 0, "apply, then keep the changes only if Enter is pressed within DURATION; otherwise roll them back")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageError(fmt.Sprintf("unexpected argument %q", pos[0]))
	case *file == "":
		return usageError("-f DOC.yaml is required")
	case *owner < 5 || *owner > 255:
		return usageError(fmt.Sprintf("--owner %d: must be 5..255 (0-4 are the kernel's)", *owner))
	case *try < 0 || (*try > 0 && (dry || *serve)):
		return usageError("--try takes a positive duration and goes with apply, without --serve")
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
	doc, err := reconcile.Decode(in)
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

	opts := []reconcile.Option{reconcile.WithOwner(netprim.Owner{ID: uint8(*owner)})}
	if !*prune {
		opts = append(opts, reconcile.WithoutPrune())
	}
	if *root != "" {
		opts = append(opts, reconcile.WithRoot(*root))
	}
	if *uts != "" {
		opts = append(opts, reconcile.WithApplyOptions(resolv.WithUTSNamespace(*uts)))
	}
	if *serve {
		// The UAPI socket lets wg(8) and "netctl get wireguard" read the
		// devices this process hosts.
		opts = append(opts, reconcile.WithApplyOptions(wireguard.WithUAPISocket()))
	} else {
		// A userspace device would vanish when netctl exits: without
		// --serve, only the kernel may host WireGuard devices.
		opts = append(opts, reconcile.WithApplyOptions(wireguard.WithBackend(wireguard.BackendKernel)))
	}
	if *serve {
		opts = append(opts, reconcile.OnPass(func(p reconcile.Pass) {
			if p.Seq > 1 && (!p.Changes.Empty() || p.Err != nil) {
				fmt.Fprintf(stdout, "pass %d (%s):\n%v\n", p.Seq, strings.Join(p.Why, ", "), p.Changes)
				if p.Err != nil {
					fmt.Fprintf(stdout, "errors: %v\n", p.Err)
				}
			}
		}))
	}
	r, err := reconcile.New(ns, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	src, err := r.AddSource("netctl", 0)
	if err != nil {
		return err
	}
	if *try > 0 {
		return tryApply(ctx, src, doc, *try, stdin, stdout)
	}
	if err := src.Set(doc); err != nil {
		return err
	}
	var p netprim.Plan
	if dry {
		p, err = r.Plan(ctx)
	} else {
		p, err = r.Apply(ctx)
	}
	if err == nil || !p.Empty() {
		fmt.Fprintln(stdout, p)
	}
	if err != nil && !*serve && len(doc.WireGuard) > 0 && errors.Is(err, netprim.ErrUnsupported) {
		err = fmt.Errorf("%w\nnetctl: the kernel cannot host the wireguard devices: run \"netctl apply --serve\" to host them in netctl's process until it is interrupted", err)
	}
	if err != nil || dry || !*serve {
		return err
	}
	return serveDocument(ctx, r, stdout)
}

// tryApply applies doc, prints the changes and waits for Enter on stdin:
// pressed within the time, the changes stay; at the deadline, at the end
// of input or on an interrupt they are rolled back. It says which.
func tryApply(ctx context.Context, src *reconcile.Source, doc reconcile.State, d time.Duration, stdin io.Reader, stdout io.Writer) error {
	lines := make(chan error, 1)
	p, err := src.Try(ctx, doc, d, func(ctx context.Context, applied netprim.Plan) error {
		fmt.Fprintln(stdout, applied)
		fmt.Fprintf(stdout, "press Enter within %v to keep these changes; otherwise they are rolled back\n", d)
		go func() {
			_, err := bufio.NewReader(stdin).ReadString('\n')
			if errors.Is(err, io.EOF) {
				err = errors.New("end of input before Enter")
			}
			lines <- err
		}()
		select {
		case err := <-lines:
			return err
		case <-ctx.Done():
			return fmt.Errorf("no Enter within %v", d)
		}
	})
	if errors.Is(err, reconcile.ErrRolledBack) {
		fmt.Fprintf(stdout, "rolled back:\n%v\n", p)
		return err
	}
	if err != nil {
		if !p.Empty() {
			fmt.Fprintln(stdout, p)
		}
		return err
	}
	fmt.Fprintln(stdout, "kept")
	return nil
}

// serveDocument keeps the document applied until ctx is done (SIGINT or
// SIGTERM): the Reconciler repairs drift as the kernel reports it, and
// hosts the userspace WireGuard devices, which it removes when it closes.
// Handles of kernel devices are only released: those devices stay without
// netctl.
func serveDocument(ctx context.Context, r *reconcile.Reconciler, stdout io.Writer) error {
	var names []string
	for _, d := range r.WireGuardDevices() {
		if d.Backend() == wireguard.BackendUserspace {
			names = append(names, d.Name())
		}
	}
	if len(names) == 0 {
		fmt.Fprintln(stdout, "keeping the document applied until interrupted")
	} else {
		fmt.Fprintf(stdout, "serving %d userspace WireGuard device(s) until interrupted: %s\n", len(names), strings.Join(names, ", "))
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	if err := r.Close(); err != nil {
		return err
	}
	if len(names) > 0 {
		fmt.Fprintf(stdout, "stopped serving; removed %s\n", strings.Join(names, ", "))
	}
	return nil
}

func openNetns(name string) (*netprim.Namespace, error) {
	if name == "" {
		return nil, nil
	}
	return netprim.OpenNamespace(name)
}
