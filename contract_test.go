package netprim_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
	"github.com/netprim/netprim/selector"
	"github.com/netprim/netprim/vlan"
	"github.com/netprim/netprim/wireguard"
)

// TestValidateAcceptsWhatNormalizeAccepts proves the contract "Validate
// accepts exactly what Normalize accepts" for every object package: a spec
// in a form that is not canonical but acceptable (mixed case, aliases,
// unmasked prefixes, defaults left zero, ...) passes Validate, which does
// not change it, and normalizes to its canonical form, which is valid and
// stays as it is when normalized again; an invalid spec fails Validate
// before and after Normalize with an error wrapping netprim.ErrInvalidSpec.
// Where a package validates lists, its list Validate agrees.
func TestValidateAcceptsWhatNormalizeAccepts(t *testing.T) {
	for _, c := range []contractCase{
		linkContract(), addrContract(), routeContract(), ruleContract(), bondContract(),
		vlanContract(), bridgeContract(), wireguardContract(), firewallContract(),
		resolverContract(), hostsContract(), hostnameContract(),
	} {
		c.run(t)
	}
}

type contractCase interface{ run(t *testing.T) }

// contract is the table of one spec type. Specs are built by functions so
// that every check gets a fresh value sharing nothing with another.
type contract[S any] struct {
	name      string
	validate  func(S) error
	normalize func(*S)
	list      func([]S) error // the package's list Validate; nil if none
	accepted  []accepted[S]
	refused   []func() S
}

// accepted is a valid spec in a form that is not canonical, and the
// canonical form Normalize gives it.
type accepted[S any] struct {
	raw  func() S
	want S
}

var contractCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func (c contract[S]) run(t *testing.T) {
	for i, a := range c.accepted {
		t.Run(fmt.Sprintf("%s/accepted[%d]", c.name, i), func(t *testing.T) {
			s := a.raw()
			if err := c.validate(s); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if d := cmp.Diff(a.raw(), s, contractCmp); d != "" {
				t.Errorf("Validate changed the spec (-before +after):\n%s", d)
			}
			if c.list != nil {
				l := []S{a.raw()}
				if err := c.list(l); err != nil {
					t.Fatalf("list Validate: %v", err)
				}
				if d := cmp.Diff(a.raw(), l[0], contractCmp); d != "" {
					t.Errorf("list Validate changed the spec (-before +after):\n%s", d)
				}
			}
			n := a.raw()
			c.normalize(&n)
			if d := cmp.Diff(a.want, n, contractCmp); d != "" {
				t.Fatalf("Normalize (-want +got):\n%s", d)
			}
			c.normalize(&n)
			if d := cmp.Diff(a.want, n, contractCmp); d != "" {
				t.Errorf("Normalize of the normalized form (-want +got):\n%s", d)
			}
			if err := c.validate(n); err != nil {
				t.Errorf("Validate of the normalized form: %v", err)
			}
		})
	}
	for i, raw := range c.refused {
		t.Run(fmt.Sprintf("%s/refused[%d]", c.name, i), func(t *testing.T) {
			if err := c.validate(raw()); !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("Validate = %v, want an error wrapping ErrInvalidSpec", err)
			}
			if c.list != nil {
				if err := c.list([]S{raw()}); !errors.Is(err, netprim.ErrInvalidSpec) {
					t.Errorf("list Validate = %v, want an error wrapping ErrInvalidSpec", err)
				}
			}
			n := raw()
			c.normalize(&n)
			if err := c.validate(n); !errors.Is(err, netprim.ErrInvalidSpec) {
				t.Errorf("Validate of the normalized spec %+v = %v, want an error wrapping ErrInvalidSpec", n, err)
			}
		})
	}
}

var (
	pfx = netip.MustParsePrefix
	ip  = netip.MustParseAddr
)

func ptr[T any](v T) *T { return &v }

