package main

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// Test helpers: literals for the expected configurations.

func on() *bool  { t := true; return &t }
func off() *bool { f := false; return &f }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func str(s string) *string { return &s }

// up is a link entry that is brought up.
func up(name string, mtu int) reconcile.Link {
	return reconcile.Link{Spec: link.Spec{Name: name, MTU: mtu, Up: on()}}
}

// v4 is a static IPv4 address as netd makes it (broadcast computed).
func v4(linkName, p string) addr.Spec {
	return addr.Spec{Link: linkName, Address: pfx(p), AutoBroadcast: true}
}

func v6(linkName, p string) addr.Spec { return addr.Spec{Link: linkName, Address: pfx(p)} }

// rt is a static route with Talos' default metric.
func rt(dst, gw, linkName string) route.Spec {
	r := route.Spec{Destination: pfx(dst), Link: linkName, Metric: 1024}
	if gw != "" {
		r.Gateway = ip(gw)
	}
	return r
}

func key(t *testing.T, s string) wireguard.Key {
	t.Helper()
	k, err := wireguard.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func privateKey(t *testing.T, s string) wireguard.PrivateKey {
	t.Helper()
	k, err := wireguard.ParsePrivateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// cmpConfig compares netConfigs: net/netip values by ==, and unexported
// fields of the packages' types are not looked into.
var cmpConfig = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmp.AllowUnexported(netConfig{}, dhcpLink{}, vipLink{}, boundLink{}),
	cmpopts.EquateEmpty(),
}

// goodFixtures are the expected configurations of testdata/*.yaml.
func goodFixtures(t *testing.T) map[string]*netConfig {
	sel0 := &selector.Selector{BusPath: "0*"}
	selVirtio := &selector.Selector{Driver: "virtio_net", HardwareAddr: "00:00:*"}
	selPerm := &selector.Selector{PermanentAddr: "52:54:00:12:34:56"}
	return map[string]*netConfig{
		"static.yaml": {State: reconcile.State{
			Links:     []reconcile.Link{up("eth0", 8765), up("lo", 0)},
			Addresses: []addr.Spec{v4("eth0", "10.0.0.201/8"), v4("lo", "192.168.0.21/24"), v4("lo", "10.2.2.2/24")},
			Routes: []route.Spec{
				rt("0.0.0.0/0", "10.0.0.1", "eth0"),
				{Destination: pfx("192.168.100.0/24"), Gateway: ip("10.0.0.254"), Link: "eth0",
					Source: ip("10.0.0.201"), Metric: 100, MTU: 1400},
			},
			Resolvers: &resolv.ResolverSpec{Nameservers: []netip.Addr{ip("10.0.0.1")}},
			Hostname:  &resolv.HostnameSpec{Hostname: "talos"},
		}},
		"vip-dhcp.yaml": {
			State: reconcile.State{Links: []reconcile.Link{up("eth0", 0)}},
			DHCP:  []dhcpLink{{Link: "eth0", IPv4: true}},
			VIPs:  []vipLink{{Link: "eth0", Address: ip("192.168.0.15")}},
		},
		"vip-vlan.yaml": {
			State: reconcile.State{
				Links: []reconcile.Link{up("eth0", 0)},
				VLANs: []vlan.Spec{{Name: "eth0.100", Parent: "eth0", ID: 100, Up: on()}},
			},
			DHCP: []dhcpLink{{Link: "eth0", IPv4: true}, {Link: "eth0.100", IPv4: true}},
			VIPs: []vipLink{{Link: "eth0", Address: ip("192.168.0.15")}, {Link: "eth0.100", Address: ip("192.168.1.15")}},
		},
		"selector.yaml": {
			State: reconcile.State{Links: []reconcile.Link{
				{Spec: link.Spec{MTU: 9000, Up: on()}, DeviceSelector: sel0},
			}},
			DHCP: []dhcpLink{{Selector: sel0, IPv4: true}},
			VIPs: []vipLink{{Selector: sel0, Address: ip("192.168.0.15")}},
		},
		"selector-static.yaml": {
			State: reconcile.State{
				Links: []reconcile.Link{
					{Spec: link.Spec{Up: on()}, DeviceSelector: selVirtio},
					{Spec: link.Spec{Up: on()}, DeviceSelector: selPerm},
				},
				VLANs:   []vlan.Spec{{ParentSelector: selVirtio, ID: 20, Up: on()}},
				Bridges: []bridge.Spec{{Name: "br0", Ports: bridge.Ports("eth9"), Up: on()}},
			},
			Bound: []boundLink{
				{Path: "machine.network.interfaces[0]", Selector: selVirtio,
					Addresses: []addr.Spec{{Address: pfx("192.168.88.21/24"), AutoBroadcast: true}},
					Routes:    []route.Spec{{Destination: pfx("0.0.0.0/0"), Gateway: ip("192.168.88.1"), Metric: 1024}}},
				{Path: "machine.network.interfaces[0].vlans[0]", Selector: selVirtio, VLAN: 20,
					Addresses: []addr.Spec{{Address: pfx("10.20.0.5/24"), AutoBroadcast: true}},
					DHCP:      &dhcpLink{IPv6: true}},
				{Path: "machine.network.interfaces[1]", Selector: selPerm, BridgeMaster: "br0"},
			},
		},
		"bond-vlan-bridge.yaml": {
			State: reconcile.State{
				Links: []reconcile.Link{up("eth4", 0)},
				Bonds: []bond.Spec{{Name: "bond0", Mode: "802.3ad", Members: []string{"eth0", "eth1"}, Up: on(),
					LACPRate: "fast", XmitHashPolicy: "layer3+4", Miimon: 100, UpDelay: 200, DownDelay: 200}},
				VLANs: []vlan.Spec{{Name: "bond0.100", Parent: "bond0", ID: 100, MTU: 1500, Up: on()}},
				Bridges: []bridge.Spec{{Name: "br0", Ports: bridge.Ports("eth2", "eth3", "eth4"), STP: on(),
					VLANFiltering: off(), Up: on()}},
				Addresses: []addr.Spec{v4("bond0.100", "192.168.2.10/28"), v4("br0", "192.168.0.42/24")},
				Routes:    []route.Spec{rt("0.0.0.0/0", "192.168.2.1", "bond0.100")},
			},
			DHCP: []dhcpLink{{Link: "bond0", IPv4: true, RouteMetric: 512}},
		},
		"bond-selectors.yaml": {State: reconcile.State{
			Bonds: []bond.Spec{{Name: "bond0", Mode: "active-backup", Up: on(),
				MemberSelectors: []selector.Selector{{PermanentAddr: "00:50:56:8e:8f:e4"}, {PermanentAddr: "00:50:57:9c:2c:2d"}},
				ARPInterval:     200, ARPIPTargets: []netip.Addr{ip("10.10.0.1")}, ARPValidate: "filter_active", FailOverMac: "active"}},
			Addresses: []addr.Spec{v4("bond0", "10.10.0.5/24")},
		}},
		"wireguard.yaml": {State: reconcile.State{
			Links: []reconcile.Link{{Spec: link.Spec{Name: "dummy0", Kind: "dummy", Up: on()}}},
			WireGuard: []wireguard.Spec{{
				Name: "wg0", PrivateKey: privateKey(t, "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="),
				ListenPort: 51820, FirewallMark: 42, MTU: 1500, AllowOverlap: true,
				Peers: []wireguard.PeerSpec{
					{PublicKey: key(t, "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A="), Endpoint: "209.202.254.14:8172",
						AllowedIPs: []netip.Prefix{pfx("192.168.88.0/24")}},
					{PublicKey: key(t, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2A="), Endpoint: "192.168.1.2:51111",
						PersistentKeepalive: 5, AllowedIPs: []netip.Prefix{pfx("192.168.1.0/24"), pfx("192.168.88.128/25")}},
				},
			}},
			Addresses: []addr.Spec{v4("wg0", "192.168.2.1/24"), v4("dummy0", "169.254.99.1/32")},
		}},
		"firewall-block.yaml": {State: reconcile.State{Firewall: &firewall.Spec{
			DefaultAction: firewall.DefaultBlock,
			Rules: []firewall.Rule{
				{Name: "talos-icmp", Protocol: firewall.ICMP, Action: firewall.Accept},
				{Name: "talos-icmpv6", Protocol: firewall.ICMPv6, Action: firewall.Accept},
				{Name: "kubelet-ingress", Protocol: firewall.TCP, Ports: []string{"10250"},
					Subnets: []netip.Prefix{pfx("172.20.0.0/24")}, Action: firewall.Accept},
				{Name: "apid-ingress", Protocol: firewall.TCP, Ports: []string{"50000"},
					Subnets: []netip.Prefix{pfx("0.0.0.0/0"), pfx("::/0")}, Action: firewall.Accept},
				{Name: "trustd-ingress", Protocol: firewall.TCP, Ports: []string{"50001"},
					Subnets: []netip.Prefix{pfx("172.20.0.0/24")}, Action: firewall.Accept},
				{Name: "kubernetes-api-ingress", Protocol: firewall.TCP, Ports: []string{"6443"},
					Subnets: []netip.Prefix{pfx("0.0.0.0/0"), pfx("::/0")}, Action: firewall.Accept},
				{Name: "etcd-ingress", Protocol: firewall.TCP, Ports: []string{"2379-2380"},
					Subnets: []netip.Prefix{pfx("172.20.0.2/32"), pfx("172.20.0.3/32"), pfx("172.20.0.4/32")}, Action: firewall.Accept},
				{Name: "cni-vxlan", Protocol: firewall.UDP, Ports: []string{"4789"},
					Subnets: []netip.Prefix{pfx("172.20.0.0/24")}, Except: []netip.Prefix{pfx("172.20.0.1/32")}, Action: firewall.Accept},
			},
		}}},
		"firewall-accept.yaml": {State: reconcile.State{Firewall: &firewall.Spec{
			DefaultAction: firewall.DefaultAccept,
			Rules: []firewall.Rule{
				{Name: "kubelet-ingress:except", Protocol: firewall.TCP, Ports: []string{"10250"},
					Subnets: []netip.Prefix{pfx("172.20.0.1/32")}, Action: firewall.Drop},
				{Name: "kubelet-ingress", Protocol: firewall.TCP, Ports: []string{"10250"},
					Subnets: []netip.Prefix{pfx("0.0.0.0/0"), pfx("::/0")}, Except: []netip.Prefix{pfx("172.20.0.0/24")}, Action: firewall.Drop},
				{Name: "test:except", Protocol: firewall.UDP, Ports: []string{"53", "8000-9000"},
					Subnets: []netip.Prefix{pfx("192.168.0.3/32")}, Action: firewall.Drop},
				{Name: "test", Protocol: firewall.UDP, Ports: []string{"53", "8000-9000"},
					Subnets: []netip.Prefix{pfx("0.0.0.0/0"), pfx("::/0")},
					Except:  []netip.Prefix{pfx("192.168.0.0/16"), pfx("2001::/16")}, Action: firewall.Drop},
				{Name: "closed", Protocol: firewall.TCP, Ports: []string{"9100"},
					Subnets: []netip.Prefix{pfx("0.0.0.0/0"), pfx("::/0")}, Action: firewall.Drop},
			},
		}}},
		"resolvers-hosts.yaml": {State: reconcile.State{
			Hostname: &resolv.HostnameSpec{Hostname: "node1", Domainname: "example.com"},
			Resolvers: &resolv.ResolverSpec{
				Nameservers:   []netip.Addr{ip("8.8.8.8"), ip("1.1.1.1"), ip("2001:4860:4860::8888")},
				SearchDomains: []string{"example.com"},
			},
			Hosts: []resolv.HostEntry{
				{Address: ip("192.168.1.100"), Names: []string{"example", "example.domain.tld"}},
				{Address: ip("fd00::10"), Names: []string{"registry.local"}},
			},
		}},
		"resolvers-search.yaml": {State: reconcile.State{
			Hostname: &resolv.HostnameSpec{Hostname: "node1", Domainname: "example.com"},
			Resolvers: &resolv.ResolverSpec{Nameservers: []netip.Addr{ip("10.0.0.53")},
				SearchDomains: []string{"corp.example.net", "example.org"}},
		}},
		"resolvers-nosearch.yaml": {State: reconcile.State{
			Hostname:  &resolv.HostnameSpec{Hostname: "node1", Domainname: "example.com"},
			Resolvers: &resolv.ResolverSpec{Nameservers: []netip.Addr{ip("10.0.0.53")}},
		}},
		"machine-full.yaml": {State: reconcile.State{
			Links:     []reconcile.Link{up("eth0", 1500)},
			Addresses: []addr.Spec{v4("eth0", "192.168.2.5/24")},
			Routes:    []route.Spec{rt("0.0.0.0/0", "192.168.2.1", "eth0")},
			Resolvers: &resolv.ResolverSpec{Nameservers: []netip.Addr{ip("8.8.8.8"), ip("1.1.1.1")}},
			Firewall:  &firewall.Spec{DefaultAction: firewall.DefaultAccept},
		}},
	}
}

// badFixtures are the testdata/bad-*.yaml files and what their error
// says, the path first.
var badFixtures = map[string][]string{
	"bad-kubespan.yaml":     {"machine.network.kubespan.enabled (line 12)", "KubeSpan is not supported"},
	"bad-kubespan-doc.yaml": {"document 1 (line 1)", "kind KubeSpanConfig", "KubeSpan is not supported"},
	"bad-equinix.yaml":      {"machine.network.interfaces[0].vip.equinixMetal", "shut down on 2026-06-30"},
	"bad-unknown-key.yaml":  {"machine.network.interfaces[0].address (line 10): unknown key"},
	"bad-kind.yaml":         {"document 2", "kind HostnameConfig is not supported", "machine.network.hostname"},
	"bad-firewall-key.yaml": {`NetworkRuleConfig "kubelet-ingress".portSelector.interface (line 8): unknown key`},
}

// TestConfigFixtures parses every file of testdata: the good ones to
// their expected configuration, the bad ones to an error naming the path.
func TestConfigFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	good := goodFixtures(t)
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			got, err := loadConfig(f)
			if want, bad := badFixtures[name]; bad {
				if err == nil {
					t.Fatalf("parsed, want an error with %q", want)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if !errors.Is(err, netprim.ErrInvalidSpec) {
					t.Errorf("error %q does not wrap netprim.ErrInvalidSpec", err)
				}
				return
			}
			want, ok := good[name]
			if !ok {
				t.Fatalf("no expected configuration for %s: add it to goodFixtures or badFixtures", name)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, cmpConfig); d != "" {
				t.Errorf("configuration (-want +got):\n%s", d)
			}
		})
	}
	for name := range good {
		if !seen[name] {
			t.Errorf("goodFixtures names %s, which is not in testdata", name)
		}
	}
	for name := range badFixtures {
		if !seen[name] {
			t.Errorf("badFixtures names %s, which is not in testdata", name)
		}
	}
}

