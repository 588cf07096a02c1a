//go:build linux

package main

import (
	"context"
	"fmt"
	"os"

	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
	vipetcd "github.com/netprim/netprim/vip/etcd"
	"github.com/netprim/netprim/vip/hcloud"
	vipkube "github.com/netprim/netprim/vip/kube"
)

// kubeNamespace holds the Leases of the shared IPs' elections.
const kubeNamespace = "kube-system"

// key identifies a shared IP entry across reloads (resolved, as dhcpLink.key).
func (vl vipLink) key() string {
	return fmt.Sprintf("%s|%s|%s", vl.Link, vl.Address, vl.HCloudToken)
}

// vipRunner is the controller of one shared IP.
type vipRunner struct {
	cancel context.CancelFunc
	done   chan struct{}
	close  func()
}

// vipOwner marks the shared IPs: the id after the Reconciler's (the one
// before it for 255; 9 and the kernel's 0-4 skipped), so that no pruning of
// the Reconciler's touches them. With the default --owner it is
// vip.DefaultOwnerID.
func vipOwner(reconcilerOwner uint) netprim.Owner {
	id := reconcilerOwner + 1
	if id == 9 {
		id++
	}
	if id > 255 {
		id = reconcilerOwner - 1
	}
	return netprim.Owner{ID: uint8(id), Name: "netd-vip"}
}

// identity is this node's name in elections: the configured host name, or
// the kernel's, and the namespace netd manages.
func (d *daemon) identity() string {
	name, _ := os.Hostname()
	if h := d.hostname; h != "" {
		name = h
	}
	if d.o.netns != "" {
		name += "/" + d.o.netns
	}
	return name
}

func (d *daemon) startVIP(vl vipLink) (*vipRunner, error) {
	name := vl.Link
	el, closeEl, err := d.elector(vl)
	if err != nil {
		return nil, err
	}
	var opts []vip.Option
	if vl.HCloudToken != "" {
		h, err := hcloud.New(hcloud.Options{Token: vl.HCloudToken})
		if err != nil {
			closeEl()
			return nil, err
		}
		opts = append(opts, vip.WithHandlers(h))
	}
	opts = append(opts, vip.WithEvents(func(e vip.Event) {
		if e.Kind != vip.Announced {
			d.out.printf("%s\n", e)
		}
	}))
	cfg := vip.Config{Address: vl.Address, Link: name, Owner: vipOwner(d.o.owner)}
	c, err := vip.New(d.ns, cfg, el, opts...)
	if err != nil {
		closeEl()
		return nil, err
	}
	ctx, cancel := context.WithCancel(d.rctx)
	vr := &vipRunner{cancel: cancel, done: make(chan struct{}), close: closeEl}
	go func() {
		defer close(vr.done)
		// Run refuses to start until the link exists and has an address
		// in the shared IP's subnet: on a DHCP link (Talos' own example)
		// that address comes with the lease, after this start. Try again
		// until it is there; Run returns an error only before it stands
		// for election.
		var last string
		wait := vipRetryMin
		for {
			err := c.Run(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			if msg := err.Error(); msg != last {
				d.out.errorf("netd: vip %s: %v (trying again)\n", vl.Address, err)
				last = msg
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, vipRetryMax)
			if c, err = vip.New(d.ns, cfg, el, opts...); err != nil {
				d.out.errorf("netd: vip %s: %v\n", vl.Address, err)
				return
			}
		}
	}()
	return vr, nil
}

// vipRetryMin and vipRetryMax bound the wait between starts of a shared
// IP's controller whose link is not ready.
const (
	vipRetryMin = 100 * time.Millisecond
	vipRetryMax = 2 * time.Second
)

// stop gives the address up (the controller removes it, then resigns).
func (vr *vipRunner) stop() {
	vr.cancel()
	<-vr.done
	vr.close()
}

// elector makes the election of a shared IP over etcd or a Kubernetes
// Lease, and a function that releases its client.
func (d *daemon) elector(vl vipLink) (vip.Elector, func(), error) {
	id := d.identity()
	if len(d.o.etcdEndpoints) > 0 {
		cli, err := clientv3.New(clientv3.Config{Endpoints: d.o.etcdEndpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, nil, fmt.Errorf("etcd %v: %w", d.o.etcdEndpoints, err)
		}
		el, err := vipetcd.New(cli, "/netd/vip/"+vl.Address.String(), id, vipetcd.Options{TTL: d.o.electionTTL})
		if err != nil {
			cli.Close()
			return nil, nil, err
		}
		return el, func() { cli.Close() }, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", d.o.kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("--kubeconfig %s: %w", d.o.kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--kubeconfig %s: %w", d.o.kubeconfig, err)
	}
	el, err := vipkube.New(cs, kubeNamespace, leaseName(vl), id, vipkube.Options{TTL: d.o.electionTTL})
	if err != nil {
		return nil, nil, err
	}
	return el, func() {}, nil
}

// leaseName is the Lease of a shared IP: a DNS label.
func leaseName(vl vipLink) string {
	b := []byte("netd-vip-" + vl.Address.String())
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}
