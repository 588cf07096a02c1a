package dhcp_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

// captured4 is one DHCP message to a server as it crossed the wire: its
// IP source and destination and the message's own fields.
type captured4 struct {
	Type     dhcpv4.MessageType
	Src, Dst netip.Addr // IP header
	CIAddr   netip.Addr
}

// capture records every UDP datagram to port 67 that link in n receives,
// read from the wire by an AF_PACKET socket (not through the server's
// socket), until the test ends.
type capture struct {
	mu   sync.Mutex
	msgs []captured4
}

func captureDHCP4(t testing.TB, n *nstest.NS, link string) *capture {
	t.Helper()
	var pc *packet.Conn
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(link)
		if err != nil {
			return err
		}
		pc, err = packet.Listen(ifi, packet.Datagram, unix.ETH_P_IP, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture on %s: %v", link, err)
	}
	c := &capture{}
	done := make(chan struct{})
	var closing atomic.Bool
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			k, _, err := pc.ReadFrom(buf)
			if closing.Load() {
				return
			}
			if err != nil {
				time.Sleep(10 * time.Millisecond) // the link went down
				continue
			}
			if m, ok := parseDHCP4(buf[:k]); ok {
				c.mu.Lock()
				c.msgs = append(c.msgs, m)
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		closing.Store(true)
		pc.Close()
		<-done
	})
	return c
}

func (c *capture) messages() []captured4 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// parseDHCP4 decodes an IPv4 packet carrying a DHCP message to port 67.
func parseDHCP4(b []byte) (captured4, bool) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 {
		return captured4{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl+8 || binary.BigEndian.Uint16(b[ihl+2:]) != 67 {
		return captured4{}, false
	}
	m, err := dhcpv4.FromBytes(b[ihl+8:])
	if err != nil {
		return captured4{}, false
	}
	ci, _ := netip.AddrFromSlice(m.ClientIPAddr.To4())
	return captured4{
		Type:   m.MessageType(),
		Src:    netip.AddrFrom4([4]byte(b[12:16])),
		Dst:    netip.AddrFrom4([4]byte(b[16:20])),
		CIAddr: ci,
	}, true
}
