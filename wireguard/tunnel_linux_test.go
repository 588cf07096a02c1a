package wireguard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// uniqueName returns a link name unique on the host, as the UAPI socket
// directory is shared by all namespaces.
func uniqueName(t testing.TB) string {
	b := make([]byte, 5)
	rand.Read(b)
	return "wgt" + hex.EncodeToString(b)
}

func mustKey(t testing.TB) PrivateKey {
	t.Helper()
	k, err := GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type side struct {
	n      *nstest.NS
	spec   Spec
	dev    *Device
	socket bool // the device also serves its UAPI socket, for wg(8)
}

// uapiWritable reports whether this process can create UAPI sockets in
// /var/run/wireguard (not as root of a user namespace: the directory
// belongs to the host's root).
func uapiWritable() bool {
	if err := os.MkdirAll("/var/run/wireguard", 0o755); err != nil {
		return false
	}
	f, err := os.CreateTemp("/var/run/wireguard", ".probe*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func (s *side) apply(t *testing.T) netprim.Plan {
	t.Helper()
	ctx := context.Background()
	if s.dev == nil {
		opts := []netprim.Option{WithBackend(BackendUserspace)}
		if s.socket {
			opts = append(opts, WithUAPISocket())
		}
		d, plan, err := Apply(ctx, s.n.Namespace, s.spec, opts...)
		if err != nil {
			t.Fatalf("apply %s: %v", s.spec.Name, err)
		}
		s.dev = d
		t.Cleanup(func() { d.Close() })
		return plan
	}
	plan, err := s.dev.Apply(ctx, s.spec)
	if err != nil {
		t.Fatalf("apply %s: %v", s.spec.Name, err)
	}
	return plan
}

func ping(n *nstest.NS, addr string) error {
	out, err := n.Exec("ping", "-n", "-c", "1", "-W", "1", addr)
	if err != nil {
		return fmt.Errorf("ping %s: %v: %s", addr, err, out)
	}
	return nil
}

func requirePing(t *testing.T, n *nstest.NS, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		nstest.Eventually(t, 20*time.Second, func() error { return ping(n, a) })
	}
}

func requireTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed (apt-get install %s)", tool, map[string]string{"ping": "iputils-ping", "wg": "wireguard-tools"}[tool])
	}
}

// newPair builds two namespaces joined by veth (192.0.2.1 and .2) with a
// userspace WireGuard device on each side, tunnel addresses 10.99.0.1/.2
// and fd99::1/::2.
func newPair(t *testing.T) (a, b *side) {
	requireTool(t, "ping")
	na, nb := nstest.New(t), nstest.New(t)
	nstest.Veth(t, na, "va", nb, "vb")
	na.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "va")
	nb.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "vb")
	ka, kb := mustKey(t), mustKey(t)
	a = &side{n: na, spec: Spec{Name: uniqueName(t), PrivateKey: ka, ListenPort: 51820, Peers: []PeerSpec{{
		PublicKey: kb.PublicKey(), Endpoint: "192.0.2.2:51820",
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.99.0.2/32"), netip.MustParsePrefix("fd99::2/128")},
	}}}}
	b = &side{n: nb, spec: Spec{Name: uniqueName(t), PrivateKey: kb, ListenPort: 51820, Peers: []PeerSpec{{
		PublicKey: ka.PublicKey(), Endpoint: "192.0.2.1:51820",
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.99.0.1/32"), netip.MustParsePrefix("fd99::1/128")},
	}}}}
	a.socket, b.socket = uapiWritable(), uapiWritable()
	a.apply(t)
	b.apply(t)
	na.Run(t, "ip", "addr", "add", "10.99.0.1/24", "dev", a.spec.Name)
	na.Run(t, "ip", "addr", "add", "fd99::1/64", "dev", a.spec.Name, "nodad")
	nb.Run(t, "ip", "addr", "add", "10.99.0.2/24", "dev", b.spec.Name)
	nb.Run(t, "ip", "addr", "add", "fd99::2/64", "dev", b.spec.Name, "nodad")
	return a, b
}