// network wraps interface entries (indented as list items under
// interfaces) in a v1alpha1 machine configuration.
func network(body string) string {
	return "version: v1alpha1\nmachine:\n  network:\n" + body
}

// TestParseErrors checks that bad values are refused with the path of the
// value in the error, wrapping netprim.ErrInvalidSpec.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", network("    interfaces:\n      - interface: eth0\n        bogus: 1\n"),
			[]string{"machine.network.interfaces[0].bogus (line 6): unknown key"}},
		{"unknown network key", network("    interfaces: []\n    dns: [1.1.1.1]\n"),
			[]string{"machine.network.dns (line 5): unknown key"}},
		{"unknown top-level key", "version: v1alpha1\nmachnie: {}\n",
			[]string{"machnie (line 2): unknown key"}},
		{"version", "version: v1alpha2\nmachine: {}\n", []string{"version (line 1)", "v1alpha1"}},
		{"no kind nor version", "machine: {}\n", []string{"document 1", "neither"}},
		{"two machine configs", "version: v1alpha1\n---\nversion: v1alpha1\n", []string{"document 2", "a second v1alpha1"}},
		{"unknown kind", "apiVersion: v1alpha1\nkind: FooConfig\n", []string{"document 1", `unknown document kind "FooConfig"`}},
		{"api version", "apiVersion: v1alpha2\nkind: NetworkRuleConfig\nname: x\n",
			[]string{"NetworkRuleConfig.apiVersion (line 1)", "v1alpha1"}},
		{"not yaml", "version: [v1alpha1\n", []string{"document 1"}},
		{"duplicate key", network("    interfaces:\n      - interface: eth0\n        mtu: 1500\n        mtu: 1400\n"),
			[]string{"machine.network.interfaces[0].mtu (line 7): key given twice"}},
		{"bad CIDR", network("    interfaces:\n      - interface: eth0\n        addresses: [10.0.0.300/24]\n"),
			[]string{"machine.network.interfaces[0].addresses[0] (line 6)", `"10.0.0.300/24" is not an address`}},
		{"bad prefix length", network("    interfaces:\n      - interface: eth0\n        addresses: [10.0.0.3/33]\n"),
			[]string{"machine.network.interfaces[0].addresses[0]"}},
		{"bad MAC selector", network("    interfaces:\n      - deviceSelector:\n          hardwareAddr: \"00:[\"\n        dhcp: true\n"),
			[]string{"machine.network.interfaces[0].deviceSelector (line 6)", "hardwareAddr", "bad pattern"}},
		{"bad PCI ID", network("    interfaces:\n      - deviceSelector:\n          pciID: 1AF4\n"),
			[]string{"machine.network.interfaces[0].deviceSelector", "pciID"}},
		{"empty selector", network("    interfaces:\n      - deviceSelector: {}\n"),
			[]string{"machine.network.interfaces[0].deviceSelector", "empty"}},
		{"interface and selector", network("    interfaces:\n      - interface: eth0\n        deviceSelector: {driver: e1000}\n"),
			[]string{"machine.network.interfaces[0] (line 5)", "both given"}},
		{"no interface", network("    interfaces:\n      - mtu: 1500\n"),
			[]string{"machine.network.interfaces[0]", "interface or deviceSelector is required"}},
		{"bad interface name", network("    interfaces:\n      - interface: eth0/1\n"),
			[]string{"machine.network.interfaces[0].interface (line 5)", "contains"}},
		{"vlanId 0", network("    interfaces:\n      - interface: eth0\n        vlans:\n          - vlanId: 0\n"),
			[]string{"machine.network.interfaces[0].vlans[0].vlanId (line 7): 0 out of range 1..4094"}},
		{"vlanId 4095", network("    interfaces:\n      - interface: eth0\n        vlans:\n          - vlanId: 4095\n"),
			[]string{"machine.network.interfaces[0].vlans[0].vlanId", "4095 out of range 1..4094"}},
		{"vlanId missing", network("    interfaces:\n      - interface: eth0\n        vlans:\n          - dhcp: true\n"),
			[]string{"machine.network.interfaces[0].vlans[0]", "vlanId is required"}},
		{"vlanId twice", network("    interfaces:\n      - interface: eth0\n        vlans:\n          - vlanId: 5\n          - vlanId: 5\n"),
			[]string{"machine.network.interfaces[0].vlans[1]", "vlanId 5 is also machine.network.interfaces[0].vlans[0]"}},
		{"mtu too small", network("    interfaces:\n      - interface: eth0\n        mtu: 40\n"),
			[]string{"machine.network.interfaces[0].mtu (line 6): 40 out of range 68..65535"}},
		{"mtu too large", network("    interfaces:\n      - interface: eth0\n        mtu: 70000\n"),
			[]string{"machine.network.interfaces[0].mtu", "70000 out of range"}},
		{"mtu not a number", network("    interfaces:\n      - interface: eth0\n        mtu: big\n"),
			[]string{"machine.network.interfaces[0].mtu", `"big" is not a whole number`}},
		{"vlan mtu", network("    interfaces:\n      - interface: eth0\n        vlans:\n          - vlanId: 5\n            mtu: 10\n"),
			[]string{"machine.network.interfaces[0].vlans[0].mtu", "10 out of range"}},
		{"dhcp not a bool", network("    interfaces:\n      - interface: eth0\n        dhcp: maybe\n"),
			[]string{"machine.network.interfaces[0].dhcp (line 6)", "true or false"}},
		{"dhcpOptions without dhcp", network("    interfaces:\n      - interface: eth0\n        dhcpOptions: {routeMetric: 10}\n"),
			[]string{"machine.network.interfaces[0].dhcpOptions", "without dhcp: true"}},
		{"dhcp without family", network("    interfaces:\n      - interface: eth0\n        dhcp: true\n        dhcpOptions: {ipv4: false}\n"),
			[]string{"machine.network.interfaces[0].dhcpOptions", "no client"}},
		{"duidv6 not hex", network("    interfaces:\n      - interface: eth0\n        dhcp: true\n        dhcpOptions: {duidv6: 000100012}\n"),
			[]string{"machine.network.interfaces[0].dhcpOptions.duidv6", "a DUID in hex"}},
		{"duidv6 too short", network("    interfaces:\n      - interface: eth0\n        dhcp: true\n        dhcpOptions: {duidv6: \"00:03:00\"}\n"),
			[]string{"machine.network.interfaces[0].dhcpOptions.duidv6", "duid"}},
		{"route without network and gateway", network("    interfaces:\n      - interface: eth0\n        routes:\n          - metric: 5\n"),
			[]string{"machine.network.interfaces[0].routes[0] (line 7)", "give network, gateway or both"}},
		{"bad gateway", network("    interfaces:\n      - interface: eth0\n        routes:\n          - network: 10.0.0.0/8\n            gateway: 10.0.0\n"),
			[]string{"machine.network.interfaces[0].routes[0].gateway (line 8)", "not an IP address"}},
		{"multicast route", network("    interfaces:\n      - interface: eth0\n        routes:\n          - network: 224.0.0.0/4\n"),
			[]string{"machine.network.interfaces[0].routes[0].network", "multicast"}},
		{"route gateway family", network("    interfaces:\n      - interface: eth0\n        routes:\n          - network: 2001:db8::/32\n            gateway: 10.0.0.1\n"),
			[]string{"machine.network.interfaces[0].routes[0] (line 7)"}},
		{"vip without ip", network("    interfaces:\n      - interface: eth0\n        vip: {hcloud: {apiToken: x}}\n"),
			[]string{"machine.network.interfaces[0].vip", "ip is required"}},
		{"vip bad ip", network("    interfaces:\n      - interface: eth0\n        vip: {ip: 192.168.0.256}\n"),
			[]string{"machine.network.interfaces[0].vip.ip", "not an IP address"}},
		{"vip empty token", network("    interfaces:\n      - interface: eth0\n        vip: {ip: 192.168.0.15, hcloud: {apiToken: \"\"}}\n"),
			[]string{"machine.network.interfaces[0].vip.hcloud.apiToken", "empty"}},
		{"vip is static", network("    interfaces:\n      - interface: eth0\n        addresses: [192.168.0.15/24]\n        vip: {ip: 192.168.0.15}\n"),
			[]string{"machine.network.interfaces[0].vip (line 7): shared IP 192.168.0.15 is also the static address machine.network.interfaces[0].addresses[0]"}},
		{"vip twice", network("    interfaces:\n      - interface: eth0\n        vip: {ip: 192.168.0.15}\n        vlans:\n          - vlanId: 2\n            vip: {ip: 192.168.0.15}\n"),
			[]string{"machine.network.interfaces[0].vlans[0].vip (line 9): shared IP 192.168.0.15 is also machine.network.interfaces[0].vip"}},
		{"address twice", network("    interfaces:\n      - interface: eth0\n        addresses: [192.168.0.15/24]\n      - interface: eth1\n        addresses: [192.168.0.15/24]\n"),
			[]string{"machine.network.interfaces[1].addresses[0]", "is also machine.network.interfaces[0].addresses[0]"}},
		{"interface twice", network("    interfaces:\n      - interface: eth0\n      - interface: eth0\n"),
			[]string{"machine.network.interfaces[1] (line 6)", "link eth0 is also defined by machine.network.interfaces[0]"}},
		{"selector twice", network("    interfaces:\n      - deviceSelector: {driver: e1000}\n        mtu: 1500\n      - deviceSelector: {driver: e1000}\n        dhcp: true\n"),
			[]string{"machine.network.interfaces[1] (line 7)", "the same deviceSelector as machine.network.interfaces[0]"}},
		{"vlan name taken", network("    interfaces:\n      - interface: eth0\n        vlans: [{vlanId: 7}]\n      - interface: eth0.7\n"),
			[]string{"machine.network.interfaces[1]", "link eth0.7 is also defined by machine.network.interfaces[0].vlans[0]"}},
		{"bond and bridge", network("    interfaces:\n      - interface: x0\n        bond: {mode: active-backup}\n        bridge: {}\n"),
			[]string{"machine.network.interfaces[0] (line 5)", "bond and bridge both given"}},
		{"selector and bond", network("    interfaces:\n      - deviceSelector: {driver: e1000}\n        bond: {mode: active-backup}\n"),
			[]string{"machine.network.interfaces[0]", "cannot be created as a bond"}},
		{"bond unknown mode", network("    interfaces:\n      - interface: bond0\n        bond: {mode: fastest, interfaces: [eth0]}\n"),
			[]string{"machine.network.interfaces[0].bond (line 6)", "mode", "fastest"}},
		{"bond option wrong mode", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, lacpRate: fast, interfaces: [eth0]}\n"),
			[]string{"machine.network.interfaces[0].bond", "lacpRate", "802.3ad"}},
		{"bond unknown option", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, nsIP6Target: [\"fd00::1\"]}\n"),
			[]string{"machine.network.interfaces[0].bond.nsIP6Target", "unknown key"}},
		{"bond resendIgmp", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, resendIgmp: 300}\n"),
			[]string{"machine.network.interfaces[0].bond.resendIgmp", "300 out of range 0..255"}},
		{"bond tlbDynamicLb", network("    interfaces:\n      - interface: bond0\n        bond: {mode: balance-tlb, tlbDynamicLb: 2}\n"),
			[]string{"machine.network.interfaces[0].bond.tlbDynamicLb", "2 out of range 0..1"}},
		{"bond tlbDynamicLb in balance-alb", network("    interfaces:\n      - interface: bond0\n        bond: {mode: balance-alb, tlbDynamicLb: 1}\n"),
			[]string{"machine.network.interfaces[0].bond", "tlbDynamicLB", "balance-tlb"}},
		{"bond updelay without miimon", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, updelay: 200}\n"),
			[]string{"machine.network.interfaces[0].bond", "upDelay", "miimon"}},
		{"bond interfaces and selectors", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, interfaces: [eth0], deviceSelectors: [{driver: e1000}]}\n"),
			[]string{"machine.network.interfaces[0].bond", "both given"}},
		{"bond arp target", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, arpInterval: 100, arpIPTarget: [\"fd00::1\"]}\n"),
			[]string{"machine.network.interfaces[0].bond.arpIPTarget[0]", "not an IPv4 address"}},
		{"member in two bonds", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, interfaces: [eth0]}\n      - interface: bond1\n        bond: {mode: active-backup, interfaces: [eth0]}\n"),
			[]string{"machine.network.interfaces[1].bond", "eth0 is also a member of machine.network.interfaces[0].bond"}},
		{"member with address", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup, interfaces: [eth0]}\n      - interface: eth0\n        dhcp: true\n"),
			[]string{"machine.network.interfaces[1]", "member of machine.network.interfaces[0].bond", "no addressing"}},
		{"bridge bad stp", network("    interfaces:\n      - interface: br0\n        bridge: {stp: {enabled: yes please}}\n"),
			[]string{"machine.network.interfaces[0].bridge.stp.enabled", "true or false"}},
		{"bridge port to bond", network("    interfaces:\n      - interface: bond0\n        bond: {mode: active-backup}\n        bridgePort: {master: br9}\n"),
			[]string{"machine.network.interfaces[0].bridgePort.master", "bridge br9 is not configured here"}},
		{"wireguard bad key", network("    interfaces:\n      - interface: wg0\n        wireguard: {privateKey: c2VjcmV0}\n"),
			[]string{"machine.network.interfaces[0].wireguard.privateKey (line 6)", "key is 6 bytes"}},
		{"wireguard no key", network("    interfaces:\n      - interface: wg0\n        wireguard: {listenPort: 51820}\n"),
			[]string{"machine.network.interfaces[0].wireguard", "privateKey is required"}},
		{"wireguard port", network("    interfaces:\n      - interface: wg0\n        wireguard: {privateKey: AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=, listenPort: 70000}\n"),
			[]string{"machine.network.interfaces[0].wireguard.listenPort", "70000 out of range 1..65535"}},
		{"wireguard keepalive", network("    interfaces:\n      - interface: wg0\n        wireguard:\n          privateKey: AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n          peers:\n            - publicKey: ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=\n              persistentKeepaliveInterval: 1500ms\n"),
			[]string{"machine.network.interfaces[0].wireguard.peers[0].persistentKeepaliveInterval (line 10)", "whole seconds"}},
		{"wireguard allowed IP", network("    interfaces:\n      - interface: wg0\n        wireguard:\n          privateKey: AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n          peers:\n            - publicKey: ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=\n              allowedIPs: [192.168.1.1]\n"),
			[]string{"machine.network.interfaces[0].wireguard.peers[0].allowedIPs[0]", "not a CIDR prefix"}},
		{"wireguard peers as a mapping", network("    interfaces:\n      - interface: wg0\n        wireguard:\n          privateKey: AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n          peers:\n            publicKey: ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=\n"),
			[]string{"machine.network.interfaces[0].wireguard.peers (line 9): want a list"}},
		{"bad nameserver", network("    nameservers: [8.8.8]\n"),
			[]string{"machine.network.nameservers[0] (line 4)", "not an IP address"}},
		{"bad hostname", network("    hostname: bad_name\n"),
			[]string{"machine.network.hostname (line 4)", "hostname"}},
		{"bad search domain", network("    nameservers: [8.8.8.8]\n    searchDomains: [\"-bad-\"]\n"),
			[]string{"machine.network.searchDomains", "searchDomains[0]"}},
		{"host without aliases", network("    extraHostEntries:\n      - ip: 10.0.0.1\n"),
			[]string{"machine.network.extraHostEntries[0]", "aliases"}},
		{"host bad ip", network("    extraHostEntries:\n      - ip: ten\n        aliases: [ten]\n"),
			[]string{"machine.network.extraHostEntries[0].ip", "not an IP address"}},
		{"firewall action", "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: drop\n",
			[]string{"NetworkDefaultActionConfig.ingress (line 3)", `"drop": want accept or block`}},
		{"firewall two actions", "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n---\napiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: accept\n",
			[]string{"document 2", "a second NetworkDefaultActionConfig"}},
		{"firewall port range", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [\"9000-8000\"]}\n",
			[]string{`NetworkRuleConfig "r".portSelector.ports[0] (line 4)`, "reversed range"}},
		{"firewall port zero", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [0]}\n",
			[]string{`NetworkRuleConfig "r".portSelector.ports[0]`, "out of range"}},
		{"firewall port overlap", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [80, 70-90]}\n",
			[]string{`NetworkRuleConfig "r".portSelector.ports[1]`, "overlaps 80"}},
		{"firewall no ports", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp}\n",
			[]string{`NetworkRuleConfig "r".portSelector`, "ports is required"}},
		{"firewall protocol", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: sctp, ports: [1]}\n",
			[]string{`NetworkRuleConfig "r".portSelector.protocol`, "want tcp, udp, icmp or icmpv6"}},
		{"firewall icmp ports", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: icmp, ports: [1]}\ningress: [{subnet: 10.0.0.0/8}]\n",
			[]string{`NetworkRuleConfig "r" (line 1)`, "ports need protocol tcp or udp"}},
		{"firewall bad subnet", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [22]}\ningress: [{subnet: 10.0.0.0}]\n",
			[]string{`NetworkRuleConfig "r".ingress[0].subnet (line 5)`, "not a CIDR prefix"}},
		{"firewall bad except", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [22]}\ningress: [{subnet: 10.0.0.0/8, except: 10.1/16}]\n",
			[]string{`NetworkRuleConfig "r".ingress[0].except`, "not a CIDR prefix"}},
		{"firewall duplicate name", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [22]}\n---\napiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {protocol: tcp, ports: [23]}\n",
			[]string{`NetworkRuleConfig "r" (line 6)`, `a second NetworkRuleConfig named "r"`}},
		{"firewall no name", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nportSelector: {protocol: tcp, ports: [22]}\n",
			[]string{"NetworkRuleConfig (line 1)", "name is required"}},
		{"firewall reserved name", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: talos-icmp\nportSelector: {protocol: tcp, ports: [22]}\n",
			[]string{`NetworkRuleConfig "talos-icmp"`, "reserved"}},
		{"firewall bad name", "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: my rule\nportSelector: {protocol: tcp, ports: [22]}\n",
			[]string{`NetworkRuleConfig "my rule"`, "name"}},
		{"kubespan unknown key", network("    kubespan: {enabled: false, peers: []}\n"),
			[]string{"machine.network.kubespan.peers", "unknown key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("parsed to %+v, want an error with %q", c, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("error %q does not wrap netprim.ErrInvalidSpec", err)
			}
		})
	}
}

