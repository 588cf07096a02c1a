package wireguard

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// TestPublicKeyMatchesWG checks key derivation against wg(8).
func TestPublicKeyMatchesWG(t *testing.T) {
	requireTool(t, "wg")
	for range 5 {
		k := mustKey(t)
		cmd := exec.Command("wg", "pubkey")
		cmd.Stdin = strings.NewReader(k.Reveal() + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != k.PublicKey().String() {
			t.Fatalf("wg pubkey %s, PublicKey %s", got, k.PublicKey())
		}
	}
}

func benchPeers(b *testing.B, n int) []PeerSpec {
	peers := make([]PeerSpec, n)
	for i := range peers {
		peers[i] = PeerSpec{
			PublicKey:  mustKey(b).PublicKey(),
			Endpoint:   fmt.Sprintf("192.0.2.%d:51820", 1+i%250),
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32)},
		}
	}
	return peers
}

func wgConf(s Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Interface]\nPrivateKey = %s\nListenPort = %d\n", s.PrivateKey.Reveal(), s.ListenPort)
	for _, p := range s.Peers {
		fmt.Fprintf(&b, "[Peer]\nPublicKey = %s\nEndpoint = %s\nAllowedIPs = %s\n", p.PublicKey, p.Endpoint, prefixList(p.AllowedIPs))
	}
	return b.String()
}

type benchDev struct {
	n    *nstest.NS
	dev  *Device
	spec Spec
	conf string
}

func newBenchDev(b *testing.B) *benchDev {
	if _, err := exec.LookPath("wg"); err != nil {
		b.Skip("wg not installed (apt-get install wireguard-tools): no anchor to compare with")
	}
	n := nstest.New(b)
	s := Spec{Name: uniqueName(b), PrivateKey: mustKey(b), ListenPort: 51820}
	d, _, err := Apply(context.Background(), n.Namespace, s, WithBackend(BackendUserspace), WithUAPISocket())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return &benchDev{n: n, dev: d, spec: s, conf: filepath.Join(b.TempDir(), "wg.conf")}
}

func (d *benchDev) apply(b *testing.B, s Spec, writes *int64) {
	if _, err := d.dev.Apply(context.Background(), s, netprim.WithWriteCounter(writes)); err != nil {
		b.Fatal(err)
	}
}

func (d *benchDev) setconf(b *testing.B, s Spec) {
	if err := os.WriteFile(d.conf, []byte(wgConf(s)), 0o600); err != nil {
		b.Fatal(err)
	}
	if out, err := d.n.Exec("wg", "setconf", s.Name, d.conf); err != nil {
		b.Fatalf("wg setconf: %v: %s", err, out)
	}
}

// BenchmarkApply1000Peers applies 1,000 peers to an empty device, against
// `wg setconf` of the same configuration on the same device.
func BenchmarkApply1000Peers(b *testing.B) {
	d := newBenchDev(b)
	full := d.spec
	full.Peers = benchPeers(b, 1000)
	var ours, theirs time.Duration
	var writes int64
	for b.Loop() {
		d.apply(b, d.spec, nil) // empty again
		t0 := time.Now()
		d.apply(b, full, &writes)
		ours += time.Since(t0)
		d.apply(b, d.spec, nil)
		t0 = time.Now()
		d.setconf(b, full)
		theirs += time.Since(t0)
	}
	report(b, ours, theirs, writes)
}

// BenchmarkApplyOnePeerChange changes one peer's endpoint on a device with
// 1,000 peers, against `wg setconf` of the whole changed configuration.
func BenchmarkApplyOnePeerChange(b *testing.B) {
	d := newBenchDev(b)
	s := d.spec
	s.Peers = benchPeers(b, 1000)
	d.apply(b, s, nil)
	var ours, theirs time.Duration
	var writes int64
	i := 0
	for b.Loop() {
		i++
		s.Peers[0].Endpoint = fmt.Sprintf("198.51.100.%d:51820", 1+i%2)
		t0 := time.Now()
		d.apply(b, s, &writes)
		ours += time.Since(t0)
		i++
		s.Peers[0].Endpoint = fmt.Sprintf("198.51.100.%d:51820", 1+i%2)
		t0 = time.Now()
		d.setconf(b, s)
		theirs += time.Since(t0)
		d.apply(b, s, nil) // the state setconf left, for the next round
	}
	report(b, ours, theirs, writes)
}

func report(b *testing.B, ours, theirs time.Duration, writes int64) {
	n := float64(b.N)
	b.ReportMetric(float64(ours.Microseconds())/1000/n, "netprim-ms/op")
	b.ReportMetric(float64(theirs.Microseconds())/1000/n, "wg-setconf-ms/op")
	b.ReportMetric(float64(theirs)/float64(ours), "speedup-vs-setconf")
	b.ReportMetric(float64(writes)/n, "writes/op")
}
