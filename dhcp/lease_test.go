package dhcp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/dhcp"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/route"
)

var equateNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func ip4(s string) []byte { return net.ParseIP(s).To4() }

// ack builds a DHCPACK for 10.0.0.10 from 10.0.0.1 with a /24, a one hour
// lease and the given options on top (a nil value deletes an option).
func ack(yiaddr string, opts map[uint8][]byte) *dhcpv4.DHCPv4 {
	m, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck), dhcpv4.WithYourIP(net.ParseIP(yiaddr)))
	m.Options[1] = ip4("255.255.255.0")
	m.Options[54] = ip4("10.0.0.1")
	m.Options[51] = u32(3600)
	for k, v := range opts {
		if v == nil {
			delete(m.Options, k)
			continue
		}
		m.Options[k] = v
	}
	return m
}

// classless encodes option 121 routes "a.b.c.d/n gw".
func classless(routes ...string) []byte {
	var b []byte
	for _, r := range routes {
		dst, gw, _ := strings.Cut(r, " ")
		p := netip.MustParsePrefix(dst)
		b = append(b, byte(p.Bits()))
		a := p.Addr().As4()
		b = append(b, a[:(p.Bits()+7)/8]...)
		b = append(b, ip4(gw)...)
	}
	return b
}

func TestParseAckRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		yiaddr string
		opts   map[uint8][]byte
		field  string
	}{
		{"unspecified address", "0.0.0.0", nil, "yiaddr"},
		{"limited broadcast", "255.255.255.255", nil, "yiaddr"},
		{"subnet broadcast", "10.0.0.255", nil, "yiaddr"},
		{"network address", "10.0.0.0", nil, "yiaddr"},
		{"multicast", "224.0.0.5", nil, "yiaddr"},
		{"loopback", "127.0.0.2", nil, "yiaddr"},
		{"lease time 0", "10.0.0.10", map[uint8][]byte{51: u32(0)}, "option 51 (lease time)"},
		{"no lease time", "10.0.0.10", map[uint8][]byte{51: nil}, "option 51 (lease time)"},
		{"short lease time", "10.0.0.10", map[uint8][]byte{51: {1, 2}}, "option 51 (lease time)"},
		{"no server id", "10.0.0.10", map[uint8][]byte{54: nil}, "option 54 (server identifier)"},
		{"broadcast server id", "10.0.0.10", map[uint8][]byte{54: ip4("255.255.255.255")}, "option 54 (server identifier)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, err := dhcp.ParseAck("eth0", ack(tc.yiaddr, tc.opts), time.Now())
			if err == nil || l != nil {
				t.Fatalf("accepted: %+v", l)
			}
			var oe *dhcp.OptionError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.field) || !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("error %q does not name %q (or is not an ErrInvalidSpec OptionError)", err, tc.field)
			}
		})
	}
}

