//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/wireguard"
)

// TestWireGuard runs netd on an interface with Talos' wireguard section
// (privateKey, listenPort, a peer with publicKey, endpoint, allowedIPs and
// persistentKeepaliveInterval) and an address. netd hosts the device
// (wireguard-go on a TUN link when the kernel lacks wireguard); wg(8),
// run in the namespace, shows its key, port and peer; a peer device in
// another namespace completes a handshake and answers ping through the
// tunnel; SIGTERM ends netd with status 0 and, for a userspace device,
// the device and its UAPI socket go with the process.
func TestWireGuard(t *testing.T) {
	needRoot(t)
	wgTool := lookTool(t, "wg", "wireguard-tools")
	node, peer := nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "eth0", peer, "eth0")
	peer.Run(t, "ip", "addr", "add", "10.1.0.2/24", "dev", "eth0")

	// The device name is unique on the host: userspace devices' UAPI
	// sockets share /var/run/wireguard.
	dev, peerDev := uniqueName(t, "wgnd"), uniqueName(t, "wgpr")
	nodeKey, peerKey := wgKey(t, wgTool), wgKey(t, wgTool)
	nodePub, peerPub := wgPub(t, wgTool, nodeKey), wgPub(t, wgTool, peerKey)
	cfg := writeConfig(t, fmt.Sprintf(`version: v1alpha1
machine:
  network:
    interfaces:
      - interface: eth0
        addresses:
          - 10.1.0.1/24
      - interface: %s
        mtu: 1400
        addresses:
          - 10.99.0.1/24
        wireguard:
          privateKey: %s
          listenPort: 51820
          peers:
            - publicKey: %s
              endpoint: 10.1.0.2:51821
              allowedIPs:
                - 10.99.0.2/32
              persistentKeepaliveInterval: 5s
`, dev, nodeKey, peerPub))
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
	p.waitLine("netd: keeping", 30*time.Second)

	var links []struct {
		MTU      int `json:"mtu"`
		LinkInfo struct {
			Kind string `json:"info_kind"`
		} `json:"linkinfo"`
	}
	node.IPJSON(t, &links, "-d", "link", "show", "dev", dev)
	if len(links) != 1 || links[0].MTU != 1400 {
		t.Fatalf("ip -d link show %s: %+v, want one link with mtu 1400", dev, links)
	}
	kind := links[0].LinkInfo.Kind
	t.Logf("%s is a %s link (%s)", dev, kind, map[string]string{"wireguard": "kernel module", "tun": "wireguard-go in netd"}[kind])
	if _, ok := findAddr(globalAddrs(t, node, dev), "10.99.0.1"); !ok {
		t.Errorf("10.99.0.1 not on %s: %v", dev, globalAddrs(t, node, dev))
	}

	wantPeer := fmt.Sprintf("%s\t(none)\t10.1.0.2:51821\t10.99.0.2/32\t", peerPub)
	dump, err := node.Exec(wgTool, "show", dev, "dump")
	if err != nil {
		// wg finds a userspace device by its socket
		// /var/run/wireguard/NAME.sock, which netd opens
		// (wireguard.WithUAPISocket); without it wg has nothing to ask.
		t.Errorf("wg show %s dump: %v (socket %s: %v)", dev, err, filepath.Join(wireguard.SocketDir, dev+".sock"), statErr(filepath.Join(wireguard.SocketDir, dev+".sock")))
	} else {
		lines := strings.Split(strings.TrimSpace(string(dump)), "\n")
		if want := fmt.Sprintf("%s\t%s\t51820\toff", nodeKey, nodePub); len(lines) != 2 || lines[0] != want ||
			!strings.HasPrefix(lines[1], wantPeer) || !strings.HasSuffix(lines[1], "\t5") {
			t.Errorf("wg show %s dump:\n%s\nwant the device line %q and the peer line %q...\\t5", dev, dump, want, wantPeer)
		}
	}

	// A peer device, hosted by this test in the peer namespace, with the
	// node as its peer: ping through the tunnel.
	ctx := context.Background()
	pk, err := wireguard.ParsePrivateKey(peerKey)
	if err != nil {
		t.Fatal(err)
	}
	np, err := wireguard.ParseKey(nodePub)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := wireguard.Apply(ctx, peer.Namespace, wireguard.Spec{Name: peerDev, PrivateKey: pk, ListenPort: 51821,
		Peers: []wireguard.PeerSpec{{PublicKey: np, Endpoint: "10.1.0.1:51820", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.99.0.1/32")}}}})
	if err != nil {
		t.Fatalf("peer device: %v", err)
	}
	t.Cleanup(func() { d.Delete(ctx); d.Close() })
	peer.Run(t, "ip", "addr", "add", "10.99.0.2/24", "dev", peerDev)
	nstest.Eventually(t, 20*time.Second, func() error {
		_, err := peer.Exec("ping", "-c", "1", "-W", "1", "10.99.0.1")
		return err
	})
	if dump, err := node.Exec(wgTool, "show", dev, "latest-handshakes"); err == nil {
		if f := strings.Fields(string(dump)); len(f) != 2 || f[0] != peerPub || f[1] == "0" {
			t.Errorf("wg show %s latest-handshakes: %q, want a handshake with %s", dev, dump, peerPub)
		}
	}

	code, took := p.stop(syscall.SIGTERM)
	if code != 0 {
		t.Errorf("SIGTERM: exit status %d after %v\n%s", code, took, p.stderr())
	}
	if kind == "tun" {
		if node.HasLink(t, dev) {
			t.Errorf("the userspace device %s outlived netd", dev)
		}
		if err := statErr(filepath.Join(wireguard.SocketDir, dev+".sock")); err == nil {
			t.Errorf("netd left its UAPI socket %s behind", filepath.Join(wireguard.SocketDir, dev+".sock"))
		}
	}
}

// lookTool returns the path of a command the test needs, or skips naming
// the Debian package.
func lookTool(t testing.TB, name, pkg string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/bin/", "/usr/sbin/", "/sbin/"} {
		if dir == "" {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
			continue
		}
		if _, err := os.Stat(dir + name); err == nil {
			return dir + name
		}
	}
	t.Skipf("needs %s (Debian package %s)", name, pkg)
	return ""
}

// uniqueName is prefix and 8 random hex digits: a link name (at most 15
// bytes) no other test on the host uses.
func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// wgKey is a new private key from "wg genkey".
func wgKey(t testing.TB, wg string) string {
	t.Helper()
	out, err := exec.Command(wg, "genkey").Output()
	if err != nil {
		t.Fatalf("wg genkey: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// wgPub is the public key of a private key from "wg pubkey".
func wgPub(t testing.TB, wg, key string) string {
	t.Helper()
	cmd := exec.Command(wg, "pubkey")
	cmd.Stdin = strings.NewReader(key + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wg pubkey: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}
