package wireguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// startSpec is a device on port 51820 with one peer that has a persistent
// keepalive, so the device sends a handshake as soon as it runs.
func startSpec(t *testing.T) Spec {
	return Spec{Name: uniqueName(t), PrivateKey: mustKey(t), ListenPort: 51820, Peers: []PeerSpec{{
		PublicKey: mustKey(t).PublicKey(), Endpoint: "192.0.2.2:51820",
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.99.0.2/32")}, PersistentKeepalive: 25,
	}}}
}

// listenUDP binds 0.0.0.0:port inside n.
func listenUDP(n *nstest.NS, port int) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	})
	return c, err
}

// TestUserspaceRunningWhenApplyReturns: wireguard-go starts a device (binds
// its port, starts its peers, sends their first handshakes) by itself when
// its TUN reports up, on a goroutine of its own, at a moment of its own.
// Apply must not return before the device runs: a device that does not
// answer for a while after Apply loses the handshakes sent to it, and
// devices applied one after the other start together and send each other
// crossing handshake initiations, which WireGuard resolves only by a retry
// 5 s later.
func TestUserspaceRunningWhenApplyReturns(t *testing.T) {
	for i := range 5 {
		n := nstest.New(t)
		d, _, err := Apply(context.Background(), n.Namespace, startSpec(t), WithBackend(BackendUserspace))
		if err != nil {
			t.Fatal(err)
		}
		c, err := listenUDP(n, 51820)
		d.Close()
		if err == nil {
			c.Close()
			t.Fatalf("run %d: port 51820 still free when Apply returned: the device is not running yet", i)
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

// TestUserspacePortInUse: a listen port in use is an error of Apply,
// whenever wireguard-go's own start comes; not a device that does not run,
// or runs on a random port.
func TestUserspacePortInUse(t *testing.T) {
	n := nstest.New(t)
	c, err := listenUDP(n, 51820)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := startSpec(t)
	ctx := context.Background()
	d, _, err := Apply(ctx, n.Namespace, s, WithBackend(BackendUserspace))
	if err == nil {
		d.Close()
		t.Fatal("Apply succeeded with port 51820 taken")
	}
	if !strings.Contains(err.Error(), s.Name) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("error %v: want the device name and EADDRINUSE", err)
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		if got := strings.Join(linkNames(t, n), " "); strings.Contains(got, s.Name) {
			return errors.New("failed Apply left its link: " + got)
		}
		return nil
	})
	// Once the port is free, the same Apply works.
	c.Close()
	d, _, err = Apply(ctx, n.Namespace, s, WithBackend(BackendUserspace))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if st, err := d.Status(ctx); err != nil || st.ListenPort != 51820 {
		t.Fatalf("status: port %d, %v", st.ListenPort, err)
	}
	var writes int64
	if plan, err := d.Apply(ctx, s, netprim.WithWriteCounter(&writes)); err != nil || writes != 0 || !plan.Empty() {
		t.Fatalf("second apply: %d writes, %v, %v", writes, plan, err)
	}
}
