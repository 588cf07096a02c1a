package wireguard

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/netprim/netprim"
)

// TestEndpointRule: the Spec's endpoint of an existing peer is sent only
// when the peer has none, the Spec's endpoint changed since the handle's
// last Apply, or the peer is down; never while a roamed tunnel is up, and
// never when the peer is at one of the addresses the name resolved to.
func TestEndpointRule(t *testing.T) {
	k1, peer := testKey(1), testKey(2).PublicKey()
	now := time.Unix(1_800_000_000, 0)
	recent, stale := now.Add(-time.Minute), now.Add(-PeerDownAfter-time.Second)
	ep := netip.MustParseAddrPort
	conf, roamed := ep("192.0.2.2:51820"), ep("198.51.100.7:40000")
	tests := []struct {
		name     string
		spec     string         // the Spec's endpoint
		cur      netip.AddrPort // the peer's endpoint on the device
		hs       time.Time
		applied  map[Key]string
		resolved []netip.AddrPort
		send     bool
	}{
		{"roamed, tunnel up, first apply of the handle", "192.0.2.2:51820", roamed, recent, nil, nil, false},
		{"roamed, tunnel up, spec unchanged", "192.0.2.2:51820", roamed, recent, map[Key]string{peer: "192.0.2.2:51820"}, nil, false},
		{"roamed, peer down", "192.0.2.2:51820", roamed, stale, map[Key]string{peer: "192.0.2.2:51820"}, nil, true},
		{"roamed, never a handshake", "192.0.2.2:51820", roamed, time.Time{}, nil, nil, true},
		{"spec endpoint changed, tunnel up", "192.0.2.2:51820", roamed, recent, map[Key]string{peer: "192.0.2.9:51820"}, nil, true},
		{"endpoint added to the spec, tunnel up", "192.0.2.2:51820", roamed, recent, map[Key]string{peer: ""}, nil, true},
		{"peer has no endpoint", "192.0.2.2:51820", netip.AddrPort{}, recent, map[Key]string{peer: "192.0.2.2:51820"}, nil, true},
		{"at the configured address", "192.0.2.2:51820", conf, stale, map[Key]string{peer: "192.0.2.9:51820"}, nil, false},
		{"dns: at another resolved address, peer down", "peer.example:51820", ep("192.0.2.3:51820"), stale,
			map[Key]string{peer: "peer.example:51820"}, []netip.AddrPort{conf, ep("192.0.2.3:51820")}, false},
		{"dns: at another resolved address, handle new", "peer.example:51820", ep("192.0.2.3:51820"), time.Time{},
			nil, []netip.AddrPort{conf, ep("192.0.2.3:51820")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := devState{privateKey: k1, peers: []peerState{{publicKey: peer, endpoint: tt.cur, lastHandshake: tt.hs, allowedIPs: pfx("10.0.0.2/32")}}}
			s := Spec{Name: "wg0", PrivateKey: k1, Peers: []PeerSpec{{PublicKey: peer, Endpoint: tt.spec, AllowedIPs: pfx("10.0.0.2/32")}}}
			s.Normalize()
			resolved := map[Key][]netip.AddrPort{}
			if tt.resolved != nil {
				resolved[peer] = tt.resolved
			}
			cfg, ch := diff("wg0", &cur, s, map[Key]netip.AddrPort{peer: conf}, endpointEnv{now: now, applied: tt.applied, resolved: resolved})
			want := ""
			if tt.send {
				want = "public_key=" + string(encodeHex(peer)) + "\nupdate_only=true\nendpoint=192.0.2.2:51820\n"
			}
			if got := uapiSet(cfg); got != want {
				t.Errorf("request:\n%s\nwant:\n%s", got, want)
			}
			if tt.send != (len(ch) == 1) {
				t.Errorf("changes: %v", ch)
			}
		})
	}
}

// TestPreferredFirst: a host name's addresses keep every answer, IPv4
// first, so any order of the same answers gives the same set.
func TestPreferredFirst(t *testing.T) {
	a := netip.MustParseAddr
	got := preferredFirst([]netip.Addr{a("2001:db8::1"), a("192.0.2.2"), a("::ffff:192.0.2.3"), a("192.0.2.2")}, 51820)
	want := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.2:51820"), netip.MustParseAddrPort("[2001:db8::1]:51820"), netip.MustParseAddrPort("192.0.2.3:51820")}
	if d := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

// TestTakeOver: an existing device with another private key is refused
// unless the caller opts in; with no key or the Spec's key it is adopted.
// Taking one over is marked disruptive: the key and the removed peers.
func TestTakeOver(t *testing.T) {
	mine, theirs := testKey(1), testKey(5)
	foreign := testKey(6).PublicKey()
	s := Spec{Name: "wg0", PrivateKey: mine, Peers: []PeerSpec{{PublicKey: testKey(2).PublicKey(), AllowedIPs: pfx("10.0.0.2/32")}}}
	s.Normalize()
	cur := devState{privateKey: theirs, peers: []peerState{{publicKey: foreign, allowedIPs: pfx("10.9.0.0/24")}}}

	err := checkTakeOver("wg0", cur, s, false)
	if !errors.Is(err, netprim.ErrConflict) {
		t.Fatalf("foreign device adopted: %v", err)
	}
	assertNoSecrets(t, err.Error(), theirs, mine)
	if err := checkTakeOver("wg0", cur, s, true); err != nil {
		t.Errorf("with WithTakeOver: %v", err)
	}
	if err := checkTakeOver("wg0", devState{}, s, false); err != nil {
		t.Errorf("device without a key: %v", err)
	}
	if err := checkTakeOver("wg0", devState{privateKey: mine}, s, false); err != nil {
		t.Errorf("device with the Spec's key: %v", err)
	}

	_, ch := diff("wg0", &cur, s, nil, endpointEnv{})
	disruptive := map[string]bool{}
	for _, c := range ch {
		if c.Disruptive {
			disruptive[c.Field+c.Action.String()] = true
		}
	}
	if !disruptive["private-key~"] || !disruptive["-"] {
		t.Errorf("take-over changes not all disruptive: %v", netprim.Plan{Changes: ch})
	}
}