func linkContract() contract[link.Spec] {
	return contract[link.Spec]{
		name: "link", validate: link.Spec.Validate, normalize: (*link.Spec).Normalize, list: link.Validate,
		accepted: []accepted[link.Spec]{
			{func() link.Spec {
				return link.Spec{Name: " veth0 ", Veth: &link.Veth{Peer: " veth1 "}, HardwareAddr: "02-00-5E-10-00-01"}
			}, link.Spec{Name: "veth0", Kind: "veth", Veth: &link.Veth{Peer: "veth1"}, HardwareAddr: "02:00:5e:10:00:01"}},
			{func() link.Spec {
				return link.Spec{Name: "vx0", Kind: "VXLAN", VXLAN: &link.VXLAN{VNI: 42, Remote: " ::ffff:192.0.2.1 ", Dev: " eth0 ", Learning: ptr(false)}}
			}, link.Spec{Name: "vx0", Kind: "vxlan", VXLAN: &link.VXLAN{VNI: 42, Remote: "192.0.2.1", Dev: "eth0", Learning: ptr(false)}}},
			{func() link.Spec {
				return link.Spec{Name: "mv0", MACVLAN: &link.MACVLAN{Parent: "eth0", Mode: "Bridge"}}
			},
				link.Spec{Name: "mv0", Kind: "macvlan", MACVLAN: &link.MACVLAN{Parent: "eth0", Mode: "bridge"}}},
			{func() link.Spec { return link.Spec{Name: "d0", Kind: " Dummy", Up: ptr(true)} },
				link.Spec{Name: "d0", Kind: "dummy", Up: ptr(true)}},
			{func() link.Spec { return link.Spec{Name: "vrf0", VRF: &link.VRF{Table: 10}} },
				link.Spec{Name: "vrf0", Kind: "vrf", VRF: &link.VRF{Table: 10}}},
			{func() link.Spec { return link.Spec{Name: "eth0", MTU: 1400, Master: ptr("")} },
				link.Spec{Name: "eth0", MTU: 1400, Master: ptr("")}},
		},
		refused: []func() link.Spec{
			func() link.Spec { return link.Spec{Name: "eth0", MTU: 70000} },
			func() link.Spec { return link.Spec{Name: "x", Kind: "Dum my"} },
			func() link.Spec { return link.Spec{Name: "a/b"} },
			func() link.Spec { return link.Spec{Name: "v0", Kind: "veth"} },
			func() link.Spec { return link.Spec{Name: "mv0", MACVLAN: &link.MACVLAN{Parent: "eth0", Mode: "Loud"}} },
			func() link.Spec { return link.Spec{Name: "v0", Kind: "vxlan", Veth: &link.Veth{Peer: "v1"}} },
			func() link.Spec { return link.Spec{Name: "b0", Kind: "Bond"} },
			func() link.Spec { return link.Spec{Name: "eth0", HardwareAddr: "01:00:5e:00:00:01"} },
		},
	}
}

