package wireguard

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/netprim/netprim"
)

func TestDiffMinimal(t *testing.T) {
	k1, k2, k3, k4 := testKey(1), testKey(2).PublicKey(), testKey(3).PublicKey(), testKey(4).PublicKey()
	hex := func(k [32]byte) string { return strings.ToLower(strings.TrimSpace(string(encodeHex(k)))) }
	ep := netip.MustParseAddrPort
	cur := devState{privateKey: k1, listenPort: 51820, peers: []peerState{
		{publicKey: k2, endpoint: ep("192.0.2.2:51820"), allowedIPs: pfx("10.0.0.2/32"), keepalive: 25},
		{publicKey: k3, endpoint: ep("192.0.2.3:51820"), allowedIPs: pfx("10.0.0.3/32")},
		{publicKey: k4, allowedIPs: pfx("10.0.0.4/32")},
	}}
	sortPeers(cur.peers)
	base := Spec{Name: "wg0", PrivateKey: k1, ListenPort: 51820, Peers: []PeerSpec{
		{PublicKey: k2, Endpoint: "192.0.2.2:51820", AllowedIPs: pfx("10.0.0.2/32"), PersistentKeepalive: 25},
		{PublicKey: k3, Endpoint: "192.0.2.3:51820", AllowedIPs: pfx("10.0.0.3/32")},
		{PublicKey: k4, AllowedIPs: pfx("10.0.0.4/32")},
	}}
	eps := map[Key]netip.AddrPort{k2: ep("192.0.2.2:51820"), k3: ep("192.0.2.3:51820")}
	tests := []struct {
		name   string
		edit   func(s *Spec, eps map[Key]netip.AddrPort)
		uapi   string
		change []string
	}{
		{"unchanged", func(*Spec, map[Key]netip.AddrPort) {}, "", nil},
		{"endpoint only", func(s *Spec, e map[Key]netip.AddrPort) { e[k3] = ep("192.0.2.33:51820") },
			"public_key=" + hex(k3) + "\nupdate_only=true\nendpoint=192.0.2.33:51820\n",
			[]string{"~ wireguard-peer " + k3.String() + " dev wg0 endpoint 192.0.2.3:51820 -> 192.0.2.33:51820"}},
		{"allowed ip added", func(s *Spec, _ map[Key]netip.AddrPort) { s.Peers[2].AllowedIPs = pfx("10.0.0.4/32", "10.0.4.0/24") },
			"public_key=" + hex(k4) + "\nupdate_only=true\nallowed_ip=10.0.4.0/24\n",
			[]string{"~ wireguard-peer " + k4.String() + " dev wg0 allowed-ips 10.0.0.4/32 -> 10.0.0.4/32,10.0.4.0/24"}},
		{"allowed ip replaced", func(s *Spec, _ map[Key]netip.AddrPort) { s.Peers[2].AllowedIPs = pfx("10.0.4.0/24") },
			"public_key=" + hex(k4) + "\nupdate_only=true\nreplace_allowed_ips=true\nallowed_ip=10.0.4.0/24\n",
			[]string{"~ wireguard-peer " + k4.String() + " dev wg0 allowed-ips 10.0.0.4/32 -> 10.0.4.0/24"}},
		{"keepalive off", func(s *Spec, _ map[Key]netip.AddrPort) { s.Peers[0].PersistentKeepalive = 0 },
			"public_key=" + hex(k2) + "\nupdate_only=true\npersistent_keepalive_interval=0\n",
			[]string{"~ wireguard-peer " + k2.String() + " dev wg0 persistent-keepalive 25 -> none"}},
		{"peer removed", func(s *Spec, _ map[Key]netip.AddrPort) { s.Peers = s.Peers[:2] },
			"public_key=" + hex(k4) + "\nremove=true\n",
			[]string{"- wireguard-peer " + k4.String() + " dev wg0 (traffic to the peer stops)"}},
		{"port", func(s *Spec, _ map[Key]netip.AddrPort) { s.ListenPort = 51821 },
			"listen_port=51821\n", []string{"~ wireguard wg0 listen-port 51820 -> 51821"}},
		{"port unmanaged", func(s *Spec, _ map[Key]netip.AddrPort) { s.ListenPort = 0 }, "", nil},
		{"fwmark", func(s *Spec, _ map[Key]netip.AddrPort) { s.FirewallMark = 0x20 },
			"fwmark=32\n", []string{"~ wireguard wg0 fwmark none -> 0x20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			s.Peers = append([]PeerSpec(nil), base.Peers...)
			e := map[Key]netip.AddrPort{}
			for k, v := range eps {
				e[k] = v
			}
			tt.edit(&s, e)
			s.Normalize()
			cfg, ch := diff("wg0", &cur, s, e, endpointEnv{})
			if got := uapiSet(cfg); got != tt.uapi {
				t.Errorf("uapi:\n%s\nwant:\n%s", got, tt.uapi)
			}
			var got []string
			for _, c := range ch {
				got = append(got, c.String())
			}
			if d := cmp.Diff(tt.change, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestDiffNewDevice(t *testing.T) {
	s := goodSpec()
	s.Peers[1].Endpoint = "192.0.2.3:51820"
	s.Peers[0].PresharedKey = PresharedKey(testKey(9))
	s.Normalize()
	eps, all, err := resolveEndpoints(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ch := diff("wg0", nil, s, eps, endpointEnv{resolved: all})
	if len(ch) != 4 || ch[0].Field != "private-key" || ch[1].Field != "listen-port" || ch[2].Action != netprim.Add || ch[3].Action != netprim.Add {
		t.Fatalf("changes %v", ch)
	}
	// The request applied to the state it describes gives that state back.
	got, err := parseUAPIGet(uapiSet(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if got.privateKey != s.PrivateKey || got.listenPort != 51820 || len(got.peers) != 2 {
		t.Fatalf("round trip: %+v", got.status("wg0", BackendUserspace, 0, false))
	}
	cfg2, ch2 := diff("wg0", &got, s, eps, endpointEnv{resolved: all})
	if !cfg2.empty() || len(ch2) != 0 {
		t.Fatalf("second diff not empty: %v", ch2)
	}
}

func TestParseUAPIGet(t *testing.T) {
	k1, k2 := testKey(1), testKey(2).PublicKey()
	in := "private_key=" + string(encodeHex(k1)) + "\nlisten_port=51820\nfwmark=32\n" +
		"public_key=" + string(encodeHex(k2)) + "\npreshared_key=" + strings.Repeat("0", 64) + "\nprotocol_version=1\n" +
		"endpoint=[::ffff:192.0.2.2]:51820\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n" +
		"tx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\nallowed_ip=fd00::2/128\nallowed_ip=10.0.0.2/32\nerrno=0\n\n"
	d, err := parseUAPIGet(in)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Name: "wg0", Backend: BackendUserspace, PublicKey: k1.PublicKey(), ListenPort: 51820, FirewallMark: 32, MTU: 1420, Up: true,
		Peers: []PeerStatus{{PublicKey: k2, Endpoint: netip.MustParseAddrPort("192.0.2.2:51820"), LastHandshake: time.Unix(1700000000, 5),
			RxBytes: 20, TxBytes: 10, AllowedIPs: pfx("10.0.0.2/32", "fd00::2/128"), PersistentKeepalive: 25}}}
	opts := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if d := cmp.Diff(want, d.status("wg0", BackendUserspace, 1420, true), opts, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"listen_port=x\n", "public_key=zz\n", "private_key=" + strings.Repeat("g", 64) + "\n", "novalue\n", "errno=22\n"} {
		if _, err := parseUAPIGet(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "gggg") {
			t.Errorf("error quotes a key: %v", err)
		}
	}
}
