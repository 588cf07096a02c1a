package wireguard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPeerHealth(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := time.Second
	tests := []struct {
		name         string
		now, hs, chg time.Time
		hasEP        bool
		want         Health
	}{
		{"just changed, no handshake", at(10 * s), time.Time{}, at(0), true, HealthUnknown},
		{"just changed, handshake after", at(10 * s), at(5 * s), at(0), true, HealthUp},
		{"just changed, handshake before", at(10 * s), at(-5 * s), at(0), true, HealthUnknown},
		{"connect timeout passed, no handshake", at(15 * s), time.Time{}, at(0), true, HealthDown},
		{"connect timeout passed, old handshake", at(100 * s), at(-10 * s), at(0), true, HealthDown},
		{"connect timeout passed, handshake after", at(100 * s), at(20 * s), at(0), true, HealthUp},
		{"long after change, recent handshake", at(400 * s), at(300 * s), at(0), true, HealthUp},
		{"no change, handshake 274s ago", at(274 * s), at(0), time.Time{}, true, HealthUp},
		{"no change, handshake 275s ago", at(275 * s), at(0), time.Time{}, true, HealthDown},
		{"never a handshake", at(1000 * s), time.Time{}, time.Time{}, true, HealthDown},
		{"down without endpoint", at(1000 * s), time.Time{}, time.Time{}, false, HealthUnknown},
		{"up without endpoint", at(10 * s), at(0), time.Time{}, false, HealthUp},
	}
	for _, tt := range tests {
		if got := PeerHealth(tt.now, tt.hs, tt.chg, tt.hasEP); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	if PeerDownAfter != 275*time.Second {
		t.Fatalf("PeerDownAfter %v", PeerDownAfter)
	}
}

func TestPeerTrackerCycles(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := PeerTracker{Endpoints: []string{"192.0.2.1:51820", "198.51.100.1:51820", "[2001:db8::1]:51820"}}
	var st PeerStatus
	step := func(d time.Duration, want Health, wantChanged bool, wantEP string) {
		t.Helper()
		h, ch := tr.Update(t0.Add(d), st)
		if h != want || ch != wantChanged || tr.Endpoint() != wantEP {
			t.Fatalf("at %v: got %s changed=%v %s, want %s %v %s", d, h, ch, tr.Endpoint(), want, wantChanged, wantEP)
		}
	}
	step(0, HealthUnknown, false, "192.0.2.1:51820")
	step(10*time.Second, HealthUnknown, false, "192.0.2.1:51820")
	step(30*time.Second, HealthDown, true, "198.51.100.1:51820") // 15 s passed: next
	step(40*time.Second, HealthUnknown, false, "198.51.100.1:51820")
	step(60*time.Second, HealthDown, true, "[2001:db8::1]:51820")
	step(90*time.Second, HealthDown, true, "192.0.2.1:51820") // round robin
	st.LastHandshake = t0.Add(95 * time.Second)
	step(100*time.Second, HealthUp, false, "192.0.2.1:51820")
	step(94*time.Second+PeerDownAfter, HealthUp, false, "192.0.2.1:51820")
	step(95*time.Second+PeerDownAfter, HealthDown, true, "198.51.100.1:51820")
	if !tr.EndpointChanged().Equal(t0.Add(95*time.Second + PeerDownAfter)) {
		t.Fatalf("changed at %v", tr.EndpointChanged())
	}
	one := PeerTracker{Endpoints: []string{"192.0.2.1:51820"}}
	one.Update(t0, PeerStatus{})
	if h, ch := one.Update(t0.Add(time.Hour), PeerStatus{}); h != HealthDown || ch {
		t.Fatalf("single endpoint: %s %v", h, ch)
	}
	none := PeerTracker{}
	if h, _ := none.Update(t0.Add(time.Hour), PeerStatus{}); h != HealthUnknown || none.Endpoint() != "" {
		t.Fatalf("no endpoint: %s", h)
	}
}

func TestTunnelMTU(t *testing.T) {
	for _, tt := range []struct {
		under int
		v6    bool
		want  int
	}{{1500, true, 1420}, {1500, false, 1440}, {9000, true, 8920}, {1360, true, 1280}} {
		if got := TunnelMTU(tt.under, tt.v6); got != tt.want {
			t.Errorf("TunnelMTU(%d, %v) = %d, want %d", tt.under, tt.v6, got, tt.want)
		}
	}
}

func TestRoutingRules(t *testing.T) {
	r := Routing{Link: "kubespan"}
	rules := r.Rules()
	if len(rules) != 2 || rules[0].FwMark != 0x40 || rules[0].FwMask != 0x60 || rules[0].Table != 180 || rules[0].Priority != 32500 || rules[1].Family == rules[0].Family {
		t.Fatalf("rules %+v", rules)
	}
}

func TestIdentityFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.yaml")
	id, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v", fi.Mode(), err)
	}
	again, err := LoadOrCreateIdentity(path)
	if err != nil || again != id {
		t.Fatalf("reload: %v, same=%v", err, again == id)
	}
	if id.PublicKey != id.PrivateKey.PublicKey() || id.PrivateKey.IsZero() {
		t.Fatal("bad key pair")
	}
	assertNoSecrets(t, id.String(), id.PrivateKey)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable file: %v", err)
	}
	os.Chmod(path, 0o600)
	other, _ := NewIdentity()
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), id.PublicKey.String(), other.PublicKey.String(), 1)
	os.WriteFile(path, []byte(bad), 0o600)
	if _, err := LoadOrCreateIdentity(path); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched key: %v", err)
	}
	if err != nil {
		assertNoSecrets(t, err.Error(), id.PrivateKey)
	}
}

func TestPeerStatusHealth(t *testing.T) {
	now := time.Now()
	ep := PeerStatus{Endpoint: mustAddrPort("192.0.2.1:51820")}
	if h := ep.Health(now); h != HealthDown {
		t.Fatalf("no handshake: %s", h)
	}
	ep.LastHandshake = now.Add(-time.Minute)
	if h := ep.Health(now); h != HealthUp {
		t.Fatalf("recent handshake: %s", h)
	}
	if h := (PeerStatus{}).Health(now); h != HealthUnknown {
		t.Fatalf("no endpoint: %s", h)
	}
}