func TestParseAckDropped(t *testing.T) {
	many := make([]string, 65)
	for i := range many {
		many[i] = "192.0." + strconv.Itoa(i) + ".0/24 10.0.0.1"
	}
	for _, tc := range []struct {
		name    string
		opts    map[uint8][]byte
		dropped string // the OptionError's text contains it
		check   func(t *testing.T, l *dhcp.Lease)
	}{
		{"router outside the subnet", map[uint8][]byte{3: ip4("192.168.9.1")}, "option 3 (router)",
			func(t *testing.T, l *dhcp.Lease) {
				if len(l.Routers) != 0 {
					t.Errorf("routers %v", l.Routers)
				}
			}},
		{"router is the leased address", map[uint8][]byte{3: ip4("10.0.0.10")}, "option 3 (router)", nil},
		{"mask /0", map[uint8][]byte{1: ip4("0.0.0.0")}, "option 1 (subnet mask)",
			func(t *testing.T, l *dhcp.Lease) {
				if l.Address.Bits() != 8 {
					t.Errorf("address %s: want the classful /8", l.Address)
				}
			}},
		{"mask /32", map[uint8][]byte{1: ip4("255.255.255.255")}, "option 1 (subnet mask)", nil},
		{"mask not contiguous", map[uint8][]byte{1: ip4("255.0.255.0")}, "option 1 (subnet mask)", nil},
		{"65 static routes", map[uint8][]byte{121: classless(many...), 3: ip4("10.0.0.1")}, "option 121 (classless static routes)",
			func(t *testing.T, l *dhcp.Lease) {
				if len(l.Routes) != 0 || len(l.Routers) != 1 {
					t.Errorf("routes %v routers %v: want the router option instead", l.Routes, l.Routers)
				}
			}},
		{"truncated static route", map[uint8][]byte{121: classless("192.0.2.0/24 10.0.0.1")[:6]}, "option 121", nil},
		{"static route prefix 33", map[uint8][]byte{121: {33, 1, 2, 3, 4, 5, 10, 0, 0, 1}}, "option 121", nil},
		{"MTU of 3 bytes", map[uint8][]byte{26: {5, 220, 0}}, "option 26 (interface MTU)", nil},
		{"MTU 20", map[uint8][]byte{26: {0, 20}}, "option 26 (interface MTU)", nil},
		{"MTU 575", map[uint8][]byte{26: {2, 63}}, "option 26 (interface MTU): invalid spec: 575 is below the minimum 576",
			func(t *testing.T, l *dhcp.Lease) {
				if l.MTU != 0 || len(l.Specs(dhcp.SpecOptions{}).Links) != 0 {
					t.Errorf("MTU %d, links %v: want none", l.MTU, l.Specs(dhcp.SpecOptions{}).Links)
				}
			}},
		{"DNS of 5 bytes", map[uint8][]byte{6: {10, 0, 0, 53, 1}}, "option 6 (domain name server)",
			func(t *testing.T, l *dhcp.Lease) {
				if len(l.DNS) != 0 {
					t.Errorf("dns %v", l.DNS)
				}
			}},
		{"DNS broadcast entry", map[uint8][]byte{6: append(ip4("10.0.0.53"), ip4("255.255.255.255")...)}, "option 6 (domain name server)",
			func(t *testing.T, l *dhcp.Lease) {
				if len(l.DNS) != 1 {
					t.Errorf("dns %v: want the good entry kept", l.DNS)
				}
			}},
		{"domain with a space", map[uint8][]byte{15: []byte("bad domain")}, "option 15 (domain name)", nil},
		{"search list pointer loop", map[uint8][]byte{119: {0xc0, 0x00}}, "option 119 (domain search)", nil},
		{"hostname too long", map[uint8][]byte{12: bytes.Repeat([]byte("a"), 64)}, "option 12 (host name)", nil},
		{"T1 after T2", map[uint8][]byte{58: u32(3000), 59: u32(2000)}, "option 58 (renewal time)",
			func(t *testing.T, l *dhcp.Lease) {
				if l.T1 >= l.T2 || l.T2 != 2000*time.Second {
					t.Errorf("T1 %v T2 %v", l.T1, l.T2)
				}
			}},
		{"T2 beyond the lease", map[uint8][]byte{59: u32(4000)}, "option 59 (rebinding time)", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dropped, err := dhcp.ParseAck("eth0", ack("10.0.0.10", tc.opts), time.Now())
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var found bool
			for _, d := range dropped {
				if strings.Contains(d.Error(), tc.dropped) {
					found = true
				}
			}
			if !found {
				t.Errorf("dropped %v, want one naming %q", dropped, tc.dropped)
			}
			if tc.check != nil {
				tc.check(t, l)
			}
			checkSpecs(t, l)
		})
	}
}