// TestParseSecretsStayOut checks that keys and tokens are not quoted in
// errors.
func TestParseSecretsStayOut(t *testing.T) {
	const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
	for _, y := range []string{
		network("    interfaces:\n      - interface: wg0\n        wireguard: {privateKey: " + secret + "}\n"),
		network("    interfaces:\n      - interface: eth0\n        vip: {ip: 10.0.0.300, hcloud: {apiToken: " + secret + "}}\n"),
	} {
		_, err := parseConfig([]byte(y))
		if err == nil {
			t.Fatalf("parsed %q", y)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
}

// TestParseDefaults checks Talos' defaults and the kinds netd skips.
func TestParseDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       *netConfig
	}{
		{"empty file", "", &netConfig{}},
		{"empty documents", "---\n---\n", &netConfig{}},
		{"no network", "version: v1alpha1\nmachine:\n  type: worker\n", &netConfig{}},
		{"bond mode default and tlb", network("    interfaces:\n      - interface: bond0\n        bond: {interfaces: [eth0]}\n      - interface: bond1\n        bond: {mode: balance-tlb, interfaces: [eth1]}\n      - interface: bond2\n        bond: {mode: balance-alb, allSlavesActive: 1, lpInterval: 2, interfaces: [eth2]}\n      - interface: bond3\n        bond: {mode: balance-tlb, tlbDynamicLb: 1, interfaces: [eth3]}\n"),
			&netConfig{State: reconcile.State{Bonds: []bond.Spec{
				{Name: "bond0", Mode: "balance-rr", Members: []string{"eth0"}, Up: on()},
				{Name: "bond1", Mode: "balance-tlb", Members: []string{"eth1"}, Up: on(), TLBDynamicLB: off()},
				{Name: "bond2", Mode: "balance-alb", Members: []string{"eth2"}, Up: on(), AllSlavesActive: on(), LPInterval: 2},
				{Name: "bond3", Mode: "balance-tlb", Members: []string{"eth3"}, Up: on(), TLBDynamicLB: on()},
			}}}},
		{"bond numbers", network("    interfaces:\n      - interface: bond0\n        mtu: 9000\n        bond:\n          mode: 802.3ad\n          interfaces: [eth0, eth1]\n          miimon: 100\n          peerNotifyDelay: 200\n          resendIgmp: 3\n          minLinks: 1\n          numPeerNotif: 4\n          adActorSysPrio: 100\n          adUserPortKey: 7\n          adActorSystem: 02:00:00:00:00:01\n          adSelect: bandwidth\n          useCarrier: true\n"),
			&netConfig{State: reconcile.State{Bonds: []bond.Spec{
				{Name: "bond0", Mode: "802.3ad", Members: []string{"eth0", "eth1"}, MTU: 9000, Up: on(), Miimon: 100,
					PeerNotifDelay: 200, ResendIGMP: 3, MinLinks: 1, NumPeerNotif: 4, ADActorSysPrio: 100,
					ADUserPortKey: 7, ADActorSystem: "02:00:00:00:00:01", ADSelect: "bandwidth", UseCarrier: on()},
			}}}},
		{"ipv6 static and route", network("    interfaces:\n      - interface: eth0\n        addresses: [\"2001:db8::5/64\", 10.0.0.5]\n        routes:\n          - gateway: \"2001:db8::1\"\n          - network: 10.9.0.0/16\n"),
			&netConfig{State: reconcile.State{
				Links:     []reconcile.Link{up("eth0", 0)},
				Addresses: []addr.Spec{v6("eth0", "2001:db8::5/64"), v4("eth0", "10.0.0.5/32")},
				Routes:    []route.Spec{rt("::/0", "2001:db8::1", "eth0"), rt("10.9.0.0/16", "", "eth0")},
			}}},
		{"dhcp and static kept", network("    interfaces:\n      - interface: eth0\n        dhcp: true\n        dhcpOptions: {ipv6: true, routeMetric: 100}\n        cidr: 10.0.0.5/24\n"),
			&netConfig{
				State: reconcile.State{Links: []reconcile.Link{up("eth0", 0)}, Addresses: []addr.Spec{v4("eth0", "10.0.0.5/24")}},
				DHCP:  []dhcpLink{{Link: "eth0", IPv4: true, IPv6: true, RouteMetric: 100}},
			}},
		{"duidv6", network("    interfaces:\n      - interface: eth0\n        dhcp: true\n        dhcpOptions: {ipv6: true, duidv6: \"00:03:00:01:02:00:00:00:00:99\"}\n"),
			&netConfig{
				State: reconcile.State{Links: []reconcile.Link{up("eth0", 0)}},
				DHCP:  []dhcpLink{{Link: "eth0", IPv4: true, IPv6: true, DUIDv6: []byte{0, 3, 0, 1, 2, 0, 0, 0, 0, 0x99}}},
			}},
		{"hcloud vip", network("    interfaces:\n      - interface: eth0\n        dhcp: false\n        vip: {ip: 95.217.0.10, hcloud: {apiToken: tok}}\n"),
			&netConfig{
				State: reconcile.State{Links: []reconcile.Link{up("eth0", 0)}},
				VIPs:  []vipLink{{Link: "eth0", Address: ip("95.217.0.10"), HCloudToken: "tok"}},
			}},
		{"bridge port of a foreign bridge", network("    interfaces:\n      - interface: eth0\n        bridgePort: {master: br9}\n"),
			&netConfig{State: reconcile.State{Links: []reconcile.Link{
				{Spec: link.Spec{Name: "eth0", Up: on(), Master: str("br9")}},
			}}}},
		{"ignored interface", network("    interfaces:\n      - interface: eth1\n        ignore: true\n        addresses: [10.0.0.1/24]\n        dhcp: true\n"),
			&netConfig{}},
		{"long vlan parent", network("    interfaces:\n      - interface: enx78e7d1ea46da\n        vlans: [{vlanId: 100}]\n"),
			&netConfig{State: reconcile.State{
				Links: []reconcile.Link{up("enx78e7d1ea46da", 0)},
				VLANs: []vlan.Spec{{Name: vlanLinkName("enx78e7d1ea46da", 100), Parent: "enx78e7d1ea46da", ID: 100, Up: on()}},
			}}},
		{"kinds netd skips", "apiVersion: v1alpha1\nkind: TimeSyncConfig\nntp: {servers: [time.cloudflare.com]}\n---\napiVersion: v1alpha1\nkind: KubeSpanConfig\n---\napiVersion: v1alpha1\nkind: VolumeConfig\nname: EPHEMERAL\n",
			&netConfig{}},
		{"searchDomains only", network("    hostname: a.example.com\n    searchDomains: [example.org]\n"),
			&netConfig{State: reconcile.State{
				Hostname:  &resolv.HostnameSpec{Hostname: "a", Domainname: "example.com"},
				Resolvers: &resolv.ResolverSpec{SearchDomains: []string{"example.org"}},
			}}},
		{"domain without nameservers", network("    hostname: a.example.com\n"),
			&netConfig{State: reconcile.State{Hostname: &resolv.HostnameSpec{Hostname: "a", Domainname: "example.com"}}}},
		{"yaml anchors", network("    interfaces:\n      - interface: eth0\n        dhcp: true\n        dhcpOptions: &o\n          routeMetric: 100\n      - interface: eth1\n        dhcp: true\n        dhcpOptions: *o\n"),
			&netConfig{
				State: reconcile.State{Links: []reconcile.Link{up("eth0", 0), up("eth1", 0)}},
				DHCP:  []dhcpLink{{Link: "eth0", IPv4: true, RouteMetric: 100}, {Link: "eth1", IPv4: true, RouteMetric: 100}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpConfig); d != "" {
				t.Errorf("configuration (-want +got):\n%s", d)
			}
		})
	}
}

