package resolv

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
)

func intp(n int) *int { return &n }

func TestResolverRoundTrip(t *testing.T) {
	specs := []ResolverSpec{
		{Nameservers: []netip.Addr{netip.MustParseAddr("192.0.2.53")}},
		{
			Nameservers: []netip.Addr{
				netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53"),
				netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("198.51.100.1"),
			},
			SearchDomains: []string{"example.internal", "svc.cluster.local", "_sub.example.com"},
			Options: ResolverOptions{Ndots: intp(0), Timeout: 1, Attempts: 5, Rotate: true, EDNS0: true, TrustAD: true,
				SingleRequest: true, NoTLDQuery: true, UseVC: true, NoReload: true, NoAAAA: true},
		},
		{SearchDomains: []string{"a.b"}, Options: ResolverOptions{Ndots: intp(15), SingleRequestReopen: true}},
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			t.Fatalf("Validate(%+v): %v", s, err)
		}
		text := RenderResolvConf(s)
		got, err := ParseResolvConf(text)
		if err != nil {
			t.Fatalf("ParseResolvConf(%q): %v", text, err)
		}
		s.Normalize()
		if d := cmp.Diff(s, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Errorf("round trip of\n%s(-want +got):\n%s", text, d)
		}
	}
}

func TestRenderResolvConf(t *testing.T) {
	s := ResolverSpec{
		Nameservers:   []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")},
		SearchDomains: []string{"Example.Internal."},
		Options:       ResolverOptions{Ndots: intp(2), Timeout: 1, Attempts: 1, EDNS0: true, TrustAD: true},
	}
	want := generatedComment + `nameserver 192.0.2.53
nameserver 2001:db8::53
search example.internal
options ndots:2 timeout:1 attempts:1 edns0 trust-ad
`
	if d := cmp.Diff(want, string(RenderResolvConf(s))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseResolvConfGlibcRules(t *testing.T) {
	text := `# comment
; also a comment
domain first.example
nameserver 192.0.2.1
sortlist 130.155.160.0/255.255.240.0
search second.example third.example
options no_tld_query
nameserver 192.0.2.2
lookup file bind
`
	got, err := ParseResolvConf([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := ResolverSpec{
		Nameservers:   []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")},
		SearchDomains: []string{"second.example", "third.example"}, // the last of domain/search wins
		Options:       ResolverOptions{NoTLDQuery: true},
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// glibc matches keywords at the start of a line only.
	got, err = ParseResolvConf([]byte(" nameserver 192.0.2.9\n\tsearch x.example\nnameserver 192.0.2.1\n"))
	if err != nil || len(got.Nameservers) != 1 || got.Nameservers[0] != netip.MustParseAddr("192.0.2.1") || got.SearchDomains != nil {
		t.Errorf("indented lines: %+v, %v", got, err)
	}
	// systemd-resolved's stub file: "search ." means no search list.
	got, err = ParseResolvConf([]byte("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"))
	if err != nil || got.SearchDomains != nil || !got.Options.EDNS0 || !got.Options.TrustAD {
		t.Errorf("stub file: %+v, %v", got, err)
	}
}

func TestParseResolvConfErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"nameserver 1.2.3\n", `line 1: invalid spec: nameserver "1.2.3": not an IP address`},
		{"\nnameserver fe80::1\n", "line 2: invalid spec: nameserver: fe80::1 is link-local and needs a zone"},
		{"nameserver 192.0.2.1\nnameserver 192.0.2.1\n", "line 2: invalid spec: nameserver 192.0.2.1 given twice"},
		{"search exa_mple.com bad..name\n", `line 1: invalid spec: search: "bad..name": empty label`},
		{"options ndots:16\n", `line 1: invalid spec: options: "ndots:16": want ndots:N with N in 0-15`},
		{"options timeout:0\n", `options: "timeout:0": want timeout:N with N in 1-30`},
		{"options attempts:x\n", `options: "attempts:x": want attempts:N with N in 1-5`},
		{"options frobnicate\n", `options: unknown option "frobnicate"`},
		{"options rotate:1\n", `options: "rotate:1": option rotate takes no value`},
	} {
		_, err := ParseResolvConf([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("ParseResolvConf(%q) = %v, want an ErrInvalidSpec containing %q", tc.text, err, tc.want)
		}
	}
}

func TestResolverValidate(t *testing.T) {
	for _, tc := range []struct {
		s    ResolverSpec
		want string
	}{
		{ResolverSpec{SearchDomains: []string{"exa mple.com"}}, `resolv: resolvers.searchDomains[0]: invalid spec: "exa mple.com": label "exa mple" has the character ' '`},
		{ResolverSpec{SearchDomains: []string{"a.example", "A.example."}}, "resolvers.searchDomains[1]: invalid spec: a.example is also searchDomains[0]"},
		{ResolverSpec{SearchDomains: []string{strings.Repeat("a", 64) + ".com"}}, "is 64 characters long, more than 63"},
		{ResolverSpec{SearchDomains: []string{"-a.com"}}, "starts or ends with a hyphen"},
		{ResolverSpec{SearchDomains: []string{"a.com\nnameserver 1.1.1.1"}}, `has the character '\n'`},
		{ResolverSpec{Nameservers: []netip.Addr{{}}}, "resolvers.nameservers[0]: invalid spec: not an IP address"},
		{ResolverSpec{Nameservers: []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.1")}}, "write it as 192.0.2.1"},
		{ResolverSpec{Nameservers: []netip.Addr{netip.MustParseAddr("2001:db8::1%eth0")}}, "has a zone but is not a link-local address"},
		{ResolverSpec{Nameservers: []netip.Addr{netip.MustParseAddr("fe80::1")}}, "needs a zone"},
		{ResolverSpec{Nameservers: []netip.Addr{netip.MustParseAddr("0.0.0.0")}}, "unspecified"},
		{ResolverSpec{Options: ResolverOptions{Ndots: intp(16)}}, "resolvers.options.ndots: invalid spec: 16 is out of range 0-15"},
		{ResolverSpec{Options: ResolverOptions{Ndots: intp(-1)}}, "options.ndots"},
		{ResolverSpec{Options: ResolverOptions{Timeout: 31}}, "resolvers.options.timeout: invalid spec: 31 is out of range 1-30"},
		{ResolverSpec{Options: ResolverOptions{Attempts: 6}}, "resolvers.options.attempts: invalid spec: 6 is out of range 1-5"},
		{ResolverSpec{Options: ResolverOptions{SingleRequest: true, SingleRequestReopen: true}}, "exclude each other"},
	} {
		err := tc.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("Validate(%+v) = %v, want an ErrInvalidSpec containing %q", tc.s, err, tc.want)
		}
	}
}

func TestResolverWarnings(t *testing.T) {
	var s ResolverSpec
	for i := 1; i <= 5; i++ {
		s.Nameservers = append(s.Nameservers, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("5 nameservers must be valid (a warning, not an error): %v", err)
	}
	w := s.Warnings()
	want := []string{"resolv.conf: glibc uses only the first 3 nameservers (MAXNS); it ignores 192.0.2.4, 192.0.2.5"}
	if d := cmp.Diff(want, w); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if !strings.Contains(string(RenderResolvConf(s)), "nameserver 192.0.2.5\n") {
		t.Error("the 4th and 5th nameservers must be written, not dropped")
	}
	if w := (ResolverSpec{}).Warnings(); len(w) != 1 || !strings.Contains(w[0], "127.0.0.1") {
		t.Errorf("no nameservers: %q", w)
	}
}

// TestDecodeBadNameserver: a nameserver that is not an address fails to
// decode with a message naming the value.
func TestDecodeBadNameserver(t *testing.T) {
	var s ResolverSpec
	err := json.Unmarshal([]byte(`{"nameservers":["1.2.3"]}`), &s)
	if err == nil || !strings.Contains(err.Error(), `"1.2.3"`) {
		t.Errorf("json: %v", err)
	}
	err = yaml.Unmarshal([]byte("nameservers: [1.2.3]\n"), &s)
	if err == nil || !strings.Contains(err.Error(), `1.2.3`) {
		t.Errorf("yaml: %v", err)
	}
}

// TestConfigYAML decodes the document of the package's Config example.
func TestConfigYAML(t *testing.T) {
	doc := `resolvers:
  nameservers: [192.0.2.53, "2001:db8::53"]
  searchDomains: [example.internal]
hosts:
  - address: 192.0.2.10
    names: [node1.example.internal, node1]
hostname:
  hostname: node1
  domainname: example.internal
`
	var c Config
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Resolver: &ResolverSpec{
			Nameservers:   []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")},
			SearchDomains: []string{"example.internal"},
		},
		Hosts:    []HostEntry{{Address: netip.MustParseAddr("192.0.2.10"), Names: []string{"node1.example.internal", "node1"}}},
		Hostname: &HostnameSpec{Hostname: "node1", Domainname: "example.internal"},
	}
	eq := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	if d := cmp.Diff(want, c, eq); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// JSON uses the same keys.
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, back, eq); d != "" {
		t.Errorf("json %s (-want +got):\n%s", js, d)
	}
	for _, k := range []string{`"resolvers"`, `"nameservers"`, `"searchDomains"`, `"hosts"`, `"address"`, `"names"`, `"hostname"`, `"domainname"`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("json %s lacks key %s", js, k)
		}
	}
	// The node entry moves to the node position.
	hs, ok := c.HostsSpec()
	if !ok || hs.Node == nil || hs.Node.Address != netip.MustParseAddr("192.0.2.10") || len(hs.Entries) != 0 {
		t.Errorf("HostsSpec() = %+v, %v", hs, ok)
	}
}

func TestHostsRenderParse(t *testing.T) {
	node := NodeEntry(netip.MustParseAddr("192.0.2.10"), HostnameSpec{Hostname: "node1", Domainname: "example.internal"})
	s := HostsSpec{
		Node: &node,
		Entries: []HostEntry{
			{Address: netip.MustParseAddr("192.0.2.20"), Names: []string{"db.example.internal", "db"}},
			{Address: netip.MustParseAddr("2001:db8::20"), Names: []string{"db6"}},
			{Address: netip.MustParseAddr("192.0.2.20"), Names: []string{"DB", "postgres"}}, // merged into the first
			{Address: netip.MustParseAddr("127.0.0.1"), Names: []string{"localhost"}},       // a standard line: dropped
		},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	text := string(RenderHosts(s))
	want := generatedComment + `127.0.0.1	localhost
192.0.2.10	node1.example.internal node1
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
192.0.2.20	db.example.internal db postgres
2001:db8::20	db6
`
	if d := cmp.Diff(want, text); d != "" {
		t.Errorf("RenderHosts (-want +got):\n%s", d)
	}
	got, err := ParseHosts([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	s.Normalize()
	if d := cmp.Diff(s, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// Without a node, NodeEntry with the zero address uses 127.0.1.1 and a
	// host name without domain is written once.
	if e := NodeEntry(netip.Addr{}, HostnameSpec{Hostname: "solo"}); e.Address != DefaultNodeAddress() || len(e.Names) != 1 {
		t.Errorf("NodeEntry = %+v", e)
	}
}

func TestHostsErrors(t *testing.T) {
	for _, tc := range []struct {
		s    HostsSpec
		want string
	}{
		{HostsSpec{Entries: []HostEntry{{Address: netip.MustParseAddr("192.0.2.1"), Names: []string{"a_b"}}}}, "resolv: hosts[0].names[0]: invalid spec:"},
		{HostsSpec{Entries: []HostEntry{{Address: netip.MustParseAddr("192.0.2.1")}}}, "hosts[0].names: invalid spec: an entry needs at least one name"},
		{HostsSpec{Entries: []HostEntry{{Names: []string{"a"}}}}, "hosts[0].address: invalid spec: not an IP address"},
		{HostsSpec{Node: &HostEntry{Address: netip.MustParseAddr("192.0.2.1"), Names: []string{"a b"}}}, "hosts.node.names[0]"},
	} {
		err := tc.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.s, err, tc.want)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"1.2.3 host\n", `hosts line 1: invalid spec: "1.2.3" is not an IP address`},
		{"# c\n192.0.2.1\n", "hosts line 2.names: invalid spec: an entry needs at least one name"},
		{"192.0.2.1 ok bad_name\n", "hosts line 1.names[1]"},
	} {
		_, err := ParseHosts([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseHosts(%q) = %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestHostname(t *testing.T) {
	h := HostnameSpec{Hostname: "Node1", Domainname: "Example.Internal."}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	h.Normalize()
	if h.FQDN() != "node1.example.internal" {
		t.Errorf("FQDN = %q", h.FQDN())
	}
	if got := string(RenderHostname(h)); got != "node1\n" {
		t.Errorf("RenderHostname = %q", got)
	}
	back, err := ParseHostname([]byte("# comment\n\nnode1.example.internal\n"))
	if err != nil || back != h {
		t.Errorf("ParseHostname = %+v, %v", back, err)
	}
	long := strings.Repeat("abcdefghi.", 30)
	for _, tc := range []struct {
		h    HostnameSpec
		want string
	}{
		{HostnameSpec{Hostname: "node_1"}, `resolv: hostname.hostname: invalid spec: label "node_1" has the character '_'`},
		{HostnameSpec{}, "hostname.hostname: invalid spec: empty"},
		{HostnameSpec{Hostname: "a.b"}, "has a dot"},
		{HostnameSpec{Hostname: strings.Repeat("x", 64)}, "64 characters long, more than 63"},
		{HostnameSpec{Hostname: "node1", Domainname: long[:294]}, "hostname.domainname: invalid spec:"},
		{HostnameSpec{Hostname: strings.Repeat("n", 50), Domainname: long[:240]}, "FQDN"},
	} {
		err := tc.h.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("Validate(%q, %q) = %v, want %q", tc.h.Hostname, abbrev(tc.h.Domainname), err, tc.want)
		}
	}
	// The 300-character FQDN of the issue: named, and it says how long.
	err = HostnameSpec{Hostname: "node1", Domainname: long[:294]}.Validate()
	if err == nil || !strings.Contains(err.Error(), "hostname.domainname: invalid spec: FQDN") || !strings.Contains(err.Error(), "is 300 characters long, more than 253") {
		t.Errorf("300-char FQDN: %v", err)
	}
}