func TestTunnelUserspace(t *testing.T) {
	ctx := context.Background()
	a, b := newPair(t)
	requirePing(t, a.n, "10.99.0.2", "fd99::2")
	requirePing(t, b.n, "10.99.0.1", "fd99::1")

	// The link is where the device is, checked with ip(8).
	var links []struct {
		IfName string `json:"ifname"`
		MTU    int    `json:"mtu"`
		Flags  []string
	}
	a.n.IPJSON(t, &links, "link", "show", "dev", a.spec.Name)
	if len(links) != 1 || links[0].MTU != DefaultMTU {
		t.Fatalf("ip link show %s: %+v", a.spec.Name, links)
	}

	// Second Apply: no writes, empty plan.
	var writes int64
	plan, err := a.dev.Apply(ctx, a.spec, netprim.WithWriteCounter(&writes))
	if err != nil || writes != 0 || !plan.Empty() {
		t.Fatalf("second apply: writes %d, plan %q, err %v", writes, plan, err)
	}

	st, err := a.dev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Backend != BackendUserspace || st.PublicKey != a.spec.PrivateKey.PublicKey() || st.ListenPort != 51820 || !st.Up || st.MTU != DefaultMTU {
		t.Fatalf("status: %+v", st)
	}
	if len(st.Peers) != 1 || st.Peers[0].LastHandshake.IsZero() || st.Peers[0].RxBytes == 0 || st.Peers[0].TxBytes == 0 ||
		st.Peers[0].Endpoint != netip.MustParseAddrPort("192.0.2.2:51820") {
		t.Fatalf("status peers: %+v", st.Peers)
	}
	if a.socket {
		compareWG(t, a)
	}

	t.Run("endpoint", func(t *testing.T) {
		// Move B to a new underlay address: the old endpoint stops working,
		// so the tunnel can only recover through the new one.
		b.n.Run(t, "sysctl", "-qw", "net.ipv4.conf.vb.promote_secondaries=1")
		b.n.Run(t, "ip", "addr", "add", "192.0.2.12/24", "dev", "vb")
		b.n.Run(t, "ip", "addr", "del", "192.0.2.2/24", "dev", "vb")
		a.spec.Peers[0].Endpoint = "192.0.2.12:51820"
		plan := a.apply(t)
		if len(plan.Changes) != 1 || plan.Changes[0].Field != "endpoint" {
			t.Fatalf("plan: want one endpoint change, got\n%s", plan)
		}
		requirePing(t, a.n, "10.99.0.2", "fd99::2")
		st, _ := a.dev.Status(ctx)
		if got := st.Peers[0].Endpoint; got != netip.MustParseAddrPort("192.0.2.12:51820") {
			t.Fatalf("endpoint %v", got)
		}
	})

	t.Run("remove and re-add peer", func(t *testing.T) {
		peers := a.spec.Peers
		a.spec.Peers = nil
		plan := a.apply(t)
		if len(plan.Changes) != 1 || plan.Changes[0].Action != netprim.Delete {
			t.Fatalf("plan: want one peer removal, got\n%s", plan)
		}
		if err := ping(a.n, "10.99.0.2"); err == nil {
			t.Fatal("ping succeeded with the peer removed")
		}
		a.spec.Peers = peers
		plan = a.apply(t)
		if len(plan.Changes) != 1 || plan.Changes[0].Action != netprim.Add {
			t.Fatalf("plan: want one peer addition, got\n%s", plan)
		}
		requirePing(t, a.n, "10.99.0.2", "fd99::2")
	})

	t.Run("rotate key", func(t *testing.T) {
		old := b.spec.PrivateKey.PublicKey()
		b.spec.PrivateKey = mustKey(t)
		plan := b.apply(t)
		if len(plan.Changes) != 1 || plan.Changes[0].Field != "private-key" {
			t.Fatalf("plan: want one key change, got\n%s", plan)
		}
		a.spec.Peers[0].PublicKey = b.spec.PrivateKey.PublicKey()
		plan = a.apply(t)
		if len(plan.Changes) != 2 {
			t.Fatalf("plan: want add new key, remove old, got\n%s", plan)
		}
		requirePing(t, a.n, "10.99.0.2", "fd99::2")
		requirePing(t, b.n, "10.99.0.1", "fd99::1")
		st, _ := a.dev.Status(ctx)
		if len(st.Peers) != 1 || st.Peers[0].PublicKey == old {
			t.Fatalf("peers after rotation: %+v", st.Peers)
		}
		if a.socket {
			compareWG(t, a)
		}
		assertNoSecrets(t, fmt.Sprintf("%v %+v %#v %s", st, st, b.spec, plan), b.spec.PrivateKey)
	})

	t.Run("stopped peer goes down, restarted comes up", func(t *testing.T) {
		st, _ := a.dev.Status(ctx)
		hs := st.Peers[0].LastHandshake
		if h := PeerHealth(hs.Add(time.Second), hs, time.Time{}, true); h != HealthUp {
			t.Fatalf("fresh handshake: %s", h)
		}
		b.dev.Close()
		b.dev = nil
		if err := ping(a.n, "10.99.0.2"); err == nil {
			t.Fatal("ping succeeded with the peer stopped")
		}
		st, _ = a.dev.Status(ctx)
		if h := PeerHealth(st.Peers[0].LastHandshake.Add(PeerDownAfter+time.Second), st.Peers[0].LastHandshake, time.Time{}, true); h != HealthDown {
			t.Fatalf("stopped peer after %v: %s", PeerDownAfter, h)
		}
		// Restart the peer with its address back.
		b.apply(t)
		b.n.Run(t, "ip", "addr", "add", "10.99.0.2/24", "dev", b.spec.Name)
		b.n.Run(t, "ip", "addr", "add", "fd99::2/64", "dev", b.spec.Name, "nodad")
		requirePing(t, b.n, "10.99.0.1", "fd99::1")
		requirePing(t, a.n, "10.99.0.2", "fd99::2")
		st2, _ := a.dev.Status(ctx)
		if !st2.Peers[0].LastHandshake.After(hs) {
			t.Fatalf("no new handshake: %v then %v", hs, st2.Peers[0].LastHandshake)
		}
		if h := PeerHealth(st2.Peers[0].LastHandshake.Add(time.Second), st2.Peers[0].LastHandshake, time.Time{}, true); h != HealthUp {
			t.Fatalf("restarted peer: %s", h)
		}
	})
}

