package wireguard

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/netprim/netprim/nstest"
)

// TestListServedUserspace: List reports a userspace device served on its
// UAPI socket, with backend userspace and public keys only, and leaves out
// a userspace device hosted without a socket (it is read through its
// Device) and a plain TUN link.
func TestListServedUserspace(t *testing.T) {
	if !uapiWritable() {
		t.Skip("cannot create UAPI sockets in " + SocketDir + " (not the host's root)")
	}
	ctx := context.Background()
	n := nstest.New(t)
	peer := mustKey(t).PublicKey()
	served := Spec{Name: uniqueName(t), PrivateKey: mustKey(t), ListenPort: 51820,
		Peers: []PeerSpec{{PublicKey: peer, Endpoint: "127.0.0.1:51821", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.98.0.2/32")}}}}
	d, _, err := Apply(ctx, n.Namespace, served, WithBackend(BackendUserspace), WithUAPISocket())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	quiet := Spec{Name: uniqueName(t), PrivateKey: mustKey(t)}
	q, _, err := Apply(ctx, n.Namespace, quiet, WithBackend(BackendUserspace))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	n.Run(t, "ip", "tuntap", "add", "dev", "tunplain0", "mode", "tun")

	ls, err := List(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("List: %d devices, want only %s: %+v", len(ls), served.Name, ls)
	}
	st := ls[0]
	if st.Name != served.Name || st.Backend != BackendUserspace || st.PublicKey != served.PrivateKey.PublicKey() ||
		st.ListenPort != 51820 || st.MTU != DefaultMTU || !st.Up || len(st.Peers) != 1 || st.Peers[0].PublicKey != peer ||
		st.Peers[0].Endpoint.String() != "127.0.0.1:51821" {
		t.Errorf("List: %+v", st)
	}
	if own, err := d.Status(ctx); err != nil || own.PublicKey != st.PublicKey || len(own.Peers) != len(st.Peers) {
		t.Errorf("Device.Status %+v (%v) differs from List %+v", own, err, st)
	}
	if js, err := json.Marshal(ls); err != nil || strings.Contains(string(js), served.PrivateKey.Reveal()) {
		t.Errorf("List as JSON (%v) shows the private key: %s", err, js)
	}
	d.Close()
	if ls, err := List(ctx, n.Namespace); err != nil || len(ls) != 0 {
		t.Errorf("List after Close: %+v, %v", ls, err)
	}
}
