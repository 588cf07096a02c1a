package wireguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"gopkg.in/yaml.v3"
)

// fixed keys so messages are stable.
func testKey(b byte) PrivateKey {
	var k PrivateKey
	for i := range k {
		k[i] = b + byte(i)
	}
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	return k
}

func pfx(s ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, x := range s {
		ps = append(ps, netip.MustParsePrefix(x))
	}
	return ps
}

func goodSpec() Spec {
	return Spec{Name: "wg0", PrivateKey: testKey(1), ListenPort: 51820, Peers: []PeerSpec{
		{PublicKey: testKey(2).PublicKey(), Endpoint: "192.0.2.2:51820", AllowedIPs: pfx("10.0.0.2/32")},
		{PublicKey: testKey(3).PublicKey(), Endpoint: "peer3.example:51820", AllowedIPs: pfx("10.0.0.3/32", "fd00::3/128")},
	}}
}

func TestValidate(t *testing.T) {
	p2, p3 := testKey(2).PublicKey(), testKey(3).PublicKey()
	tests := []struct {
		name string
		edit func(*Spec)
		want []string // substrings of the error; nil: valid
	}{
		{"valid", func(*Spec) {}, nil},
		{"no name", func(s *Spec) { s.Name = "" }, []string{"name: invalid spec: required"}},
		{"long name", func(s *Spec) { s.Name = "wireguard-device0" }, []string{"name:", "longer than 15"}},
		{"no private key", func(s *Spec) { s.PrivateKey = PrivateKey{} }, []string{"privateKey: invalid spec: required"}},
		{"port high", func(s *Spec) { s.ListenPort = 65536 }, []string{"listenPort:", "65536 is out of range"}},
		{"port negative", func(s *Spec) { s.ListenPort = -1 }, []string{"listenPort:", "-1 is out of range"}},
		{"mtu", func(s *Spec) { s.MTU = 20 }, []string{"mtu:", "20 is out of range"}},
		{"duplicate peer", func(s *Spec) { s.Peers[1].PublicKey = p2; s.Peers[1].AllowedIPs = pfx("10.0.0.9/32") },
			[]string{"peers[1].publicKey:", "duplicate peer " + p2.String() + " (also peers[0])"}},
		{"own key", func(s *Spec) { s.Peers[0].PublicKey = testKey(1).PublicKey() }, []string{"peers[0].publicKey:", "own public key"}},
		{"no peer key", func(s *Spec) { s.Peers[0].PublicKey = Key{} }, []string{"peers[0].publicKey: invalid spec: required"}},
		{"overlap", func(s *Spec) { s.Peers[1].AllowedIPs = pfx("10.0.0.0/24") },
			[]string{"peers[1].allowedIPs[0]:", "10.0.0.0/24 overlaps 10.0.0.2/32 of peers[0] " + p2.String(), "(peer " + p3.String() + ")"}},
		{"identical", func(s *Spec) { s.Peers[1].AllowedIPs = pfx("10.0.0.2/32"); s.AllowOverlap = true },
			[]string{"peers[1].allowedIPs[0]:", "overlaps 10.0.0.2/32 of peers[0]"}},
		{"nested allowed", func(s *Spec) { s.Peers[1].AllowedIPs = pfx("0.0.0.0/0"); s.AllowOverlap = true }, nil},
		{"bad prefix", func(s *Spec) { s.Peers[0].AllowedIPs = []netip.Prefix{{}} }, []string{"peers[0].allowedIPs[0]:", "invalid prefix"}},
		{"endpoint no port", func(s *Spec) { s.Peers[0].Endpoint = "192.0.2.2" }, []string{"peers[0].endpoint:", "not host:port"}},
		{"endpoint port", func(s *Spec) { s.Peers[0].Endpoint = "192.0.2.2:70000" }, []string{"peers[0].endpoint:", "out of range"}},
		{"endpoint no host", func(s *Spec) { s.Peers[0].Endpoint = ":51820" }, []string{"peers[0].endpoint:", "no host"}},
		{"keepalive", func(s *Spec) { s.Peers[0].PersistentKeepalive = 70000 }, []string{"peers[0].persistentKeepalive:", "out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := goodSpec()
			tt.edit(&s)
			err := s.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("error %v does not wrap ErrInvalidSpec", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			assertNoSecrets(t, err.Error(), s.PrivateKey)
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	good := testKey(7).Reveal()
	for _, in := range []string{good[:40], good + "AAAA", "not base64!!" + good[12:], hidden} {
		_, err := ParsePrivateKey(in)
		if err == nil {
			t.Fatalf("ParsePrivateKey(%d chars) accepted", len(in))
		}
		if len(in) > 8 && strings.Contains(err.Error(), in[:8]) {
			t.Fatalf("error quotes the input: %v", err)
		}
		var s Spec
		jerr := json.Unmarshal([]byte(`{"name":"wg0","privateKey":"`+in+`"}`), &s)
		if jerr == nil || (in != hidden && strings.Contains(jerr.Error(), in[:8])) {
			t.Fatalf("json decode: %v", jerr)
		}
	}
	if k, err := ParsePrivateKey(good); err != nil || k != testKey(7) {
		t.Fatalf("round trip: %v", err)
	}
	var s Spec
	if err := yaml.Unmarshal([]byte("name: wg0\nprivateKey: "+good+"\npeers:\n- publicKey: "+testKey(8).PublicKey().String()+"\n  presharedKey: "+good+"\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.PrivateKey != testKey(7) || s.Peers[0].PresharedKey != PresharedKey(testKey(7)) || s.Peers[0].PublicKey != testKey(8).PublicKey() {
		t.Fatal("yaml decode lost keys")
	}
}

// TestNoSecretInOutput checks every output path: String, fmt verbs, JSON,
// YAML, slog, errors and Plans.
func TestNoSecretInOutput(t *testing.T) {
	s := goodSpec()
	psk := PresharedKey(testKey(9))
	s.Peers[0].PresharedKey = psk
	var out bytes.Buffer
	for _, v := range []any{s, &s, s.PrivateKey, psk, s.Peers[0], Identity{PrivateKey: s.PrivateKey, PublicKey: s.PrivateKey.PublicKey()}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(j)
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(y)
		slog.New(slog.NewTextHandler(&out, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "v", v)
	}
	// Plans: new device, key rotation, preshared key change.
	cur := devState{privateKey: testKey(4), peers: []peerState{{publicKey: s.Peers[0].PublicKey, psk: PresharedKey(testKey(10))}}}
	_, ch := diff("wg0", &cur, s, nil, endpointEnv{})
	plan := netprim.Plan{Changes: ch}
	out.WriteString(plan.String())
	j, _ := json.Marshal(plan)
	out.Write(j)
	fmt.Fprintf(&out, "%+v %#v", plan, plan)
	// Errors.
	bad := s
	bad.Peers = append(bad.Peers, bad.Peers[0])
	out.WriteString(bad.Validate().Error())
	text := out.String()
	assertNoSecrets(t, text, s.PrivateKey, psk, testKey(4), PresharedKey(testKey(10)))
	if !strings.Contains(text, hidden) || !strings.Contains(text, s.PrivateKey.PublicKey().String()) {
		t.Fatalf("output lacks %s or the public key:\n%s", hidden, text)
	}
}

func TestJSONShape(t *testing.T) {
	s := Spec{Name: "wg0", PrivateKey: testKey(1), Peers: []PeerSpec{{PublicKey: testKey(2).PublicKey(), AllowedIPs: pfx("10.0.0.2/32"), PersistentKeepalive: 25}}}
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"wg0","privateKey":"(hidden)","peers":[{"publicKey":"` + testKey(2).PublicKey().String() + `","allowedIPs":["10.0.0.2/32"],"persistentKeepalive":25}]}`
	if string(j) != want {
		t.Fatalf("got  %s\nwant %s", j, want)
	}
	var back Spec
	if err := json.Unmarshal(j, &back); err == nil || !strings.Contains(err.Error(), "redacted") {
		t.Fatalf("decoding redacted output: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	s := Spec{Name: "wg0", PrivateKey: testKey(1), Peers: []PeerSpec{
		{PublicKey: testKey(3).PublicKey(), Endpoint: "[::ffff:192.0.2.3]:1", AllowedIPs: pfx("10.0.0.9/24", "10.0.0.0/24", "fd00::1/64")},
		{PublicKey: testKey(2).PublicKey()},
	}}
	s.Normalize()
	if s.MTU != DefaultMTU {
		t.Fatalf("mtu %d", s.MTU)
	}
	keys := []Key{testKey(2).PublicKey(), testKey(3).PublicKey()}
	if string(keys[0][:]) > string(keys[1][:]) {
		keys[0], keys[1] = keys[1], keys[0]
	}
	if s.Peers[0].PublicKey != keys[0] {
		t.Fatal("peers not sorted")
	}
	for _, p := range s.Peers {
		if p.PublicKey == testKey(3).PublicKey() {
			if got := prefixList(p.AllowedIPs); got != "10.0.0.0/24,fd00::/64" {
				t.Fatalf("allowed ips %s", got)
			}
			if p.Endpoint != "192.0.2.3:1" {
				t.Fatalf("endpoint %s", p.Endpoint)
			}
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:51820":          "192.0.2.1:51820",
		"[2001:db8::1]:51820":      "[2001:db8::1]:51820",
		"[::ffff:192.0.2.1]:51820": "192.0.2.1:51820",
		"localhost:51820":          "127.0.0.1:51820", // from /etc/hosts
	} {
		got, err := ResolveEndpoint(t.Context(), in)
		if err != nil || got.String() != want {
			t.Errorf("ResolveEndpoint(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ResolveEndpoint(t.Context(), "localhost"); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("no port: %v", err)
	}
}