// TestConfigVLANName checks the VLAN link names against values computed
// outside Go (python3 hashlib) after Talos' nethelpers.VLANLinkName.
func TestConfigVLANName(t *testing.T) {
	for _, tc := range []struct {
		base string
		id   int
		want string
	}{
		{"eth0", 100, "eth0.100"},
		{"enp0s3f1", 4094, "enp0s3f1.4094"},
		{"enp130s0f1", 10, "enp130s0f1.10"},
		// 15-byte predictable name: "enx7" + the first 3 bytes of
		// sha256("enx78e7d1ea46da") in hex.
		{"enx78e7d1ea46da", 100, "enx7" + "f8ca75" + ".100"},
		{"enp130s0f1np1", 4094, "enp1" + "a8bdaf" + ".4094"},
	} {
		got := vlanLinkName(tc.base, tc.id)
		if got != tc.want {
			t.Errorf("vlanLinkName(%q, %d) = %q, want %q", tc.base, tc.id, got, tc.want)
		}
		if err := link.ValidName(got); err != nil {
			t.Errorf("vlanLinkName(%q, %d) = %q: %v", tc.base, tc.id, got, err)
		}
	}
}

// TestConfigResolve resolves the selectors of selector-static.yaml against
// a listing of links.
func TestConfigResolve(t *testing.T) {
	c, err := loadConfig("testdata/selector-static.yaml")
	if err != nil {
		t.Fatal(err)
	}
	links := []link.Status{
		{Index: 1, Name: "lo", Kind: ""},
		{Index: 2, Name: "ens3", Driver: "virtio_net", HardwareAddr: "00:00:5e:00:53:01"},
		{Index: 3, Name: "ens4", Driver: "e1000", HardwareAddr: "52:54:00:12:34:56", PermHardwareAddr: "52:54:00:12:34:56"},
	}
	got, err := c.resolve(links)
	if err != nil {
		t.Fatal(err)
	}
	want := &netConfig{
		State: reconcile.State{
			Links:     []reconcile.Link{up("ens3", 0), {Spec: link.Spec{Name: "ens4", Up: on()}}},
			VLANs:     []vlan.Spec{{Name: "ens3.20", Parent: "ens3", ID: 20, Up: on()}},
			Bridges:   []bridge.Spec{{Name: "br0", Ports: bridge.Ports("eth9", "ens4"), Up: on()}},
			Addresses: []addr.Spec{v4("ens3", "192.168.88.21/24"), v4("ens3.20", "10.20.0.5/24")},
			Routes:    []route.Spec{rt("0.0.0.0/0", "192.168.88.1", "ens3")},
		},
		DHCP: []dhcpLink{{Link: "ens3.20", IPv6: true}},
	}
	if d := cmp.Diff(want, got, cmpConfig); d != "" {
		t.Errorf("resolved (-want +got):\n%s", d)
	}
	// c is not changed.
	again, err := loadConfig("testdata/selector-static.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(again, c, cmpConfig); d != "" {
		t.Errorf("resolve changed its receiver (-before +after):\n%s", d)
	}

	// A selector that matches nothing, or two devices, is an error naming
	// the interface.
	_, err = c.resolve(links[:2])
	if err == nil || !strings.Contains(err.Error(), "machine.network.interfaces[1]: deviceSelector") || !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("resolve without the bridge port's device: %v", err)
	}
	two := append(slices.Clone(links), link.Status{Index: 4, Name: "ens5", Driver: "virtio_net", HardwareAddr: "00:00:5e:00:53:02"})
	if _, err = c.resolve(two); err == nil || !errors.Is(err, selector.ErrAmbiguous) {
		t.Errorf("resolve with two virtio devices: %v", err)
	}
}

// TestConfigLoad checks reading the file.
func TestConfigLoad(t *testing.T) {
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxConfigSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("too large a file: %v", err)
	}
}
