package addr

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

var cmpNetip = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func TestValidate(t *testing.T) {
	a := netip.MustParseAddr
	base4 := Spec{Link: "veth0", Address: p("192.0.2.10/24")}
	base6 := Spec{Link: "veth0", Address: p("2001:db8::10/64")}
	with := func(s Spec, f func(*Spec)) Spec { f(&s); return s }
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		spec Spec
		want string // substring of the error; empty: valid
	}{
		{"ipv4", base4, ""},
		{"ipv6", base6, ""},
		{"all ipv4 fields", Spec{Link: "veth0", Address: p("192.0.2.10/24"), Scope: "link", Label: "veth0:x", Flags: []string{"noprefixroute"},
			ValidLifetime: time.Hour, PreferredLifetime: time.Minute, Broadcast: a("192.0.2.255"), AutoBroadcast: true, Metric: 10}, ""},
		{"all ipv6 fields", Spec{Link: "veth0", Address: p("2001:db8::10/64"), Scope: "global", Peer: a("2001:db8::1"),
			Flags: []string{"nodad", "noprefixroute", "homeaddress", "managetempaddr", "mngtmpaddr", "optimistic"}, ValidLifetime: time.Hour, Metric: 1}, ""},

		{"link missing", with(base4, func(s *Spec) { s.Link = "" }), "addr: link: invalid spec: missing"},
		{"link too long", with(base4, func(s *Spec) { s.Link = "abcdefghijklmnop" }), "link: invalid spec: \"abcdefghijklmnop\" is longer than 15"},
		{"link slash", with(base4, func(s *Spec) { s.Link = "a/b" }), "link: invalid spec"},
		{"link colon", with(base4, func(s *Spec) { s.Link = "eth0:1" }), "link: invalid spec"},
		{"link dot", with(base4, func(s *Spec) { s.Link = ".." }), "link: invalid spec"},

		{"address missing", with(base4, func(s *Spec) { s.Address = netip.Prefix{} }), "address: invalid spec: missing"},
		{"address unspecified", with(base4, func(s *Spec) { s.Address = p("0.0.0.0/0") }), "address: invalid spec: 0.0.0.0 is the unspecified"},
		{"address multicast", with(base6, func(s *Spec) { s.Address = p("ff02::1/64") }), "address: invalid spec: ff02::1 is a multicast"},
		{"address mapped", with(base6, func(s *Spec) { s.Address = p("::ffff:192.0.2.1/120") }), "address: invalid spec: ::ffff:192.0.2.1 is an IPv4-mapped"},
		{"address limited broadcast", with(base4, func(s *Spec) { s.Address = p("255.255.255.255/32") }), "address: invalid spec"},

		{"peer family", with(base4, func(s *Spec) { s.Peer = a("2001:db8::1") }), "peer: invalid spec: 2001:db8::1 is not in the address family"},
		{"peer multicast", with(base4, func(s *Spec) { s.Peer = a("224.0.0.1") }), "peer: invalid spec"},
		{"peer zone", with(base6, func(s *Spec) { s.Peer = a("fe80::1%eth0") }), "peer: invalid spec"},

		{"scope unknown", with(base4, func(s *Spec) { s.Scope = "galaxy" }), "scope: invalid spec: \"galaxy\" is not one of"},
		{"scope ipv6 fixed", with(base6, func(s *Spec) { s.Scope = "link" }), "scope: invalid spec: IPv6 scope is fixed"},
		{"scope ipv6 link-local", Spec{Link: "veth0", Address: p("fe80::5/64"), Scope: "link"}, ""},

		{"label ipv6", with(base6, func(s *Spec) { s.Label = "veth0" }), "label: invalid spec: IPv6 addresses have no label"},
		{"label other link", with(base4, func(s *Spec) { s.Label = "eth1:1" }), "label: invalid spec: \"eth1:1\" must be the link name"},
		{"label prefix without colon", with(base4, func(s *Spec) { s.Label = "veth0x" }), "label: invalid spec"},
		{"label too long", with(base4, func(s *Spec) { s.Label = "veth0:abcdefghij" }), "label: invalid spec: \"veth0:abcdefghij\" is longer than 15"},
		{"label space", with(base4, func(s *Spec) { s.Label = "veth0:a b" }), "label: invalid spec"},

		{"flag unknown", with(base6, func(s *Spec) { s.Flags = []string{"fast"} }), "flags: invalid spec: \"fast\" is not one of"},
		{"flag kernel-owned", with(base6, func(s *Spec) { s.Flags = []string{"tentative"} }), "flags: invalid spec: \"tentative\" is not one of"},
		{"flag ipv6 only", with(base4, func(s *Spec) { s.Flags = []string{"nodad"} }), "flags: invalid spec: nodad applies to IPv6 addresses only"},
		{"mngtmpaddr needs /64", with(base6, func(s *Spec) { s.Address = p("2001:db8::1/56"); s.Flags = []string{"mngtmpaddr"} }), "flags: invalid spec: mngtmpaddr needs a /64"},

		{"valid negative", with(base4, func(s *Spec) { s.ValidLifetime = -time.Second }), "validLifetime: invalid spec: -1s is negative"},
		{"valid fraction", with(base4, func(s *Spec) { s.ValidLifetime = 1500 * time.Millisecond }), "validLifetime: invalid spec: 1.5s is not a whole number"},
		{"valid too long", with(base4, func(s *Spec) { s.ValidLifetime = 200 * 365 * 24 * time.Hour }), "validLifetime: invalid spec"},
		{"preferred fraction", with(base4, func(s *Spec) { s.PreferredLifetime = time.Millisecond }), "preferredLifetime: invalid spec"},
		{"preferred over valid", with(base4, func(s *Spec) { s.ValidLifetime = time.Minute; s.PreferredLifetime = time.Hour }), "preferredLifetime: invalid spec: 1h0m0s is longer than validLifetime 1m0s"},
		{"preferred finite, valid forever", with(base4, func(s *Spec) { s.PreferredLifetime = time.Hour }), ""},

		{"validUntil", with(base4, func(s *Spec) { s.ValidUntil = until }), ""},
		{"validUntil past", with(base4, func(s *Spec) { s.ValidUntil = time.Unix(1, 0) }), ""},
		{"preferredUntil", with(base6, func(s *Spec) { s.ValidUntil = until; s.PreferredUntil = until.Add(-time.Hour) }), ""},
		{"preferredUntil equal", with(base6, func(s *Spec) { s.ValidUntil = until; s.PreferredUntil = until }), ""},
		{"validUntil with validLifetime", with(base4, func(s *Spec) { s.ValidUntil = until; s.ValidLifetime = time.Hour }),
			"validUntil: invalid spec: cannot be combined with validLifetime"},
		{"validUntil with preferredLifetime", with(base4, func(s *Spec) { s.ValidUntil = until; s.PreferredLifetime = time.Hour }),
			"preferredLifetime: invalid spec: cannot be combined with validUntil"},
		{"preferredUntil with preferredLifetime", with(base4, func(s *Spec) {
			s.ValidUntil = until
			s.PreferredUntil = until
			s.PreferredLifetime = time.Hour
		}), "preferredLifetime: invalid spec: cannot be combined with validUntil"},
		{"preferredUntil alone", with(base4, func(s *Spec) { s.PreferredUntil = until }), "preferredUntil: invalid spec: needs validUntil"},
		{"preferredUntil with validLifetime", with(base4, func(s *Spec) { s.PreferredUntil = until; s.ValidLifetime = time.Hour }),
			"preferredUntil: invalid spec: needs validUntil"},
		{"preferredUntil after validUntil", with(base4, func(s *Spec) { s.ValidUntil = until; s.PreferredUntil = until.Add(time.Nanosecond) }),
			"preferredUntil: invalid spec: 2030-01-02T03:04:05.000000001Z is after validUntil 2030-01-02T03:04:05Z"},

		{"broadcast ipv6", with(base6, func(s *Spec) { s.Broadcast = a("2001:db8::ff") }), "broadcast: invalid spec: IPv6 has no broadcast"},
		{"broadcast family", with(base4, func(s *Spec) { s.Broadcast = a("::1") }), "broadcast: invalid spec"},
		{"broadcast conflicts with auto", with(base4, func(s *Spec) { s.Broadcast = a("192.0.2.127"); s.AutoBroadcast = true }), "broadcast: invalid spec: 192.0.2.127 conflicts with autoBroadcast (192.0.2.255)"},
		{"autoBroadcast ipv6", with(base6, func(s *Spec) { s.AutoBroadcast = true }), "autoBroadcast: invalid spec"},

		{"metric max", with(base4, func(s *Spec) { s.Metric = 1<<32 - 1 }), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.HasPrefix(err.Error(), "addr: ") {
				t.Fatalf("got %v, want an ErrInvalidSpec containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateList(t *testing.T) {
	specs := []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24")},
		{Link: "veth0", Address: p("192.0.2.11/24"), Label: "eth9"},
		{Link: "veth0", Address: p("192.0.2.10/16")},
		{Link: "veth1", Address: p("192.0.2.10/24")},
	}
	err := Validate(specs)
	if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("got %v", err)
	}
	if diff := cmp.Diff([]string{
		`addr: spec[1].label: invalid spec: "eth9" must be the link name "veth0" or start with "veth0:"`,
		"addr: spec[2].address: invalid spec: 192.0.2.10 on veth0 duplicates spec[0]",
	}, strings.Split(err.Error(), "\n")); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	if err := Validate(nil); err != nil {
		t.Fatal(err)
	}
}

func TestNormalize(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name     string
		in, want Spec
	}{
		{"ipv4 defaults", Spec{Link: "veth0", Address: p("192.0.2.10/24")},
			Spec{Link: "veth0", Address: p("192.0.2.10/24"), Scope: "global", Label: "veth0"}},
		{"loopback is host", Spec{Link: "lo", Address: p("127.0.0.2/8")},
			Spec{Link: "lo", Address: p("127.0.0.2/8"), Scope: "host", Label: "lo"}},
		{"ipv6 link-local", Spec{Link: "veth0", Address: p("fe80::5/64")},
			Spec{Link: "veth0", Address: p("fe80::5/64"), Scope: "link"}},
		{"ipv6 loopback", Spec{Link: "lo", Address: p("::1/128")},
			Spec{Link: "lo", Address: p("::1/128"), Scope: "host"}},
		{"universe is global", Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global"},
			Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global"}},
		{"flags canonical, sorted, unique", Spec{Link: "veth0", Address: p("2001:db8::1/64"), Flags: []string{"nodad", "managetempaddr", "nodad", "mngtmpaddr"}},
			Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global", Flags: []string{"mngtmpaddr", "nodad"}}},
		{"empty flags are nil", Spec{Link: "veth0", Address: p("2001:db8::1/64"), Flags: []string{}},
			Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global"}},
		{"preferred follows valid", Spec{Link: "veth0", Address: p("2001:db8::1/64"), ValidLifetime: time.Hour},
			Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global", ValidLifetime: time.Hour, PreferredLifetime: time.Hour}},
		{"preferredUntil follows validUntil", Spec{Link: "veth0", Address: p("2001:db8::1/64"), ValidUntil: time.Unix(1e9, 5)},
			Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global", ValidUntil: time.Unix(1e9, 5), PreferredUntil: time.Unix(1e9, 5)}},
		{"preferredUntil kept", Spec{Link: "veth0", Address: p("2001:db8::1/64"), ValidUntil: time.Unix(1e9, 5), PreferredUntil: time.Unix(1e9, 0)},
			Spec{Link: "veth0", Address: p("2001:db8::1/64"), Scope: "global", ValidUntil: time.Unix(1e9, 5), PreferredUntil: time.Unix(1e9, 0)}},
		{"auto broadcast", Spec{Link: "veth0", Address: p("192.0.2.10/25"), AutoBroadcast: true},
			Spec{Link: "veth0", Address: p("192.0.2.10/25"), Scope: "global", Label: "veth0", Broadcast: a("192.0.2.127")}},
		{"auto broadcast /31 has none", Spec{Link: "veth0", Address: p("192.0.2.10/31"), AutoBroadcast: true},
			Spec{Link: "veth0", Address: p("192.0.2.10/31"), Scope: "global", Label: "veth0"}},
		{"host bits kept", Spec{Link: "veth0", Address: p("192.0.2.10/8"), Label: "veth0:1"},
			Spec{Link: "veth0", Address: p("192.0.2.10/8"), Scope: "global", Label: "veth0:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.Normalize()
			if diff := cmp.Diff(tc.want, got, cmpNetip...); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			again := got
			again.Normalize()
			if diff := cmp.Diff(got, again, cmpNetip...); diff != "" {
				t.Fatalf("Normalize is not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestSpecJSON(t *testing.T) {
	in := `{"link":"veth0","address":"192.0.2.10/24","peer":"192.0.2.1","scope":"link","label":"veth0:a",
		"flags":["noprefixroute"],"validLifetime":3600000000000,"preferredLifetime":60000000000,
		"broadcast":"192.0.2.255","metric":7}`
	var s Spec
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := Spec{Link: "veth0", Address: p("192.0.2.10/24"), Peer: netip.MustParseAddr("192.0.2.1"), Scope: "link", Label: "veth0:a",
		Flags: []string{"noprefixroute"}, ValidLifetime: time.Hour, PreferredLifetime: time.Minute, Broadcast: netip.MustParseAddr("192.0.2.255"), Metric: 7}
	if diff := cmp.Diff(want, s, cmpNetip...); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	in = `{"link":"veth0","address":"192.0.2.10/24","validUntil":"2030-01-02T03:04:05.5Z","preferredUntil":"2030-01-02T02:04:05Z"}`
	s = Spec{}
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want = Spec{Link: "veth0", Address: p("192.0.2.10/24"),
		ValidUntil: time.Date(2030, 1, 2, 3, 4, 5, 5e8, time.UTC), PreferredUntil: time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC)}
	if diff := cmp.Diff(want, s, cmpNetip...); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if out, err := json.Marshal(s); err != nil || string(out) != in {
		t.Fatalf("marshal: %s, %v; want %s", out, err, in)
	}
	var y Spec
	if err := yaml.Unmarshal([]byte("link: veth0\naddress: 192.0.2.10/24\nvalidUntil: 2030-01-02T03:04:05.5Z\n"), &y); err != nil {
		t.Fatal(err)
	}
	if !y.ValidUntil.Equal(want.ValidUntil) || !y.PreferredUntil.IsZero() {
		t.Fatalf("yaml: %+v", y)
	}
	if out, err := yaml.Marshal(Spec{Link: "veth0", Address: p("192.0.2.10/24")}); err != nil || strings.Contains(string(out), "Until") {
		t.Fatalf("yaml: zero times must be left out: %s, %v", out, err)
	}
	out, err := json.Marshal(Spec{Link: "veth0", Address: p("192.0.2.10/24")})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"link":"veth0","address":"192.0.2.10/24"}` {
		t.Fatalf("zero fields must be left out: %s", out)
	}
}

// FuzzSpec checks that Validate never panics, that Normalize keeps a valid
// Spec valid and is idempotent, and that the kernel form survives a trip
// through Status.
func FuzzSpec(f *testing.F) {
	f.Add("veth0", "192.0.2.10/24", "", "", "", "noprefixroute", int64(3600), int64(60), "192.0.2.255", false, uint32(5))
	f.Add("veth0", "2001:db8::1/64", "2001:db8::2", "global", "", "nodad,mngtmpaddr", int64(0), int64(0), "", false, uint32(0))
	f.Add("eth0", "10.0.0.1/32", "10.0.0.2", "link", "eth0:p", "", int64(1), int64(1), "", true, uint32(1))
	f.Fuzz(func(t *testing.T, link, prefix, peer, scope, label, flags string, valid, preferred int64, brd string, auto bool, metric uint32) {
		s := Spec{Link: link, Scope: scope, Label: label, ValidLifetime: time.Duration(valid) * time.Second,
			PreferredLifetime: time.Duration(preferred) * time.Second, AutoBroadcast: auto, Metric: metric}
		s.Address, _ = netip.ParsePrefix(prefix)
		s.Peer, _ = netip.ParseAddr(peer)
		s.Broadcast, _ = netip.ParseAddr(brd)
		if flags != "" {
			s.Flags = strings.Split(flags, ",")
		}
		if err := s.Validate(); err != nil {
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Fatalf("error does not wrap ErrInvalidSpec: %v", err)
			}
			return
		}
		n := s
		n.Flags = append([]string(nil), s.Flags...)
		n.Normalize()
		if err := n.Validate(); err != nil {
			t.Fatalf("normalized spec %+v is invalid: %v", n, err)
		}
		again := n
		again.Flags = append([]string(nil), n.Flags...)
		again.Normalize()
		if diff := cmp.Diff(n, again, cmpNetip...); diff != "" {
			t.Fatalf("Normalize is not idempotent:\n%s", diff)
		}
		k := fromSpec(&n, 7, owner, time.Time{})
		back := k.status().Spec()
		back.Normalize()
		if diff := cmp.Diff(n, back, cmpNetip...); diff != "" {
			t.Fatalf("Spec -> kernel -> Spec (-want +got):\n%s", diff)
		}
	})
}
