package wireguard_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/wireguard"
)

// A userspace device hosted by this process: it exists until Close.
func ExampleApply() {
	ctx := context.Background()
	ns, err := netprim.OpenNamespace("blue")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	id, err := wireguard.LoadOrCreateIdentity("/var/lib/example/wireguard-identity")
	if err != nil {
		fmt.Println(err)
		return
	}
	peer, _ := wireguard.ParseKey("NzW8oeIH5rJyY5lefD9WRoHWWRr/Q6DwsDjMX+xKjT4=")
	dev, plan, err := wireguard.Apply(ctx, ns, wireguard.Spec{
		Name:       "wg0",
		PrivateKey: id.PrivateKey,
		ListenPort: wireguard.DefaultPort,
		Peers: []wireguard.PeerSpec{{
			PublicKey:           peer,
			Endpoint:            "192.0.2.2:51820",
			AllowedIPs:          []netip.Prefix{netip.MustParsePrefix("10.99.0.2/32")},
			PersistentKeepalive: wireguard.DefaultKeepalive,
		}},
	}, wireguard.WithBackend(wireguard.BackendAuto))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close() // a userspace device goes away here
	fmt.Println(plan)
	st, _ := dev.Status(ctx)
	fmt.Println(st.Backend, st.PublicKey)
}

// Keys never print: the spec shows only the public key.
func ExampleSpec_String() {
	var k wireguard.PrivateKey // a real key comes from GeneratePrivateKey
	k[0] = 1
	s := wireguard.Spec{Name: "wg0", PrivateKey: k, ListenPort: 51820}
	fmt.Println(s)
	fmt.Printf("%v %x\n", s.PrivateKey, s.PrivateKey)
	// Output:
	// wireguard wg0 public-key L+V9o0fNYkMVKNqsX7spBzD/9oSvxM/C7ZCZX1jLO3Q= listen-port 51820 peers 0
	// (hidden) (hidden)
}

// Peer health from the age of the last handshake.
func ExamplePeerHealth() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	fmt.Println(wireguard.PeerHealth(now, now.Add(-time.Minute), time.Time{}, true))
	fmt.Println(wireguard.PeerHealth(now, now.Add(-wireguard.PeerDownAfter), time.Time{}, true))
	fmt.Println(wireguard.PeerHealth(now, time.Time{}, now.Add(-5*time.Second), true))
	// Output:
	// up
	// down
	// unknown
}

// Endpoint cycling: a down peer moves to its next candidate endpoint.
func ExamplePeerTracker() {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tr := wireguard.PeerTracker{Endpoints: []string{"192.0.2.1:51820", "198.51.100.1:51820"}}
	for _, d := range []time.Duration{0, 20 * time.Second, 40 * time.Second} {
		h, changed := tr.Update(t0.Add(d), wireguard.PeerStatus{})
		fmt.Println(h, changed, tr.Endpoint())
	}
	// Output:
	// unknown false 192.0.2.1:51820
	// down true 198.51.100.1:51820
	// down true 192.0.2.1:51820
}

// The tunnel MTU over a 1500-byte underlay.
func ExampleTunnelMTU() {
	fmt.Println(wireguard.TunnelMTU(1500, true), wireguard.TunnelMTU(1500, false))
	// Output: 1420 1440
}

// Policy routing: mesh traffic marked 0x40 is routed into the tunnel.
func ExampleRouting() {
	r := wireguard.Routing{Link: "kubespan", Prefixes: []netip.Prefix{netip.MustParsePrefix("fd83:b1f7:fcb5:2802::/64")}}
	for _, rule := range r.Rules() {
		fmt.Println(rule.Family, rule.Priority, fmt.Sprintf("0x%x/0x%x", rule.FwMark, rule.FwMask), rule.Table)
	}
	for _, rt := range r.Routes() {
		fmt.Println(rt.Destination, rt.Link, rt.Table)
	}
	// Output:
	// inet 32500 0x40/0x60 180
	// inet6 32500 0x40/0x60 180
	// fd83:b1f7:fcb5:2802::/64 kubespan 180
}
