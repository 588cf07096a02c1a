//go:build linux

// Command mesh builds a KubeSpan-style full WireGuard mesh between
// throwaway network namespaces, with the wireguard package's mesh helpers,
// and touches nothing of the host's own network.
//
// It starts N namespaces (default 3) and a hub namespace whose bridge
// joins them, gives each node a persisted identity (a 0600 key file in a
// temporary directory), a device "kubespan" on UDP 51820 with MTU
// TunnelMTU(1500) and every other node as a peer with a persistent
// keepalive, waits for every pair's first handshake, then pings every pair
// over the tunnel (IPv4 and IPv6), prints a peer-health table and removes
// everything. The userspace devices live in this process: they disappear
// when it exits.
//
//	sudo go run ./examples/mesh            # 3 nodes
//	sudo go run ./examples/mesh -n 5 -check # exit status 1 if any pair fails
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/wireguard"
)

func main() {
	n := flag.Int("n", 3, "number of nodes (2-200)")
	check := flag.Bool("check", false, "exit non-zero if any pair cannot ping over the tunnel")
	flag.Parse()
	failed, err := run(context.Background(), os.Stdout, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mesh:", err)
		if errors.Is(err, netprim.ErrPermission) {
			fmt.Fprintln(os.Stderr, "mesh: run it as root: sudo go run ./examples/mesh")
		}
		os.Exit(1)
	}
	if *check && failed > 0 {
		fmt.Fprintf(os.Stderr, "mesh: %d pair(s) cannot ping over the tunnel\n", failed)
		os.Exit(1)
	}
}

// node is one mesh member.
type node struct {
	ns       *netprim.Namespace
	id       wireguard.Identity
	underlay netip.Addr // on eth0, via the bridge
	tun4     netip.Addr
	tun6     netip.Addr
	dev      *wireguard.Device
}

// run builds the mesh and returns how many (ordered) pairs failed to ping.
func run(ctx context.Context, out io.Writer, count int) (int, error) {
	if count < 2 || count > 200 {
		return 0, fmt.Errorf("-n %d: want 2-200 nodes", count)
	}
	dir, err := os.MkdirTemp("", "mesh-identities-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)

	hub, err := netprim.NewNamespace()
	if err != nil {
		return 0, err
	}
	defer hub.Close()

	nodes := make([]*node, count)
	defer func() {
		for _, n := range nodes {
			if n != nil {
				if n.dev != nil {
					n.dev.Close()
				}
				n.ns.Close()
			}
		}
	}()
	for i := range nodes {
		n := &node{
			underlay: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}),
			tun4:     netip.AddrFrom4([4]byte{10, 244, 0, byte(i + 1)}),
			tun6:     netip.MustParseAddr(fmt.Sprintf("fd83:b1f7:fcb5:2802::%x", i+1)),
		}
		if n.ns, err = netprim.NewNamespace(); err != nil {
			return 0, err
		}
		nodes[i] = n
		if n.id, err = wireguard.LoadOrCreateIdentity(filepath.Join(dir, fmt.Sprintf("node%d.identity", i))); err != nil {
			return 0, err
		}
	}
	if err := underlay(ctx, hub, nodes); err != nil {
		return 0, err
	}

	// The devices start one after another (Apply returns once a device
	// runs), each with a persistent keepalive, so a handshake at once, only
	// towards the nodes already running; a node started later handshakes
	// with it when it starts. So exactly one end of each pair sends the
	// first handshake initiation. An initiation sent to a node not running
	// yet is lost or, held in the kernel (waiting for address resolution),
	// delivered just when that node starts and initiates too: crossing
	// initiations leave both ends without a session until WireGuard
	// retries 5 s (REKEY_TIMEOUT) or more later.
	mtu := wireguard.TunnelMTU(1500, true)
	for i, n := range nodes {
		if n.dev, _, err = wireguard.Apply(ctx, n.ns, meshSpec(nodes, i, mtu, i)); err != nil {
			return 0, err
		}
		if err := addTunnelAddrs(ctx, n); err != nil {
			return 0, err
		}
	}
	st, _ := nodes[0].dev.Status(ctx)
	fmt.Fprintf(out, "%d nodes, backend %s, MTU %d, port %d\n", count, st.Backend, st.MTU, st.ListenPort)

	// Every pair's first handshake, before the keepalive goes on towards
	// the later nodes too: turned on while a pair's handshake is still in
	// flight, it would send a second, crossing initiation. A lost
	// initiation is retried after 5 s plus up to 1/3 s of jitter: the wait
	// covers one retry.
	done, took, err := waitHandshakes(ctx, nodes, 10*time.Second)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "first handshakes: %d of %d pairs in %v\n\n", done, count*(count-1)/2, took.Round(10*time.Microsecond))
	for i, n := range nodes {
		if _, err := n.dev.Apply(ctx, meshSpec(nodes, i, mtu, count)); err != nil {
			return 0, err
		}
	}

	failed := 0
	fmt.Fprintln(out, "pings over the tunnel:")
	for i, a := range nodes {
		for j, b := range nodes {
			if i == j {
				continue
			}
			for _, dst := range []netip.Addr{b.tun4, b.tun6} {
				rtt, err := pingRetry(a.ns, dst, 5*time.Second)
				if err != nil {
					failed++
					fmt.Fprintf(out, "  node%d -> node%d %-26s FAIL %v\n", i, j, dst, err)
					continue
				}
				fmt.Fprintf(out, "  node%d -> node%d %-26s ok %v\n", i, j, dst, rtt.Round(10*time.Microsecond))
			}
		}
	}

	fmt.Fprintln(out, "\npeer health:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPEER\tENDPOINT\tSTATE\tLAST HANDSHAKE\tRX\tTX")
	now := time.Now()
	for i, n := range nodes {
		st, err := n.dev.Status(ctx)
		if err != nil {
			return failed, err
		}
		for _, p := range st.Peers {
			h := p.Health(now)
			age := "never"
			if !p.LastHandshake.IsZero() {
				age = now.Sub(p.LastHandshake).Round(time.Millisecond).String() + " ago"
			}
			fmt.Fprintf(tw, "node%d\t%s\t%s\t%s\t%s\t%d\t%d\n", i, p.PublicKey, p.Endpoint, h, age, p.RxBytes, p.TxBytes)
		}
	}
	tw.Flush()
	return failed, nil
}