func addrContract() contract[addr.Spec] {
	return contract[addr.Spec]{
		name: "addr", validate: addr.Spec.Validate, normalize: (*addr.Spec).Normalize, list: addr.Validate,
		accepted: []accepted[addr.Spec]{
			{func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24")} },
				addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), Scope: "global", Label: "eth0"}},
			{func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), AutoBroadcast: true} },
				addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), Scope: "global", Label: "eth0", Broadcast: ip("192.0.2.255")}},
			{func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), AutoBroadcast: true, Broadcast: ip("192.0.2.255")}
			}, addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), Scope: "global", Label: "eth0", Broadcast: ip("192.0.2.255")}},
			{func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("2001:db8::10/64"), Flags: []string{"nodad", "managetempaddr", "nodad"}}
			}, addr.Spec{Link: "eth0", Address: pfx("2001:db8::10/64"), Scope: "global", Flags: []string{"mngtmpaddr", "nodad"}}},
			{func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("fe80::1/64"), Flags: []string{}} },
				addr.Spec{Link: "eth0", Address: pfx("fe80::1/64"), Scope: "link"}},
			{func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), ValidLifetime: time.Hour} },
				addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), Scope: "global", Label: "eth0", ValidLifetime: time.Hour, PreferredLifetime: time.Hour}},
			{func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), ValidUntil: time.Unix(2e9, 0)}
			},
				addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), Scope: "global", Label: "eth0", ValidUntil: time.Unix(2e9, 0), PreferredUntil: time.Unix(2e9, 0)}},
		},
		refused: []func() addr.Spec{
			func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("2001:db8::10/64"), AutoBroadcast: true} },
			func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), AutoBroadcast: true, Broadcast: ip("192.0.2.1")}
			},
			func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), Scope: "Global"} },
			func() addr.Spec { return addr.Spec{Address: pfx("192.0.2.10/24")} },
			func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("192.0.2.10/24"), Flags: []string{"nodad"}}
			},
			func() addr.Spec { return addr.Spec{Link: "eth0", Address: pfx("2001:db8::10/64"), Scope: "link"} },
			func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), ValidUntil: time.Unix(2e9, 0), ValidLifetime: time.Hour}
			},
			func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), PreferredUntil: time.Unix(2e9, 0)}
			},
			func() addr.Spec {
				return addr.Spec{Link: "eth0", Address: pfx("10.0.0.1/8"), ValidUntil: time.Unix(2e9, 0), PreferredUntil: time.Unix(2e9, 1)}
			},
		},
	}
}