// TestWGShowOracle compares Status of both ends of a working tunnel with
// `wg show DEV dump`.
func TestWGShowOracle(t *testing.T) {
	requireTool(t, "wg")
	if !uapiWritable() {
		t.Skip("cannot create UAPI sockets in /var/run/wireguard (not the host's root), so wg(8) cannot read userspace devices")
	}
	a, b := newPair(t)
	a.spec.Peers[0].PersistentKeepalive = 25
	a.spec.FirewallMark = 0x20
	a.spec.Peers[0].PresharedKey = PresharedKey(mustKey(t))
	b.spec.Peers[0].PresharedKey = a.spec.Peers[0].PresharedKey
	a.apply(t)
	b.apply(t)
	requirePing(t, a.n, "10.99.0.2", "fd99::2")
	compareWG(t, a)
	compareWG(t, b)
}

// compareWG compares `wg show DEV dump` with Status.
func compareWG(t *testing.T, s *side) {
	t.Helper()
	requireTool(t, "wg")
	out := s.n.Run(t, "wg", "show", s.spec.Name, "dump")
	st, err := s.dev.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Split(lines[0], "\t")
	// private-key public-key listen-port fwmark
	got := Status{Name: st.Name, Backend: st.Backend, MTU: st.MTU, Up: st.Up}
	got.PublicKey, _ = ParseKey(f[1])
	got.ListenPort, _ = strconv.Atoi(f[2])
	if f[3] != "off" {
		m, _ := strconv.ParseUint(f[3], 0, 32)
		got.FirewallMark = uint32(m)
	}
	for _, l := range lines[1:] {
		// public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive
		f := strings.Split(l, "\t")
		var p PeerStatus
		p.PublicKey, _ = ParseKey(f[0])
		p.HasPresharedKey = f[1] != "(none)"
		if f[2] != "(none)" {
			p.Endpoint = netip.MustParseAddrPort(f[2])
		}
		if f[3] != "(none)" {
			for _, a := range strings.Split(f[3], ",") {
				p.AllowedIPs = append(p.AllowedIPs, netip.MustParsePrefix(a))
			}
		}
		if sec, _ := strconv.ParseInt(f[4], 10, 64); sec != 0 {
			p.LastHandshake = time.Unix(sec, 0)
		}
		p.RxBytes, _ = strconv.ParseInt(f[5], 10, 64)
		p.TxBytes, _ = strconv.ParseInt(f[6], 10, 64)
		if f[7] != "off" {
			p.PersistentKeepalive, _ = strconv.Atoi(f[7])
		}
		got.Peers = append(got.Peers, p)
	}
	// wg prints seconds; counters may move between the two reads.
	opts := cmp.Options{
		cmp.Comparer(func(x, y time.Time) bool { return x.Unix() == y.Unix() }),
		cmp.FilterPath(func(p cmp.Path) bool {
			n := p.Last().String()
			return n == ".RxBytes" || n == ".TxBytes"
		}, cmp.Ignore()),
		cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
		cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y }),
	}
	if d := cmp.Diff(st, got, opts); d != "" {
		t.Fatalf("Status vs wg show dump (-status +wg):\n%s", d)
	}
}
