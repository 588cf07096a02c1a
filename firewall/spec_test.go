package firewall

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

func badSpecs() []struct {
	name string
	spec Spec
	want string // substring of the error
} {
	ok := Rule{Name: "ok", Protocol: TCP, Ports: []string{"22"}, Action: Accept}
	with := func(r Rule) Spec { return Spec{Rules: []Rule{ok, r}} }
	return []struct {
		name string
		spec Spec
		want string
	}{
		{"port 0", with(Rule{Name: "p0", Protocol: TCP, Ports: []string{"0"}, Action: Accept}), `rules[1] "p0".ports[0]: invalid spec: "0": port 0 out of range 1-65535`},
		{"port 70000", with(Rule{Name: "p7", Protocol: UDP, Ports: []string{"80", "70000"}, Action: Accept}), `rules[1] "p7".ports[1]: invalid spec: "70000": port 70000 out of range`},
		{"reversed range", with(Rule{Name: "rev", Protocol: TCP, Ports: []string{"32767-30000"}, Action: Accept}), `rules[1] "rev".ports[0]: invalid spec: "32767-30000": reversed range`},
		{"not a port", with(Rule{Name: "np", Protocol: TCP, Ports: []string{"http"}, Action: Accept}), `"np".ports[0]: invalid spec: "http": not a port number`},
		{"prefix /33", with(Rule{Name: "p33", Protocol: TCP, Subnets: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33)}, Action: Accept}), `rules[1] "p33".subnets[0]: invalid spec: invalid prefix`},
		{"except /129", with(Rule{Name: "e", Protocol: TCP, Subnets: pfxs("::/0"), Except: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("::"), 129)}, Action: Accept}), `"e".except[0]: invalid spec: invalid prefix`},
		{"unknown protocol", with(Rule{Name: "sctp", Protocol: "sctp", Action: Accept}), `rules[1] "sctp".protocol: invalid spec: unknown protocol "sctp"`},
		{"no protocol", with(Rule{Name: "np", Action: Accept}), `"np".protocol: invalid spec: required`},
		{"matches everything", with(Rule{Name: "open", Protocol: Any, Action: Accept}), `rules[1] "open".subnets: invalid spec: the rule matches every packet`},
		{"no action", with(Rule{Name: "na", Protocol: TCP}), `"na".action: invalid spec: required`},
		{"unknown action", with(Rule{Name: "ua", Protocol: TCP, Action: "allow"}), `"ua".action: invalid spec: unknown action "allow"`},
		{"no name", with(Rule{Protocol: TCP, Action: Accept}), `rules[1] "".name: invalid spec: required`},
		{"bad name", with(Rule{Name: "a b", Protocol: TCP, Action: Accept}), `"a b".name: invalid spec`},
		{"reserved name", with(Rule{Name: "default", Protocol: TCP, Action: Accept}), `"default".name: invalid spec: "default" is reserved`},
		{"duplicate", with(Rule{Name: "ok", Protocol: UDP, Action: Accept}), `rules[1] "ok".name: invalid spec: duplicate of rules[0]`},
		{"ports with icmp", with(Rule{Name: "ic", Protocol: ICMP, Ports: []string{"1"}, Action: Accept}), `"ic".ports: invalid spec: ports need protocol tcp or udp`},
		{"except outside", with(Rule{Name: "eo", Protocol: TCP, Subnets: pfxs("10.0.0.0/8"), Except: pfxs("192.0.2.0/24"), Action: Accept}), `"eo".except[0]: invalid spec: 192.0.2.0/24 is not inside`},
		{"except all", with(Rule{Name: "ea", Protocol: TCP, Subnets: pfxs("10.0.0.0/24"), Except: pfxs("10.0.0.0/8"), Action: Accept}), `"ea".except[0]: invalid spec: 10.0.0.0/8 is not inside`},
		{"except everything", with(Rule{Name: "ee", Protocol: TCP, Subnets: pfxs("10.0.0.0/24"), Except: pfxs("10.0.0.0/25", "10.0.0.128/25"), Action: Accept}), `"ee".except: invalid spec: excludes all of subnets`},
		{"icmp v6 only", with(Rule{Name: "i4", Protocol: ICMP, Subnets: pfxs("fd00::/8"), Action: Accept}), `"i4".protocol: invalid spec: icmp is IPv4 only`},
		{"icmpv6 v4 only", with(Rule{Name: "i6", Protocol: ICMPv6, Subnets: pfxs("10.0.0.0/8"), Action: Accept}), `"i6".protocol: invalid spec: icmpv6 is IPv6 only`},
		{"interface", with(Rule{Name: "if", Protocol: TCP, InInterface: "a-very-long-interface", Action: Accept}), `"if".inInterface: invalid spec`},
		{"default action", Spec{DefaultAction: "deny"}, `firewall: defaultAction: invalid spec: "deny": want accept or block`},
		{"table", Spec{Table: "my table"}, `firewall: table: invalid spec`},
	}
}

