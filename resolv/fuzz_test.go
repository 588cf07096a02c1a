package resolv

import (
	"bytes"
	"testing"
)

// FuzzParseResolvConf: no panic; whatever parses is valid and renders to
// text that parses to the same spec (Render(Parse(x)) is stable).
func FuzzParseResolvConf(f *testing.F) {
	for _, s := range []string{
		"nameserver 192.0.2.1\nsearch a.example b.example\noptions ndots:2 edns0\n",
		"domain x.example\nnameserver fe80::1%eth0\nnameserver 2001:db8::1\n",
		"# comment\n; comment\nsortlist 10.0.0.0\noptions timeout:1 attempts:1 rotate trust-ad no_tld_query\n",
		"search .\nnameserver 127.0.0.53\n",
		"nameserver 1.2.3\n",
		"options ndots:99\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		s, err := ParseResolvConf(text)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed spec is invalid: %v\n%q", err, text)
		}
		r1 := RenderResolvConf(s)
		s2, err := ParseResolvConf(r1)
		if err != nil {
			t.Fatalf("rendered text does not parse: %v\n%q", err, r1)
		}
		if r2 := RenderResolvConf(s2); !bytes.Equal(r1, r2) {
			t.Fatalf("not stable:\n%q\n%q", r1, r2)
		}
	})
}

// FuzzParseHosts: the same for /etc/hosts.
func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{
		string(RenderHosts(HostsSpec{})),
		"127.0.0.1 localhost\n192.0.2.10 node1.example node1 # me\n::1 localhost ip6-localhost ip6-loopback\n10.0.0.1 a\n10.0.0.1 b a\n",
		"fe80::1%eth0 router\n::ffff:1.2.3.4 mapped\n",
		"127.0.0.1 localhost\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
		"1.2.3 bad\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		s, err := ParseHosts(text)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed spec is invalid: %v\n%q", err, text)
		}
		r1 := RenderHosts(s)
		s2, err := ParseHosts(r1)
		if err != nil {
			t.Fatalf("rendered text does not parse: %v\n%q", err, r1)
		}
		if r2 := RenderHosts(s2); !bytes.Equal(r1, r2) {
			t.Fatalf("not stable:\n%q\n%q", r1, r2)
		}
	})
}
