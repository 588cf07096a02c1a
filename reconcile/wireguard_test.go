package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/wireguard"
)

func wgKeys(t *testing.T) (wireguard.PrivateKey, wireguard.Key) {
	t.Helper()
	k, err := wireguard.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := wireguard.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, p.PublicKey()
}

func TestDecodeWireGuard(t *testing.T) {
	k, peer := wgKeys(t)
	doc := fmt.Sprintf("wireguard:\n  - name: wg0\n    privateKey: %s\n    listenPort: 51820\n    peers:\n      - publicKey: %s\n        allowedIPs: [10.0.0.2/32]\n", k.Reveal(), peer)
	d, err := Decode(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(d.WireGuard) != 1 || d.WireGuard[0].PrivateKey != k || d.WireGuard[0].ListenPort != 51820 ||
		len(d.WireGuard[0].Peers) != 1 || d.WireGuard[0].Peers[0].PublicKey != peer {
		t.Fatalf("decoded %+v", d.WireGuard)
	}

	for _, tc := range []struct{ doc, want string }{
		{strings.Replace(doc, "listenPort", "port", 1), "port"},
		{strings.Replace(doc, "51820", "70000", 1), "wireguard[0]: wireguard: wg0: listenPort"},
		{strings.Replace(doc, k.Reveal(), "(hidden)", 1), "redacted"},
		{strings.Replace(doc, k.Reveal(), "c2hvcnQ=", 1), "private key"},
		{doc + "  - name: wg0\n    privateKey: " + k.Reveal() + "\n", "wireguard[1].name: wg0 is also wireguard[0]"},
		{"links:\n  - {name: wg0, mtu: 1400}\n" + doc, "wireguard[0].name: wg0 is also links[0]"},
	} {
		d, err := Decode(strings.NewReader(tc.doc))
		if err == nil {
			err = d.Validate()
		}
		if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want ErrInvalidSpec mentioning %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), k.Reveal()) {
			t.Errorf("error shows the private key: %v", err)
		}
	}
}
