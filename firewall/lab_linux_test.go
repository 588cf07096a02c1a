package firewall

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// lab is a server namespace S and a client namespace C joined by two veth
// pairs:
//
//	C vc1 10.1.0.2, 10.1.0.99, fd01::2, fd01::99  <->  S vs1 10.1.0.1, fd01::1
//	C vc2 10.2.0.2, fd02::2                        <->  S vs2 10.2.0.1, fd02::1
//
// S listens on tcpPorts and udpPorts (echo servers, both families).
type lab struct {
	S, C *nstest.NS
}

var (
	tcpPorts = []int{22, 80, 443, 6443, 8080, 8443, 30080}
	udpPorts = []int{53, 5353, 30080}
)

// requireNftables skips when the kernel cannot create an inet table.
func requireNftables(t testing.TB, n *nstest.NS) {
	t.Helper()
	if _, err := n.Exec("nft", "add table inet nfprobe"); err != nil {
		if nstest.InKernelTier() {
			t.Skipf("the kernel tier (User-Mode Linux) lacks nftables inet tables; firewall tests run on the host kernel tier: %v", err)
		}
		t.Skipf("kernel or nft tool lacks nftables inet tables (CONFIG_NF_TABLES_INET, package nftables): %v", err)
	}
	n.Run(t, "nft", "delete table inet nfprobe")
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{S: nstest.New(t), C: nstest.New(t)}
	requireNftables(t, l.S)
	// No duplicate address detection on the links' link-local addresses:
	// the lab waits for the kernel to bring the links up (below), not for
	// that.
	for _, n := range []*nstest.NS{l.S, l.C} {
		err := n.Do(func() error {
			for _, conf := range []string{"all", "default"} {
				if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+conf+"/accept_dad", []byte("0\n"), 0o644); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("accept_dad: %v", err)
		}
	}
	nstest.Veth(t, l.C, "vc1", l.S, "vs1")
	nstest.Veth(t, l.C, "vc2", l.S, "vs2")
	for _, a := range [][]string{
		{"S", "vs1", "10.1.0.1/24"}, {"S", "vs1", "fd01::1/64"}, {"S", "vs2", "10.2.0.1/24"}, {"S", "vs2", "fd02::1/64"},
		{"C", "vc1", "10.1.0.2/24"}, {"C", "vc1", "10.1.0.99/24"}, {"C", "vc1", "fd01::2/64"}, {"C", "vc1", "fd01::99/64"},
		{"C", "vc2", "10.2.0.2/24"}, {"C", "vc2", "fd02::2/64"},
	} {
		n := l.S
		if a[0] == "C" {
			n = l.C
		}
		args := []string{"addr", "add", a[2], "dev", a[1]}
		if strings.Contains(a[2], ":") {
			args = append(args, "nodad")
		}
		n.Run(t, "ip", args...)
	}
	l.S.Run(t, "ip", "link", "set", "lo", "up")
	l.C.Run(t, "ip", "link", "set", "lo", "up")
	// A probe that gets no answer within probeWait counts as dropped:
	// wait until the kernel has brought the links fully up (their
	// queueing discipline is attached by the link watch, and an IPv6
	// address, even with nodad, is local only once its local route is
	// in).
	nstest.Settle(t, l.S)
	nstest.Settle(t, l.C)
	var closers []io.Closer
	t.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
	})
	err := l.S.Do(func() error {
		for _, p := range tcpPorts {
			ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
			if err != nil {
				return err
			}
			closers = append(closers, ln)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { io.Copy(c, c); c.Close() }()
				}
			}()
		}
		for _, p := range udpPorts {
			pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
			if err != nil {
				return err
			}
			closers = append(closers, pc)
			go func() {
				buf := make([]byte, 1500)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(buf[:n], from)
				}
			}()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Outcomes of a probe.
const (
	accepted = "accept"
	rejected = "reject"
	dropped  = "drop"
)

// probeWait is how long a probe waits for an answer before it counts the
// packet as dropped (a classification, not a timing assertion).
const probeWait = 400 * time.Millisecond

func classify(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return accepted
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return rejected
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return dropped
	}
	return "error: " + err.Error()
}

// probe connects from src (an address of C) to dst:port (an address of S)
// with proto tcp, udp or icmp (ping) and reports what the firewall did.
func (l *lab) probe(t *testing.T, proto string, src, dst string, port int) string {
	t.Helper()
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	if proto == "icmp" {
		_, err := l.C.Exec("ping", "-c1", "-W1", "-n", "-I", src, dst)
		if err != nil {
			return dropped
		}
		return accepted
	}
	var result string
	err := l.C.Do(func() error {
		target := netip.AddrPortFrom(d, uint16(port)).String()
		var c net.Conn
		var err error
		if proto == "tcp" {
			dl := net.Dialer{Timeout: probeWait, LocalAddr: &net.TCPAddr{IP: s.AsSlice()}}
			c, err = dl.Dial("tcp", target)
		} else {
			dl := net.Dialer{LocalAddr: &net.UDPAddr{IP: s.AsSlice()}}
			c, err = dl.Dial("udp", target)
		}
		if err != nil {
			result = classify(err)
			return nil
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(probeWait))
		if _, err := c.Write([]byte("ping")); err != nil {
			result = classify(err)
			return nil
		}
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) != "ping" {
			err = fmt.Errorf("echo returned %q", buf[:n])
		}
		result = classify(err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return result
}

type probeCase struct {
	proto    string
	src, dst string
	port     int
	want     string
}

func (l *lab) check(t *testing.T, cases []probeCase) {
	t.Helper()
	for _, c := range cases {
		if got := l.probe(t, c.proto, c.src, c.dst, c.port); got != c.want {
			t.Errorf("%s %s -> [%s]:%d: got %s, want %s", c.proto, c.src, c.dst, c.port, got, c.want)
		}
	}
}
