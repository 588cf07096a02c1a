package ethtool

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// TestQueryInNamespace reads a veth made in a fresh namespace: the socket
// must live there, or the device would not be found.
func TestQueryInNamespace(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "q1", "type", "veth", "peer", "name", "q2")
	n.Run(t, "ip", "link", "set", "q1", "up")
	c, err := Open(n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 { // the second query reuses the link-mode handshake
		info, err := c.Query("q1")
		if err != nil {
			t.Fatal(err)
		}
		// drivers/net/veth.c: driver "veth", 10000 Mb/s, full duplex.
		if info != (Info{Driver: "veth", Speed: 10000, Duplex: "full"}) {
			t.Errorf("Query(q1) = %+v", info)
		}
	}
	if info, err := c.Query("lo"); err != nil || info.Speed != 0 {
		t.Errorf("Query(lo) = %+v, %v", info, err)
	}
	if _, err := c.Query("nosuch0"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("Query(nosuch0) error %v, want ENODEV", err)
	}
}