// meshSpec is node i's device: every other node as a peer, with a
// persistent keepalive towards nodes 0 to keepaliveBelow-1.
func meshSpec(nodes []*node, i, mtu, keepaliveBelow int) wireguard.Spec {
	spec := wireguard.Spec{Name: "kubespan", PrivateKey: nodes[i].id.PrivateKey, ListenPort: wireguard.DefaultPort,
		FirewallMark: wireguard.MarkDevice, MTU: mtu}
	for j, p := range nodes {
		if j == i {
			continue
		}
		peer := wireguard.PeerSpec{
			PublicKey:  p.id.PublicKey,
			Endpoint:   netip.AddrPortFrom(p.underlay, wireguard.DefaultPort).String(),
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(p.tun4, 32), netip.PrefixFrom(p.tun6, 128)},
		}
		if j < keepaliveBelow {
			peer.PersistentKeepalive = wireguard.DefaultKeepalive
		}
		spec.Peers = append(spec.Peers, peer)
	}
	return spec
}

// waitHandshakes waits until both ends of every pair of nodes report a
// handshake (a responder reports it once the initiator's first packet has
// confirmed the session), or until within has passed. It returns how many
// pairs did and how long it waited.
func waitHandshakes(ctx context.Context, nodes []*node, within time.Duration) (int, time.Duration, error) {
	index := make(map[wireguard.Key]int, len(nodes))
	for i, n := range nodes {
		index[n.id.PublicKey] = i
	}
	start := time.Now()
	for {
		shook := make([][]bool, len(nodes))
		for i, n := range nodes {
			shook[i] = make([]bool, len(nodes))
			st, err := n.dev.Status(ctx)
			if err != nil {
				return 0, 0, err
			}
			for _, p := range st.Peers {
				if j, ok := index[p.PublicKey]; ok && !p.LastHandshake.IsZero() {
					shook[i][j] = true
				}
			}
		}
		pairs := 0
		for i := range nodes {
			for j := i + 1; j < len(nodes); j++ {
				if shook[i][j] && shook[j][i] {
					pairs++
				}
			}
		}
		took := time.Since(start)
		if pairs == len(nodes)*(len(nodes)-1)/2 || took > within {
			return pairs, took, nil
		}
		time.Sleep(time.Millisecond)
	}
}

