package route

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func TestSpecValidate(t *testing.T) {
	ok := Spec{Destination: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1")}
	tests := []struct {
		name  string
		spec  Spec
		field string // "" means valid
	}{
		{"gateway", ok, ""},
		{"link only", Spec{Destination: pfx("198.51.100.0/24"), Link: "eth0"}, ""},
		{"default v4", Spec{Destination: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.1")}, ""},
		{"default v6", Spec{Destination: pfx("::/0"), Gateway: addr("2001:db8::1")}, ""},
		{"rfc8950", Spec{Destination: pfx("198.51.100.0/24"), Gateway: addr("fe80::1"), Link: "eth0"}, ""},
		{"unmasked destination", Spec{Destination: pfx("198.51.100.7/24"), Link: "eth0"}, ""},
		{"blackhole", Spec{Destination: pfx("10.0.0.0/8"), Type: TypeBlackhole}, ""},
		{"local", Spec{Destination: pfx("192.0.2.5/32"), Type: TypeLocal, Link: "eth0", Table: TableLocal}, ""},
		{"all fields", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"), Link: "eth0", Source: addr("192.0.2.10"),
			Table: 100, Metric: 7, Scope: ScopeGlobal, Type: TypeUnicast, MTU: 1400, OnLink: true, TOS: 0x10}, ""},
		{"multipath", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{
			{Gateway: addr("192.0.2.1"), Weight: 1}, {Gateway: addr("192.0.2.2"), Link: "eth0", Weight: 256}}}, ""},
		{"scope universe alias", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Scope: "universe"}, ""},

		{"no destination", Spec{Gateway: addr("192.0.2.1")}, "destination"},
		{"bad type", Spec{Destination: pfx("10.0.0.0/8"), Type: "broadcast"}, "type"},
		{"gateway on blackhole", Spec{Destination: pfx("10.0.0.0/8"), Type: TypeBlackhole, Gateway: addr("192.0.2.1")}, "gateway"},
		{"gateway and nexthops", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"),
			NextHops: []NextHop{{Gateway: addr("192.0.2.2")}}}, "gateway"},
		{"v4 gateway for v6", Spec{Destination: pfx("2001:db8::/32"), Gateway: addr("192.0.2.1")}, "gateway"},
		{"unspecified gateway", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("0.0.0.0")}, "gateway"},
		{"multicast gateway", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("224.0.0.1")}, "gateway"},
		{"zoned gateway", Spec{Destination: pfx("2001:db8::/32"), Gateway: addr("fe80::1%eth0")}, "gateway"},
		{"link-local gateway without link", Spec{Destination: pfx("2001:db8::/32"), Gateway: addr("fe80::1")}, "gateway"},
		{"link on unreachable", Spec{Destination: pfx("10.0.0.0/8"), Type: TypeUnreachable, Link: "eth0"}, "link"},
		{"link and nexthops", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", NextHops: []NextHop{{Gateway: addr("192.0.2.2")}}}, "link"},
		{"long link", Spec{Destination: pfx("10.0.0.0/8"), Link: "abcdefghijklmnop"}, "link"},
		{"slash link", Spec{Destination: pfx("10.0.0.0/8"), Link: "a/b"}, "link"},
		{"no next hop", Spec{Destination: pfx("10.0.0.0/8")}, "gateway"},
		{"local without link", Spec{Destination: pfx("192.0.2.5/32"), Type: TypeLocal}, "link"},
		{"source family", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Source: addr("2001:db8::1")}, "source"},
		{"source unspecified", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Source: addr("0.0.0.0")}, "source"},
		{"source on prohibit", Spec{Destination: pfx("10.0.0.0/8"), Type: TypeProhibit, Source: addr("192.0.2.1")}, "source"},
		{"table compat", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Table: 252}, "table"},
		{"table local for unicast", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Table: TableLocal}, "table"},
		{"bad scope", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Scope: "nowhere"}, "scope"},
		{"v6 scope link", Spec{Destination: pfx("2001:db8::/32"), Link: "eth0", Scope: ScopeLink}, "scope"},
		{"local scope global", Spec{Destination: pfx("192.0.2.5/32"), Type: TypeLocal, Link: "eth0", Scope: ScopeGlobal}, "scope"},
		{"gateway scope host", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"), Scope: ScopeHost}, "scope"},
		{"gateway scope link", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"), Scope: ScopeLink}, "scope"},
		{"mtu low v4", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", MTU: 67}, "mtu"},
		{"mtu low v6", Spec{Destination: pfx("2001:db8::/32"), Link: "eth0", MTU: 1279}, "mtu"},
		{"mtu high", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", MTU: 65536}, "mtu"},
		{"mtu on blackhole", Spec{Destination: pfx("10.0.0.0/8"), Type: TypeBlackhole, MTU: 1400}, "mtu"},
		{"onlink without gateway", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", OnLink: true}, "onLink"},
		{"onlink without link", Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"), OnLink: true}, "onLink"},
		{"onlink with nexthops", Spec{Destination: pfx("10.0.0.0/8"), OnLink: true, NextHops: []NextHop{{Gateway: addr("192.0.2.2")}}}, "onLink"},
		{"tos v6", Spec{Destination: pfx("2001:db8::/32"), Link: "eth0", TOS: 4}, "tos"},
		{"tos ecn", Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", TOS: 1}, "tos"},
		{"nexthops on blackhole", Spec{Destination: pfx("10.0.0.0/8"), Type: TypeBlackhole, NextHops: []NextHop{{Gateway: addr("192.0.2.2")}}}, "nextHops"},
		{"empty hop", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.2")}, {}}}, "nextHops[1].gateway"},
		{"v6 hop without gateway", Spec{Destination: pfx("2001:db8::/32"), NextHops: []NextHop{{Link: "eth0"}}}, "nextHops[0].gateway"},
		{"hop gateway family", Spec{Destination: pfx("2001:db8::/32"), NextHops: []NextHop{{Gateway: addr("192.0.2.1")}}}, "nextHops[0].gateway"},
		{"hop link", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Link: "a b"}}}, "nextHops[0].link"},
		{"hop weight high", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1"), Weight: 257}}}, "nextHops[0].weight"},
		{"hop weight negative", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1"), Weight: -1}}}, "nextHops[0].weight"},
		{"hop onlink", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1"), OnLink: true}}}, "nextHops[0].onLink"},
		{"duplicate hops", Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1")}, {Gateway: addr("192.0.2.1")}}}, "nextHops[1].gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				n := tt.spec
				n.Normalize()
				if err := n.Validate(); err != nil {
					t.Fatalf("normalized spec invalid: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error in %s", tt.field)
			}
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			if !strings.HasPrefix(err.Error(), "route: "+tt.field+": ") {
				t.Errorf("error %q does not name field %s", err, tt.field)
			}
			// In a set the error names the index.
			err = Validate([]Spec{ok, tt.spec})
			if !strings.HasPrefix(err.Error(), "route: spec[1]."+tt.field+": ") {
				t.Errorf("set error %q does not name spec[1].%s", err, tt.field)
			}
		})
	}
}

func TestValidateSet(t *testing.T) {
	a := Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1")}
	b := Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0"} // same key as a
	c := Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Metric: 5}
	if err := Validate([]Spec{a, c}); err != nil {
		t.Fatalf("distinct keys: %v", err)
	}
	err := Validate([]Spec{a, c, b})
	if err == nil || !strings.Contains(err.Error(), "spec[2].destination: same destination") {
		t.Fatalf("duplicate key: got %v", err)
	}
	// IPv6 metric 0 and 1024 are the same route.
	err = Validate([]Spec{{Destination: pfx("2001:db8::/32"), Link: "eth0"}, {Destination: pfx("2001:db8::/32"), Link: "eth1", Metric: 1024}})
	if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("IPv6 default metric duplicate: got %v", err)
	}
	// Every bad spec is reported.
	err = Validate([]Spec{{}, a, {Destination: pfx("10.0.0.0/8"), Type: "x"}})
	if err == nil || !strings.Contains(err.Error(), "spec[0].destination") || !strings.Contains(err.Error(), "spec[2].type") {
		t.Fatalf("want both errors, got %v", err)
	}
}

func TestSpecNormalize(t *testing.T) {
	tests := []struct {
		name     string
		in, want Spec
	}{
		{"v4 link route",
			Spec{Destination: pfx("198.51.100.7/24"), Link: "eth0"},
			Spec{Destination: pfx("198.51.100.0/24"), Link: "eth0", Table: TableMain, Scope: ScopeLink, Type: TypeUnicast}},
		{"v4 gateway",
			Spec{Destination: pfx("0.0.0.0/0"), Gateway: addr("::ffff:192.0.2.1")},
			Spec{Destination: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.1"), Table: TableMain, Scope: ScopeGlobal, Type: TypeUnicast}},
		{"v6 default metric",
			Spec{Destination: pfx("2001:db8::/32"), Link: "eth0"},
			Spec{Destination: pfx("2001:db8::/32"), Link: "eth0", Table: TableMain, Metric: 1024, Scope: ScopeGlobal, Type: TypeUnicast}},
		{"local",
			Spec{Destination: pfx("192.0.2.5/32"), Type: TypeLocal, Link: "eth0"},
			Spec{Destination: pfx("192.0.2.5/32"), Type: TypeLocal, Link: "eth0", Table: TableLocal, Scope: ScopeHost}},
		{"blackhole",
			Spec{Destination: pfx("10.0.0.0/8"), Type: TypeBlackhole, Table: 100},
			Spec{Destination: pfx("10.0.0.0/8"), Type: TypeBlackhole, Table: 100, Scope: ScopeGlobal}},
		{"universe",
			Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Scope: "universe"},
			Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Table: TableMain, Scope: ScopeGlobal, Type: TypeUnicast}},
		{"weights",
			Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1")}, {Link: "eth0", Weight: 3}}},
			Spec{Destination: pfx("10.0.0.0/8"), Table: TableMain, Scope: ScopeGlobal, Type: TypeUnicast,
				NextHops: []NextHop{{Gateway: addr("192.0.2.1"), Weight: 1}, {Link: "eth0", Weight: 3}}}},
		{"single hop folded",
			Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1"), Link: "eth0", OnLink: true, Weight: 5}}},
			Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"), Link: "eth0", OnLink: true, Table: TableMain, Scope: ScopeGlobal, Type: TypeUnicast}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			orig := tt.in.NextHops
			in.Normalize()
			if d := cmp.Diff(tt.want, in, cmpIP); d != "" {
				t.Errorf("Normalize (-want +got):\n%s", d)
			}
			again := in
			again.Normalize()
			if d := cmp.Diff(in, again, cmpIP); d != "" {
				t.Errorf("Normalize is not idempotent (-first +second):\n%s", d)
			}
			if len(orig) > 0 && len(in.NextHops) > 0 && &orig[0] == &in.NextHops[0] {
				t.Error("Normalize modified the caller's NextHops")
			}
		})
	}
}

func TestSpecJSON(t *testing.T) {
	doc := `{"destination":"10.0.0.0/8","gateway":"192.0.2.1","link":"eth0","source":"192.0.2.10",
	"table":100,"metric":5,"scope":"global","type":"unicast","mtu":1400,"onLink":true,"tos":16,
	"nextHops":[{"gateway":"192.0.2.2","link":"eth1","weight":2,"onLink":true}]}`
	var s Spec
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	want := Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("192.0.2.1"), Link: "eth0", Source: addr("192.0.2.10"),
		Table: 100, Metric: 5, Scope: ScopeGlobal, Type: TypeUnicast, MTU: 1400, OnLink: true, TOS: 16,
		NextHops: []NextHop{{Gateway: addr("192.0.2.2"), Link: "eth1", Weight: 2, OnLink: true}}}
	if d := cmp.Diff(want, s, cmpIP); d != "" {
		t.Fatalf("decode (-want +got):\n%s", d)
	}
	out, err := json.Marshal(Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != `{"destination":"10.0.0.0/8","link":"eth0"}` {
		t.Errorf("zero fields not omitted: %s", got)
	}
	st := Status{Spec: want, Family: FamilyIPv4, Protocol: ProtocolStatic, Flags: FlagLinkDown | FlagOnLink}
	out, err = json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back Status
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(st, back, cmpIP); d != "" {
		t.Errorf("status round trip (-want +got):\n%s\n%s", d, out)
	}
	if !strings.Contains(string(out), `"protocol":"static"`) || !strings.Contains(string(out), `"flags":"onlink,linkdown"`) {
		t.Errorf("status JSON: %s", out)
	}
}

func TestProtocolText(t *testing.T) {
	for _, p := range []Protocol{0, 2, 3, 4, 16, 78, 186, 255} {
		b, _ := p.MarshalText()
		var q Protocol
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("protocol %d: %s -> %d, %v", p, b, q, err)
		}
	}
	var q Protocol
	if err := q.UnmarshalText([]byte("nope")); err == nil {
		t.Error("unknown protocol name accepted")
	}
	var f Flags
	if err := f.UnmarshalText([]byte("dead,0x100")); err != nil || f != FlagDead|0x100 {
		t.Errorf("flags: %v %v", f, err)
	}
	if s := (FlagDead | 0x100).String(); s != "dead,0x100" {
		t.Errorf("flags string %q", s)
	}
}

// FuzzSpec decodes arbitrary JSON into a Spec and checks that Validate
// never panics, that a valid Spec stays valid after Normalize, that
// Normalize is idempotent, and that rendering works.
func FuzzSpec(f *testing.F) {
	f.Add(`{"destination":"10.0.0.0/8","gateway":"192.0.2.1","metric":5}`)
	f.Add(`{"destination":"198.51.100.0/24","gateway":"fe80::1","link":"eth0"}`)
	f.Add(`{"destination":"2001:db8::/32","nextHops":[{"gateway":"2001:db8::1","weight":3},{"gateway":"2001:db8::2"}]}`)
	f.Add(`{"destination":"192.0.2.5/32","type":"local","link":"lo","scope":"host"}`)
	f.Add(`{"destination":"0.0.0.0/0","type":"blackhole","table":100,"tos":16}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var s Spec
		if json.Unmarshal([]byte(doc), &s) != nil {
			return
		}
		_ = s.String()
		if s.Validate() != nil {
			return
		}
		n := s
		n.Normalize()
		if err := n.Validate(); err != nil {
			t.Fatalf("valid %+v invalid after Normalize: %v", s, err)
		}
		m := n
		m.Normalize()
		if d := cmp.Diff(n, m, cmpIP); d != "" {
			t.Fatalf("Normalize not idempotent:\n%s", d)
		}
		if _, err := prepare([]Spec{s}); err != nil {
			t.Fatalf("prepare: %v", err)
		}
		_ = n.String()
	})
}