func routeContract() contract[route.Spec] {
	return contract[route.Spec]{
		name: "route", validate: route.Spec.Validate, normalize: (*route.Spec).Normalize, list: route.Validate,
		accepted: []accepted[route.Spec]{
			{func() route.Spec {
				return route.Spec{Destination: pfx("198.51.100.7/24"), Gateway: ip("::ffff:192.0.2.1")}
			},
				route.Spec{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1"), Type: route.TypeUnicast, Table: route.TableMain, Scope: route.ScopeGlobal}},
			{func() route.Spec {
				return route.Spec{Destination: pfx("2001:db8::/32"), Gateway: ip("2001:db8::1"), Link: "eth0"}
			},
				route.Spec{Destination: pfx("2001:db8::/32"), Gateway: ip("2001:db8::1"), Link: "eth0", Type: route.TypeUnicast, Table: route.TableMain, Metric: 1024, Scope: route.ScopeGlobal}},
			{func() route.Spec { return route.Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0"} },
				route.Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Type: route.TypeUnicast, Table: route.TableMain, Scope: route.ScopeLink}},
			{func() route.Spec {
				return route.Spec{Destination: pfx("10.0.0.0/8"), NextHops: []route.NextHop{{Gateway: ip("192.0.2.1"), Link: "eth0", Weight: 5}}}
			}, route.Spec{Destination: pfx("10.0.0.0/8"), Gateway: ip("192.0.2.1"), Link: "eth0", Type: route.TypeUnicast, Table: route.TableMain, Scope: route.ScopeGlobal}},
			{func() route.Spec {
				return route.Spec{Destination: pfx("10.0.0.0/8"), NextHops: []route.NextHop{{Gateway: ip("192.0.2.1")}, {Gateway: ip("192.0.2.2"), Weight: 3}}}
			}, route.Spec{Destination: pfx("10.0.0.0/8"), NextHops: []route.NextHop{{Gateway: ip("192.0.2.1"), Weight: 1}, {Gateway: ip("192.0.2.2"), Weight: 3}},
				Type: route.TypeUnicast, Table: route.TableMain, Scope: route.ScopeGlobal}},
			{func() route.Spec {
				return route.Spec{Destination: pfx("192.0.2.5/32"), Type: route.TypeLocal, Link: "lo"}
			},
				route.Spec{Destination: pfx("192.0.2.5/32"), Type: route.TypeLocal, Link: "lo", Table: route.TableLocal, Scope: route.ScopeHost}},
			{func() route.Spec {
				return route.Spec{Destination: pfx("2001:db8::1/128"), Type: route.TypeLocal, Link: "lo"}
			},
				route.Spec{Destination: pfx("2001:db8::1/128"), Type: route.TypeLocal, Link: "lo", Table: route.TableLocal, Metric: 1024, Scope: route.ScopeGlobal}},
			{func() route.Spec {
				return route.Spec{Destination: pfx("10.0.0.0/8"), Gateway: ip("192.0.2.1"), Scope: "universe"}
			},
				route.Spec{Destination: pfx("10.0.0.0/8"), Gateway: ip("192.0.2.1"), Type: route.TypeUnicast, Table: route.TableMain, Scope: route.ScopeGlobal}},
			{func() route.Spec { return route.Spec{Destination: pfx("203.0.113.0/24"), Type: route.TypeBlackhole} },
				route.Spec{Destination: pfx("203.0.113.0/24"), Type: route.TypeBlackhole, Table: route.TableMain, Scope: route.ScopeGlobal}},
		},
		refused: []func() route.Spec{
			func() route.Spec { return route.Spec{} },
			func() route.Spec {
				return route.Spec{Destination: pfx("2001:db8::/32"), Gateway: ip("2001:db8::1"), Scope: route.ScopeLink}
			},
			func() route.Spec {
				return route.Spec{Destination: pfx("10.0.0.0/8"), Gateway: ip("192.0.2.1"), NextHops: []route.NextHop{{Gateway: ip("192.0.2.2")}}}
			},
			func() route.Spec {
				return route.Spec{Destination: pfx("10.0.0.0/8"), NextHops: []route.NextHop{{Gateway: ip("192.0.2.1"), Weight: 300}}}
			},
			func() route.Spec {
				return route.Spec{Destination: pfx("2001:db8::/32"), NextHops: []route.NextHop{{Link: "eth0"}}}
			},
			func() route.Spec {
				return route.Spec{Destination: pfx("10.0.0.0/8"), Type: route.TypeBlackhole, NextHops: []route.NextHop{{Gateway: ip("192.0.2.1")}}}
			},
			func() route.Spec { return route.Spec{Destination: pfx("10.0.0.0/8"), Type: "Blackhole"} },
			func() route.Spec { return route.Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0", Table: 252} },
		},
	}
}

func ruleContract() contract[route.Rule] {
	return contract[route.Rule]{
		name: "rule", validate: route.Rule.Validate, normalize: (*route.Rule).Normalize, list: route.ValidateRules,
		accepted: []accepted[route.Rule]{
			{func() route.Rule { return route.Rule{Priority: 100, From: pfx("10.1.2.3/8")} },
				route.Rule{Priority: 100, Family: route.FamilyIPv4, From: pfx("10.0.0.0/8"), Action: route.ActionLookup, Table: route.TableMain}},
			{func() route.Rule { return route.Rule{Priority: 101, Family: route.FamilyIPv4, FwMark: 0x40} },
				route.Rule{Priority: 101, Family: route.FamilyIPv4, FwMark: 0x40, FwMask: 0xffffffff, Action: route.ActionLookup, Table: route.TableMain}},
			{func() route.Rule { return route.Rule{Priority: 102, To: pfx("::/0"), Table: 7} },
				route.Rule{Priority: 102, Family: route.FamilyIPv6, Action: route.ActionLookup, Table: 7}},
			{func() route.Rule {
				return route.Rule{Priority: 103, Family: route.FamilyIPv6, Action: route.ActionBlackhole, SuppressPrefixLength: nil}
			}, route.Rule{Priority: 103, Family: route.FamilyIPv6, Action: route.ActionBlackhole}},
			{func() route.Rule {
				return route.Rule{Priority: 104, Family: route.FamilyIPv4, SuppressPrefixLength: ptr(0)}
			},
				route.Rule{Priority: 104, Family: route.FamilyIPv4, Action: route.ActionLookup, Table: route.TableMain, SuppressPrefixLength: ptr(0)}},
		},
		refused: []func() route.Rule{
			func() route.Rule { return route.Rule{Priority: 105, Family: route.FamilyIPv4, From: pfx("::/0")} },
			func() route.Rule { return route.Rule{Priority: 106, From: pfx("10.0.0.0/8"), To: pfx("::/0")} },
			func() route.Rule { return route.Rule{Family: route.FamilyIPv4} },
			func() route.Rule { return route.Rule{Priority: 107} },
			func() route.Rule {
				return route.Rule{Priority: 108, Family: route.FamilyIPv4, Action: route.ActionBlackhole, Table: 5}
			},
			func() route.Rule {
				return route.Rule{Priority: 109, Family: route.FamilyIPv4, FwMark: 0x41, FwMask: 0x40}
			},
		},
	}
}

func bondContract() contract[bond.Spec] {
	return contract[bond.Spec]{
		name: "bond", validate: bond.Spec.Validate, normalize: (*bond.Spec).Normalize, list: bond.Validate,
		accepted: []accepted[bond.Spec]{
			{func() bond.Spec {
				return bond.Spec{Name: " bond0 ", Mode: "Active-Backup", Members: []string{" eth0 ", "eth1"}, Primary: " eth0", Miimon: 100}
			}, bond.Spec{Name: "bond0", Mode: "active-backup", Members: []string{"eth0", "eth1"}, Primary: "eth0", Miimon: 100}},
			{func() bond.Spec {
				return bond.Spec{Name: "bond1", Mode: "802.3AD", LACPRate: "FAST", XmitHashPolicy: "Layer3+4", ADActorSystem: "02-00-00-00-00-01"}
			}, bond.Spec{Name: "bond1", Mode: "802.3ad", LACPRate: "fast", XmitHashPolicy: "layer3+4", ADActorSystem: "02:00:00:00:00:01"}},
			{func() bond.Spec {
				return bond.Spec{Name: "bond2", Mode: "balance-rr", ARPInterval: 100, ARPIPTargets: []netip.Addr{ip("::ffff:192.0.2.1")}}
			}, bond.Spec{Name: "bond2", Mode: "balance-rr", ARPInterval: 100, ARPIPTargets: []netip.Addr{ip("192.0.2.1")}}},
			{func() bond.Spec {
				return bond.Spec{Name: "bond3", Mode: "active-backup", MemberSelectors: []selector.Selector{{Driver: "virtio_net", Physical: ptr(true)}}}
			}, bond.Spec{Name: "bond3", Mode: "active-backup", MemberSelectors: []selector.Selector{{Driver: "virtio_net", Physical: ptr(true)}}}},
		},
		refused: []func() bond.Spec{
			func() bond.Spec { return bond.Spec{Name: "bond0", Mode: "Active Backup"} },
			func() bond.Spec { return bond.Spec{Name: "bond0", Mode: "ACTIVE-backup", LACPRate: "fast"} },
			func() bond.Spec {
				return bond.Spec{Name: "bond0", Mode: "active-backup", MemberSelectors: []selector.Selector{{}}}
			},
			func() bond.Spec { return bond.Spec{Name: "bond0"} },
			func() bond.Spec {
				return bond.Spec{Name: "bond0", Mode: "active-backup", Members: []string{"eth0", " eth0"}}
			},
			func() bond.Spec { return bond.Spec{Name: "bond0", Mode: "802.3ad", LACPRate: "quick"} },
		},
	}
}

func vlanContract() contract[vlan.Spec] {
	return contract[vlan.Spec]{
		name: "vlan", validate: vlan.Spec.Validate, normalize: (*vlan.Spec).Normalize, list: vlan.Validate,
		accepted: []accepted[vlan.Spec]{
			{func() vlan.Spec { return vlan.Spec{Parent: " eth0 ", ID: 100} },
				vlan.Spec{Name: "eth0.100", Parent: "eth0", ID: 100, Protocol: vlan.Protocol8021Q}},
			{func() vlan.Spec {
				return vlan.Spec{Parent: "eth0", ID: 200, Protocol: "802.1AD", EgressQoS: map[uint32]uint32{1: 0, 2: 3}, IngressQoS: map[uint32]uint32{}}
			}, vlan.Spec{Name: "eth0.200", Parent: "eth0", ID: 200, Protocol: vlan.Protocol8021AD, EgressQoS: map[uint32]uint32{2: 3}, IngressQoS: map[uint32]uint32{}}},
			{func() vlan.Spec { return vlan.Spec{Name: "v7", Parent: "eth0", ID: 7, Protocol: "0x8100"} },
				vlan.Spec{Name: "v7", Parent: "eth0", ID: 7, Protocol: vlan.Protocol8021Q}},
			{func() vlan.Spec { return vlan.Spec{ParentSelector: &selector.Selector{Driver: "virtio_net"}, ID: 10} },
				vlan.Spec{ParentSelector: &selector.Selector{Driver: "virtio_net"}, ID: 10, Protocol: vlan.Protocol8021Q}},
		},
		refused: []func() vlan.Spec{
			func() vlan.Spec { return vlan.Spec{Parent: "eth0", ID: 0} },
			func() vlan.Spec { return vlan.Spec{Parent: "eth0", ID: 5, Protocol: "qinq"} },
			func() vlan.Spec { return vlan.Spec{Parent: "enp0s31f6ab", ID: 4000} },
			func() vlan.Spec {
				return vlan.Spec{Parent: "eth0", ParentSelector: &selector.Selector{Driver: "e1000e"}, ID: 5}
			},
			func() vlan.Spec { return vlan.Spec{Parent: "eth0", ID: 5, EgressQoS: map[uint32]uint32{1: 8}} },
		},
	}
}

func bridgeContract() contract[bridge.Spec] {
	return contract[bridge.Spec]{
		name: "bridge", validate: bridge.Spec.Validate, normalize: (*bridge.Spec).Normalize, list: bridge.Validate,
		accepted: []accepted[bridge.Spec]{
			{func() bridge.Spec {
				return bridge.Spec{Name: " br0 ", Ports: []bridge.Port{{Name: " eth0 "}}, STP: ptr(true)}
			},
				bridge.Spec{Name: "br0", Ports: []bridge.Port{{Name: "eth0"}}, STP: ptr(true)}},
			{func() bridge.Spec {
				return bridge.Spec{Name: "br1", VLANFiltering: ptr(true), Ports: []bridge.Port{{Name: "eth1",
					VLANs: []bridge.VLAN{{VID: 10, VIDEnd: 10, PVID: true, Untagged: true}, {VID: 20, VIDEnd: 29}}}}}
			}, bridge.Spec{Name: "br1", VLANFiltering: ptr(true), Ports: []bridge.Port{{Name: "eth1",
				VLANs: []bridge.VLAN{{VID: 10, PVID: true, Untagged: true}, {VID: 20, VIDEnd: 29}}}}}},
		},
		refused: []func() bridge.Spec{
			func() bridge.Spec { return bridge.Spec{Name: "br0", ForwardDelay: time.Second} },
			func() bridge.Spec { return bridge.Spec{Name: "br0", Ports: []bridge.Port{{Name: " br0"}}} },
			func() bridge.Spec {
				return bridge.Spec{Name: "br0", Ports: []bridge.Port{{Name: "eth0", VLANs: []bridge.VLAN{{VID: 10}}}}}
			},
			func() bridge.Spec {
				return bridge.Spec{Name: "br0", VLANFiltering: ptr(true), Ports: []bridge.Port{{Name: "eth0",
					VLANs: []bridge.VLAN{{VID: 10, VIDEnd: 12, PVID: true}}}}}
			},
		},
	}
}

func wireguardContract() contract[wireguard.Spec] {
	priv := wireguard.PrivateKey{1, 2, 3}
	k1, k2 := wireguard.Key{1}, wireguard.Key{2}
	return contract[wireguard.Spec]{
		name: "wireguard", validate: wireguard.Spec.Validate, normalize: (*wireguard.Spec).Normalize,
		accepted: []accepted[wireguard.Spec]{
			{func() wireguard.Spec {
				return wireguard.Spec{Name: "wg0", PrivateKey: priv, Peers: []wireguard.PeerSpec{
					{PublicKey: k2, AllowedIPs: []netip.Prefix{pfx("10.0.0.5/24"), pfx("10.0.0.0/24")}, Endpoint: "[::ffff:192.0.2.1]:51820"},
					{PublicKey: k1, AllowedIPs: []netip.Prefix{pfx("10.1.0.0/16")}},
				}}
			}, wireguard.Spec{Name: "wg0", PrivateKey: priv, MTU: wireguard.DefaultMTU, Peers: []wireguard.PeerSpec{
				{PublicKey: k1, AllowedIPs: []netip.Prefix{pfx("10.1.0.0/16")}},
				{PublicKey: k2, AllowedIPs: []netip.Prefix{pfx("10.0.0.0/24")}, Endpoint: "192.0.2.1:51820"},
			}}},
			{func() wireguard.Spec {
				return wireguard.Spec{Name: "wg1", PrivateKey: priv, MTU: 1280, ListenPort: 51820}
			},
				wireguard.Spec{Name: "wg1", PrivateKey: priv, MTU: 1280, ListenPort: 51820}},
		},
		refused: []func() wireguard.Spec{
			func() wireguard.Spec { return wireguard.Spec{Name: "wg0"} },
			func() wireguard.Spec { return wireguard.Spec{Name: "wg0", PrivateKey: priv, MTU: 10} },
			func() wireguard.Spec {
				return wireguard.Spec{Name: "wg0", PrivateKey: priv, Peers: []wireguard.PeerSpec{{PublicKey: k1}, {PublicKey: k1}}}
			},
			func() wireguard.Spec {
				return wireguard.Spec{Name: "wg0", PrivateKey: priv, Peers: []wireguard.PeerSpec{
					{PublicKey: k1, AllowedIPs: []netip.Prefix{pfx("10.0.0.1/24")}},
					{PublicKey: k2, AllowedIPs: []netip.Prefix{pfx("10.0.0.0/24")}},
				}}
			},
			func() wireguard.Spec {
				return wireguard.Spec{Name: "wg0", PrivateKey: priv, Peers: []wireguard.PeerSpec{{PublicKey: k1, Endpoint: "192.0.2.1"}}}
			},
		},
	}
}

func firewallContract() contract[firewall.Spec] {
	return contract[firewall.Spec]{
		name: "firewall", validate: firewall.Spec.Validate, normalize: (*firewall.Spec).Normalize,
		accepted: []accepted[firewall.Spec]{
			{func() firewall.Spec {
				return firewall.Spec{Rules: []firewall.Rule{{Name: "ssh", Protocol: "TCP", Ports: []string{"0022", " 8000-8080 "}, Action: "Accept"}}}
			}, firewall.Spec{Table: firewall.DefaultTable, DefaultAction: firewall.DefaultAccept,
				Rules: []firewall.Rule{{Name: "ssh", Protocol: firewall.TCP, Ports: []string{"22", "8000-8080"}, Action: firewall.Accept}}}},
			{func() firewall.Spec {
				return firewall.Spec{Table: "edge", DefaultAction: firewall.DefaultBlock, Rules: []firewall.Rule{{Name: "lan", Protocol: "Any",
					Subnets: []netip.Prefix{pfx("192.168.1.7/24")}, Except: []netip.Prefix{pfx("192.168.1.129/25")}, Action: "DROP"}}}
			}, firewall.Spec{Table: "edge", DefaultAction: firewall.DefaultBlock, Rules: []firewall.Rule{{Name: "lan", Protocol: firewall.Any,
				Subnets: []netip.Prefix{pfx("192.168.1.0/24")}, Except: []netip.Prefix{pfx("192.168.1.128/25")}, Action: firewall.Drop}}}},
		},
		refused: []func() firewall.Spec{
			func() firewall.Spec { return firewall.Spec{DefaultAction: "Block"} },
			func() firewall.Spec { return firewall.Spec{Table: "bad table"} },
			func() firewall.Spec {
				return firewall.Spec{Rules: []firewall.Rule{{Name: "x", Protocol: "sctp", Action: firewall.Accept}}}
			},
			func() firewall.Spec {
				return firewall.Spec{Rules: []firewall.Rule{{Name: "x", Protocol: "ICMP", Ports: []string{"22"}, Action: firewall.Accept}}}
			},
			func() firewall.Spec {
				return firewall.Spec{Rules: []firewall.Rule{{Name: "x", Protocol: firewall.TCP, Ports: []string{"80-22"}, Action: firewall.Accept}}}
			},
		},
	}
}

func resolverContract() contract[resolv.ResolverSpec] {
	return contract[resolv.ResolverSpec]{
		name: "resolv.resolver", validate: resolv.ResolverSpec.Validate, normalize: (*resolv.ResolverSpec).Normalize,
		accepted: []accepted[resolv.ResolverSpec]{
			{func() resolv.ResolverSpec {
				return resolv.ResolverSpec{Nameservers: []netip.Addr{}, SearchDomains: []string{"Example.COM.", "lab.example.com"}}
			}, resolv.ResolverSpec{SearchDomains: []string{"example.com", "lab.example.com"}}},
			{func() resolv.ResolverSpec {
				return resolv.ResolverSpec{Nameservers: []netip.Addr{ip("192.0.2.53"), ip("fe80::1%eth0")}, SearchDomains: []string{}}
			}, resolv.ResolverSpec{Nameservers: []netip.Addr{ip("192.0.2.53"), ip("fe80::1%eth0")}}},
		},
		refused: []func() resolv.ResolverSpec{
			func() resolv.ResolverSpec { return resolv.ResolverSpec{Nameservers: []netip.Addr{ip("0.0.0.0")}} },
			func() resolv.ResolverSpec {
				return resolv.ResolverSpec{SearchDomains: []string{"Example.com", "example.com."}}
			},
			func() resolv.ResolverSpec { return resolv.ResolverSpec{SearchDomains: []string{"a..b"}} },
		},
	}
}

func hostsContract() contract[resolv.HostsSpec] {
	return contract[resolv.HostsSpec]{
		name: "resolv.hosts", validate: resolv.HostsSpec.Validate, normalize: (*resolv.HostsSpec).Normalize,
		accepted: []accepted[resolv.HostsSpec]{
			{func() resolv.HostsSpec {
				return resolv.HostsSpec{Entries: []resolv.HostEntry{
					{Address: ip("192.0.2.5"), Names: []string{"Web.", "web"}},
					{Address: ip("127.0.0.1"), Names: []string{"localhost"}},
					{Address: ip("192.0.2.5"), Names: []string{"www"}},
				}}
			}, resolv.HostsSpec{Entries: []resolv.HostEntry{{Address: ip("192.0.2.5"), Names: []string{"web", "www"}}}}},
		},
		refused: []func() resolv.HostsSpec{
			func() resolv.HostsSpec {
				return resolv.HostsSpec{Entries: []resolv.HostEntry{{Address: ip("192.0.2.5")}}}
			},
			func() resolv.HostsSpec {
				return resolv.HostsSpec{Entries: []resolv.HostEntry{{Address: ip("192.0.2.5"), Names: []string{"bad name"}}}}
			},
		},
	}
}

func hostnameContract() contract[resolv.HostnameSpec] {
	return contract[resolv.HostnameSpec]{
		name: "resolv.hostname", validate: resolv.HostnameSpec.Validate, normalize: (*resolv.HostnameSpec).Normalize,
		accepted: []accepted[resolv.HostnameSpec]{
			{func() resolv.HostnameSpec { return resolv.HostnameSpec{Hostname: "Node1", Domainname: "Example.com."} },
				resolv.HostnameSpec{Hostname: "node1", Domainname: "example.com"}},
		},
		refused: []func() resolv.HostnameSpec{
			func() resolv.HostnameSpec { return resolv.HostnameSpec{Hostname: "node1.example"} },
			func() resolv.HostnameSpec { return resolv.HostnameSpec{} },
		},
	}
}