// underlay joins every node to a bridge "br0" in the hub: veth "nI" in
// the hub, its peer "eth0" in node I with 192.0.2.I+1/24 (broadcast
// 192.0.2.255).
func underlay(ctx context.Context, hub *netprim.Namespace, nodes []*node) error {
	veths := make([]link.Spec, len(nodes))
	ports := make([]string, len(nodes))
	for i, n := range nodes {
		ports[i] = fmt.Sprintf("n%d", i)
		veths[i] = link.Spec{Name: ports[i], Veth: &link.Veth{Peer: "eth0", PeerNetns: n.ns.Path()}, Up: up()}
	}
	// One Apply creates every pair, each with its peer in its node; the
	// bridge then takes the hub ends as ports.
	if _, err := link.Apply(ctx, hub, veths); err != nil {
		return err
	}
	if _, err := bridge.Apply(ctx, hub, []bridge.Spec{{Name: "br0", Ports: bridge.Ports(ports...), Up: up()}}); err != nil {
		return err
	}
	for _, n := range nodes {
		if _, err := link.Apply(ctx, n.ns, []link.Spec{{Name: "lo", Up: up()}, {Name: "eth0", Up: up()}}); err != nil {
			return err
		}
		if _, err := addr.Apply(ctx, n.ns, []addr.Spec{{Link: "eth0", Address: netip.PrefixFrom(n.underlay, 24), AutoBroadcast: true}}); err != nil {
			return err
		}
	}
	return waitOperUp(ctx, hub, ports, 10*time.Second)
}

// waitOperUp waits until the links of ns named names are operationally
// up.
//
// The hub's ends of the veth pairs were up before their peers, so each got
// its carrier only when its node's eth0 came up, and the kernel transmits
// on it only once its link watcher has handled that, on a worker of its
// own: a few milliseconds later, under load up to a second ("ip link"
// shows the link UP from then on). Until then the bridge drops every
// frame towards that node, and a handshake sent there waits for the
// address resolution to be retried a second later.
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
			return fmt.Errorf("underlay links not up after %v: %v", within, down)
		}
		time.Sleep(time.Millisecond)
	}
}

// addTunnelAddrs puts the node's tunnel addresses on its WireGuard
// device: IPv4 /24, and IPv6 /64 without duplicate address detection.
func addTunnelAddrs(ctx context.Context, n *node) error {
	_, err := addr.Apply(ctx, n.ns, []addr.Spec{
		{Link: "kubespan", Address: netip.PrefixFrom(n.tun4, 24), AutoBroadcast: true},
		{Link: "kubespan", Address: netip.PrefixFrom(n.tun6, 64), Flags: []string{"nodad"}},
	})
	return err
}

// up returns a pointer to true, for the Up fields of link and bridge specs.
func up() *bool { t := true; return &t }

// pingRetry pings until a reply or the deadline: the first packet waits
// for the handshake.
func pingRetry(ns *netprim.Namespace, dst netip.Addr, within time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(within)
	for {
		rtt, err := ping(ns, dst, 500*time.Millisecond)
		if err == nil || time.Now().After(deadline) {
			return rtt, err
		}
	}
}

// ping sends one ICMP echo request from inside ns and waits for its reply.
func ping(ns *netprim.Namespace, dst netip.Addr, timeout time.Duration) (time.Duration, error) {
	network, laddr, proto := "ip4:icmp", "0.0.0.0", 1
	var req, rep icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, laddr, proto = "ip6:ipv6-icmp", "::", 58
		req, rep = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var c *icmp.PacketConn
	if err := ns.Do(func() error {
		var err error
		c, err = icmp.ListenPacket(network, laddr)
		return err
	}); err != nil {
		return 0, err
	}
	defer c.Close()
	id := os.Getpid() & 0xffff
	b, err := (&icmp.Message{Type: req, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("mesh")}}).Marshal(nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return 0, err
	}
	c.SetReadDeadline(start.Add(timeout))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return 0, fmt.Errorf("no reply: %w", err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != rep {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && from.String() == dst.String() {
			return time.Since(start), nil
		}
	}
}