func pfxs(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestValidateErrors(t *testing.T) {
	for _, c := range badSpecs() {
		t.Run(c.name, func(t *testing.T) {
			err := c.spec.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("%v does not wrap ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
			if _, rerr := Render(c.spec); rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Render: %v, want the Validate error", rerr)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	s := Spec{Rules: []Rule{
		{Name: "all-explicit", Protocol: Any, Subnets: pfxs("0.0.0.0/0", "::/0"), Action: Drop},
		{Name: "iface-only", Protocol: Any, InInterface: "eth0", Action: Accept},
		{Name: "tcp-any-port", Protocol: TCP, Action: Reject},
		{Name: "Mixed.Case_name:1", Protocol: "UDP", Ports: []string{" 53 ", "1-65535"}, Action: "ACCEPT"},
	}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The document form the netctl tool reads.
const issueYAML = `
defaultAction: block
rules:
  - name: kube-apiserver
    protocol: tcp
    ports: ["6443", "30000-32767"]
    subnets: [192.0.2.0/24, "2001:db8::/64"]
    except: [192.0.2.99/32]
    action: accept
`

func TestDecodeYAMLAndJSON(t *testing.T) {
	var y Spec
	if err := yaml.Unmarshal([]byte(issueYAML), &y); err != nil {
		t.Fatal(err)
	}
	want := Spec{DefaultAction: DefaultBlock, Rules: []Rule{{Name: "kube-apiserver", Protocol: TCP, Ports: []string{"6443", "30000-32767"},
		Subnets: pfxs("192.0.2.0/24", "2001:db8::/64"), Except: pfxs("192.0.2.99/32"), Action: Accept}}}
	if diff := cmp.Diff(want, y, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("yaml (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var j Spec
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, j, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("json round trip (-want +got):\n%s", diff)
	}
	// A bare address is a host prefix.
	if err := json.Unmarshal([]byte(`{"rules":[{"name":"h","protocol":"tcp","subnets":["192.0.2.7"],"action":"accept"}]}`), &j); err != nil || j.Rules[0].Subnets[0] != netip.MustParsePrefix("192.0.2.7/32") {
		t.Errorf("bare address: %v %v", j.Rules, err)
	}
	// A bad prefix names the rule and the field.
	bad := strings.Replace(issueYAML, "192.0.2.0/24", "192.0.2.0/33", 1)
	err = yaml.Unmarshal([]byte(bad), &y)
	if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), `rule "kube-apiserver": subnets[0]: invalid spec: "192.0.2.0/33" is not a prefix`) {
		t.Errorf("yaml /33: %v", err)
	}
	err = json.Unmarshal([]byte(`{"rules":[{"name":"x","protocol":"tcp","except":["::/200"],"action":"accept"}]}`), &j)
	if err == nil || !strings.Contains(err.Error(), `rule "x": except[0]`) {
		t.Errorf("json /200: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	s := Spec{Rules: []Rule{{Name: "n", Protocol: "TCP", Ports: []string{"080", "30000-32767"}, Subnets: pfxs("192.0.2.7/24"), Except: pfxs("192.0.2.9/31"), Action: "Accept"}}}
	s.Normalize()
	want := Spec{Table: DefaultTable, DefaultAction: DefaultAccept, Rules: []Rule{{Name: "n", Protocol: TCP, Ports: []string{"80", "30000-32767"},
		Subnets: pfxs("192.0.2.0/24"), Except: pfxs("192.0.2.8/31"), Action: Accept}}}
	if diff := cmp.Diff(want, s, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// specBlock exercises every rule kind with default block.
func specBlock() Spec {
	return Spec{Table: "fw", DefaultAction: DefaultBlock, Rules: []Rule{
		// except, IPv4 only
		{Name: "ssh", Protocol: TCP, Ports: []string{"22"}, Subnets: pfxs("10.1.0.0/24"), Except: pfxs("10.1.0.99/32"), Action: Accept},
		// first match: this reject comes before "web", which also matches
		{Name: "web-deny-99", Protocol: TCP, Ports: []string{"80"}, Subnets: pfxs("10.1.0.99/32"), Action: Reject},
		// port list, both families
		{Name: "web", Protocol: TCP, Ports: []string{"80", "443"}, Subnets: pfxs("10.1.0.0/24", "fd01::/64"), Action: Accept},
		// port range, tcp and udp
		{Name: "nodeport-tcp", Protocol: TCP, Ports: []string{"30000-32767"}, Subnets: pfxs("10.1.0.0/24", "fd01::/64"), Action: Accept},
		{Name: "nodeport-udp", Protocol: UDP, Ports: []string{"30000-32767"}, Subnets: pfxs("10.1.0.0/24", "fd01::/64"), Action: Accept},
		// reject udp (ICMP port unreachable) and tcp (reset)
		{Name: "dns", Protocol: UDP, Ports: []string{"53"}, Subnets: pfxs("10.1.0.0/24", "fd01::/64"), Action: Reject},
		{Name: "alt", Protocol: TCP, Ports: []string{"8080"}, Subnets: pfxs("0.0.0.0/0", "::/0"), Action: Reject},
		// explicit drop
		{Name: "mdns", Protocol: UDP, Ports: []string{"5353"}, Subnets: pfxs("10.1.0.0/24"), Action: Drop},
		// input interface, any source
		{Name: "apiserver-vs2", Protocol: TCP, Ports: []string{"6443"}, InInterface: "vs2", Action: Accept},
		// icmp and icmpv6, with an IPv6 except
		{Name: "ping", Protocol: ICMP, Subnets: pfxs("10.2.0.0/24"), Action: Accept},
		{Name: "ping6", Protocol: ICMPv6, Subnets: pfxs("fd01::/64"), Except: pfxs("fd01::99/128"), Action: Accept},
		// any protocol from one host
		{Name: "trusted", Protocol: Any, Subnets: pfxs("fd02::2/128"), Action: Accept},
	}}
}
