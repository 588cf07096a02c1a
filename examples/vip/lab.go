//go:build linux

package main

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/link"
)

// The network: bridge br0 in the hub (192.0.2.254/24, 2001:db8::254/64,
// etcd listens there), node I on eth0 with .I+1, the client with .100.
const (
	subnet4  = "192.0.2."
	subnet6  = "2001:db8::"
	hubHost  = "254"
	client   = "100"
	shared   = "50"
	etcdPort = 2379
)

func hostAddr(v6 bool, host string) netip.Addr {
	if v6 {
		return netip.MustParseAddr(subnet6 + host)
	}
	return netip.MustParseAddr(subnet4 + host)
}

// lab is the topology: every namespace and the embedded etcd.
type lab struct {
	hub, client *netprim.Namespace
	nodes       []*netprim.Namespace
	etcd        *embed.Etcd
	dir         string
	endpoint    string
}

func (l *lab) close() {
	if l.etcd != nil {
		l.etcd.Close()
	}
	for _, ns := range append([]*netprim.Namespace{l.hub, l.client}, l.nodes...) {
		if ns != nil {
			ns.Close()
		}
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// newLab builds the namespaces, the bridge and etcd.
func newLab(ctx context.Context, n int) (*lab, error) {
	l := &lab{}
	ok := false
	defer func() {
		if !ok {
			l.close()
		}
	}()
	var err error
	if l.hub, err = netprim.NewNamespace(); err != nil {
		return nil, err
	}
	if l.client, err = netprim.NewNamespace(); err != nil {
		return nil, err
	}
	for range n {
		ns, err := netprim.NewNamespace()
		if err != nil {
			return nil, err
		}
		l.nodes = append(l.nodes, ns)
	}
	members := append([]*netprim.Namespace{l.client}, l.nodes...)
	hosts := []string{client}
	for i := range l.nodes {
		hosts = append(hosts, fmt.Sprint(i+1))
	}
	var veths []link.Spec
	var ports []string
	for i, ns := range members {
		port := fmt.Sprintf("p%d", i)
		ports = append(ports, port)
		veths = append(veths, link.Spec{Name: port, Veth: &link.Veth{Peer: "eth0", PeerNetns: ns.Path()}, Up: up()})
	}
	if _, err := link.Apply(ctx, l.hub, append(veths, link.Spec{Name: "lo", Up: up()})); err != nil {
		return nil, err
	}
	if _, err := bridge.Apply(ctx, l.hub, []bridge.Spec{{Name: "br0", Ports: bridge.Ports(ports...), Up: up()}}); err != nil {
		return nil, err
	}
	if _, err := addr.Apply(ctx, l.hub, hostAddrs("br0", hubHost)); err != nil {
		return nil, err
	}
	for i, ns := range members {
		if _, err := link.Apply(ctx, ns, []link.Spec{{Name: "lo", Up: up()}, {Name: "eth0", Up: up()}}); err != nil {
			return nil, err
		}
		if _, err := addr.Apply(ctx, ns, hostAddrs("eth0", hosts[i])); err != nil {
			return nil, err
		}
	}
	if err := waitOperUp(ctx, l.hub, ports, 10*time.Second); err != nil {
		return nil, err
	}
	if err := l.startEtcd(); err != nil {
		return nil, err
	}
	ok = true
	return l, nil
}

// hostAddrs are a host's IPv4 /24 and IPv6 /64 (without duplicate address
// detection) on link.
func hostAddrs(link, host string) []addr.Spec {
	return []addr.Spec{
		{Link: link, Address: netip.PrefixFrom(hostAddr(false, host), 24), AutoBroadcast: true},
		{Link: link, Address: netip.PrefixFrom(hostAddr(true, host), 64), Flags: []string{"nodad"}},
	}
}

// startEtcd starts an embedded etcd whose sockets are in the hub, so the
// nodes reach it over the bridge.
func (l *lab) startEtcd() error {
	var err error
	if l.dir, err = os.MkdirTemp("", "vip-etcd-"); err != nil {
		return err
	}
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("%s%s:%d", subnet4, hubHost, etcdPort)}
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:2380"}
	cfg := embed.NewConfig()
	cfg.Name = "vip-example"
	cfg.Dir = l.dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.EnableGRPCGateway = false
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if err := l.hub.Do(func() error {
		var err error
		l.etcd, err = embed.StartEtcd(cfg)
		return err
	}); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	select {
	case <-l.etcd.Server.ReadyNotify():
	case err := <-l.etcd.Err():
		return fmt.Errorf("etcd: %w", err)
	case <-time.After(20 * time.Second):
		return fmt.Errorf("etcd not ready after 20s")
	}
	l.endpoint = client.String()
	return nil
}

// waitOperUp waits until the links of ns named names are operationally
// up: until then the bridge drops frames towards them.
func waitOperUp(ctx context.Context, ns *netprim.Namespace, names []string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		links, err := link.List(ctx, ns, link.WithoutEthtool())
		if err != nil {
			return err
		}
		state := make(map[string]string, len(links))
		for _, l := range links {
			state[l.Name] = l.OperState
		}
		var down []string
		for _, name := range names {
			if state[name] != "up" {
				down = append(down, name+" "+state[name])
			}
		}
		if len(down) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bridge ports not up after %v: %v", within, down)
		}
		time.Sleep(time.Millisecond)
	}
}

func up() *bool { t := true; return &t }