// TestSpecs checks the specs of a lease with every option.
func TestSpecs(t *testing.T) {
	now := time.Now()
	m := ack("10.0.0.10", map[uint8][]byte{
		3:   ip4("10.0.0.1"), // ignored: 121 is present
		6:   append(ip4("10.0.0.53"), ip4("10.0.0.54")...),
		12:  []byte("node1"),
		15:  []byte("corp.example"),
		26:  {5, 120},
		42:  ip4("10.0.0.123"),
		121: classless("0.0.0.0/0 10.0.0.2", "192.0.2.0/24 10.9.9.9", "198.51.100.0/25 0.0.0.0"),
	})
	l, dropped, err := dhcp.ParseAck("eth0", m, now)
	if err != nil || len(dropped) > 0 {
		t.Fatal(err, dropped)
	}
	got := l.Specs(dhcp.SpecOptions{RouteMetric: 50, RouteTable: 100, Hostname: true})
	want := dhcp.Specs{
		Links: []link.Spec{{Name: "eth0", MTU: 1400}},
		// The address ends with the lease: its absolute expiry.
		Addresses: []addr.Spec{{Link: "eth0", Address: netip.MustParsePrefix("10.0.0.10/24"),
			Broadcast: netip.MustParseAddr("10.0.0.255"), ValidUntil: now.Add(time.Hour)}},
		Routes: []route.Spec{
			{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.2"), Link: "eth0", Metric: 50, Table: 100},
			{Destination: netip.MustParsePrefix("10.9.9.9/32"), Link: "eth0", Metric: 50, Table: 100, Scope: route.ScopeLink},
			{Destination: netip.MustParsePrefix("192.0.2.0/24"), Gateway: netip.MustParseAddr("10.9.9.9"), Link: "eth0", Metric: 50, Table: 100, OnLink: true},
			{Destination: netip.MustParsePrefix("198.51.100.0/25"), Link: "eth0", Metric: 50, Table: 100, Scope: route.ScopeLink},
		},
	}
	if d := cmp.Diff(want.Links, got.Links); d != "" {
		t.Errorf("links (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Addresses, got.Addresses, equateNetip); d != "" {
		t.Errorf("addresses (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Routes, got.Routes, equateNetip); d != "" {
		t.Errorf("routes (-want +got):\n%s", d)
	}
	if got.Resolvers == nil || len(got.Resolvers.Nameservers) != 2 || !cmp.Equal(got.Resolvers.SearchDomains, []string{"corp.example"}) {
		t.Errorf("resolvers %+v", got.Resolvers)
	}
	if got.Hostname == nil || got.Hostname.Hostname != "node1" || got.Hostname.Domainname != "corp.example" {
		t.Errorf("hostname %+v", got.Hostname)
	}
	if len(l.NTP) != 1 || len(l.Routers) != 0 {
		t.Errorf("ntp %v routers %v", l.NTP, l.Routers)
	}
	if !got.Equal(l.Specs(dhcp.SpecOptions{RouteMetric: 50, RouteTable: 100, Hostname: true})) {
		t.Errorf("Specs.Equal is false for the same lease")
	}
	// The same lease renewed a minute later ends a minute later: its
	// specs differ (so a source set with them runs a pass).
	renewed, _, _ := dhcp.ParseAck("eth0", m, now.Add(time.Minute))
	if rs := renewed.Specs(dhcp.SpecOptions{RouteMetric: 50, RouteTable: 100, Hostname: true}); rs.Equal(got) ||
		!rs.Addresses[0].ValidUntil.Equal(now.Add(time.Hour+time.Minute)) {
		t.Errorf("renewed: Specs.Equal is true or the end did not move: %+v", rs.Addresses)
	}
	checkSpecs(t, l)

	// Without 121: one default route via the first router, metric
	// DefaultRouteMetric.
	l, _, _ = dhcp.ParseAck("eth0", ack("10.0.0.10", map[uint8][]byte{3: append(ip4("10.0.0.1"), ip4("10.0.0.2")...)}), now)
	rs := l.Specs(dhcp.SpecOptions{}).Routes
	if len(rs) != 1 || rs[0].Gateway != netip.MustParseAddr("10.0.0.1") || rs[0].Metric != dhcp.DefaultRouteMetric {
		t.Errorf("routes %+v", rs)
	}
	// The smallest MTU taken: 576 (it disables IPv6 on the link, but is
	// applied).
	l, dropped, _ = dhcp.ParseAck("eth0", ack("10.0.0.10", map[uint8][]byte{26: {2, 64}}), now)
	if ls := l.Specs(dhcp.SpecOptions{}).Links; len(dropped) != 0 || len(ls) != 1 || ls[0].MTU != 576 {
		t.Errorf("MTU 576: links %+v, dropped %v", ls, dropped)
	}
	// An infinite lease: lifetimes forever.
	l, _, _ = dhcp.ParseAck("eth0", ack("10.0.0.10", map[uint8][]byte{51: u32(0xffffffff)}), now)
	if a := l.Specs(dhcp.SpecOptions{}).Addresses[0]; a.ValidLifetime != 0 || !a.ValidUntil.IsZero() || !l.Expiry().IsZero() {
		t.Errorf("infinite lease: %+v, expiry %v", a, l.Expiry())
	}
}

// TestSpecs6 checks the address of a DHCPv6 lease: a /128 whose valid and
// preferred lifetimes end when the IA address's do.
func TestSpecs6(t *testing.T) {
	now := time.Now()
	l := &dhcp.Lease6{Link: "eth0", Address: netip.MustParseAddr("2001:db8::7"), ValidLifetime: 2 * time.Hour,
		PreferredLifetime: time.Hour, BoundAt: now, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}}
	for _, tc := range []struct {
		name             string
		valid, preferred time.Duration
		want             addr.Spec
	}{
		{"lifetimes", 2 * time.Hour, time.Hour,
			addr.Spec{Link: "eth0", Address: netip.MustParsePrefix("2001:db8::7/128"), ValidUntil: now.Add(2 * time.Hour), PreferredUntil: now.Add(time.Hour)}},
		// Deprecated at once: the preferred lifetime ended when bound.
		{"preferred 0", time.Hour, 0,
			addr.Spec{Link: "eth0", Address: netip.MustParsePrefix("2001:db8::7/128"), ValidUntil: now.Add(time.Hour), PreferredUntil: now}},
		{"infinite", dhcp.InfiniteLease, dhcp.InfiniteLease,
			addr.Spec{Link: "eth0", Address: netip.MustParsePrefix("2001:db8::7/128")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.ValidLifetime, l.PreferredLifetime = tc.valid, tc.preferred
			s := l.Specs(dhcp.SpecOptions{})
			if d := cmp.Diff([]addr.Spec{tc.want}, s.Addresses, equateNetip); d != "" {
				t.Errorf("addresses (-want +got):\n%s", d)
			}
			if err := addr.Validate(s.Addresses); err != nil {
				t.Error(err)
			}
			if s.Resolvers == nil || len(s.Resolvers.Nameservers) != 1 {
				t.Errorf("resolvers %+v", s.Resolvers)
			}
		})
	}
}

// checkSpecs fails t unless every spec made from l is valid for its
// package.
func checkSpecs(t testing.TB, l *dhcp.Lease) {
	t.Helper()
	s := l.Specs(dhcp.SpecOptions{Hostname: true})
	if err := addr.Validate(s.Addresses); err != nil {
		t.Errorf("addresses: %v", err)
	}
	if err := route.Validate(s.Routes); err != nil {
		t.Errorf("routes: %v", err)
	}
	if err := link.Validate(s.Links); err != nil {
		t.Errorf("links: %v", err)
	}
	if s.Resolvers != nil {
		if err := s.Resolvers.Validate(); err != nil {
			t.Errorf("resolvers: %v", err)
		}
	}
	if s.Hostname != nil {
		if err := s.Hostname.Validate(); err != nil {
			t.Errorf("hostname: %v", err)
		}
	}
	for _, a := range s.Addresses {
		if a.ValidLifetime != 0 || a.PreferredLifetime != 0 || !a.ValidUntil.Equal(l.Expiry()) || !a.PreferredUntil.IsZero() {
			t.Errorf("address lifetimes %+v, want the lease's expiry %v as ValidUntil", a, l.Expiry())
		}
	}
}

// FuzzLeaseSpecs feeds arbitrary option bytes to ParseAck: a lease is
// refused, or every spec it implies is valid.
func FuzzLeaseSpecs(f *testing.F) {
	f.Add([]byte{10, 0, 0, 10}, ack("10.0.0.10", map[uint8][]byte{121: classless("0.0.0.0/0 10.0.0.2", "192.0.2.0/24 10.9.9.9"), 6: ip4("10.0.0.53"), 119: {1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}}).Options.ToBytes())
	f.Add([]byte{192, 168, 1, 255}, ack("10.0.0.10", map[uint8][]byte{1: ip4("255.255.255.254"), 3: ip4("192.168.1.1"), 26: {0, 68}, 12: []byte("x")}).Options.ToBytes())
	f.Add([]byte{10, 0, 0, 10}, []byte{51, 4, 0, 0, 0, 0, 54, 4, 10, 0, 0, 1, 255})
	f.Fuzz(func(t *testing.T, yiaddr, raw []byte) {
		opts := dhcpv4.Options{}
		if err := opts.FromBytes(raw); err != nil {
			return
		}
		m, _ := dhcpv4.New()
		if len(yiaddr) == 4 {
			m.YourIPAddr = net.IP(yiaddr)
		}
		m.Options = opts
		l, dropped, err := dhcp.ParseAck("eth0", m, time.Unix(1e9, 0))
		if err != nil {
			if l != nil || dropped != nil {
				t.Fatalf("refused with data: %v", err)
			}
			var oe *dhcp.OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("refusal %v is not an OptionError", err)
			}
			return
		}
		for _, d := range dropped {
			if d.Name == "" {
				t.Fatalf("dropped option without a name: %v", d)
			}
		}
		checkSpecs(t, l)
		if l.T1 <= 0 || l.T1 > l.T2 || (l.LeaseTime < dhcp.InfiniteLease && l.T2 >= l.LeaseTime) {
			t.Fatalf("timers T1 %v T2 %v lease %v", l.T1, l.T2, l.LeaseTime)
		}
		if len(l.Routes) > dhcp.MaxStaticRoutes || len(l.DNS) > dhcp.MaxServers {
			t.Fatalf("limits: %d routes %d dns", len(l.Routes), len(l.DNS))
		}
	})
}
