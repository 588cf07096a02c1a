package reconcile

import (
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

// State is a desired network state: what one source contributes, or the
// merge of every source that the Reconciler applies. Field names are the
// Specs' yaml tags, so a State reads from the same YAML documents netctl
// applies (see Decode).
//
// A nil or empty section contributes nothing. Firewall, Resolvers and
// Hostname are single objects: nil leaves them unmanaged, also when
// pruning (to open the firewall, contribute one with defaultAction
// accept and no rules).
type State struct {
	// Links are links by name or, for a device that exists already, by
	// device selector (see Link).
	Links []Link `json:"links,omitempty" yaml:"links,omitempty"`
	// WireGuard are WireGuard devices, created right after the links so
	// that addresses and routes can use them.
	WireGuard []wireguard.Spec `json:"wireguard,omitempty" yaml:"wireguard,omitempty"`
	Bonds     []bond.Spec      `json:"bonds,omitempty" yaml:"bonds,omitempty"`
	VLANs     []vlan.Spec      `json:"vlans,omitempty" yaml:"vlans,omitempty"`
	Bridges   []bridge.Spec    `json:"bridges,omitempty" yaml:"bridges,omitempty"`
	Addresses []addr.Spec      `json:"addresses,omitempty" yaml:"addresses,omitempty"`
	Routes    []route.Spec     `json:"routes,omitempty" yaml:"routes,omitempty"`
	Rules     []route.Rule     `json:"rules,omitempty" yaml:"rules,omitempty"`
	// Firewall is the ingress firewall: one nftables table the owner
	// keeps (see package firewall).
	Firewall *firewall.Spec `json:"firewall,omitempty" yaml:"firewall,omitempty"`
	// Resolvers, Hosts and Hostname are written to etc/resolv.conf,
	// etc/hosts and etc/hostname under the Reconciler's root (WithRoot).
	// Hosts entries are merged by address.
	Resolvers *resolv.ResolverSpec `json:"resolvers,omitempty" yaml:"resolvers,omitempty"`
	Hosts     []resolv.HostEntry   `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	Hostname  *resolv.HostnameSpec `json:"hostname,omitempty" yaml:"hostname,omitempty"`
}

// Link is one entry of State.Links: a link.Spec whose link is named by
// Name or, for a device that exists already, chosen by DeviceSelector
// instead, as in a Talos Linux machine configuration:
//
//	links:
//	  - deviceSelector:
//	      busPath: "0*"   # the only PCI network device
//	    mtu: 9000
//	    up: true
//
// Exactly one of Name and DeviceSelector is given. A selected device must
// exist (Kind and the kind parameters stay unset). Every pass resolves the
// selectors against one listing of the namespace, before the sources are
// merged, so a selected device and a named one are the same object when
// they are the same link.
type Link struct {
	link.Spec `yaml:",inline"`
	// DeviceSelector chooses an existing device by what its hardware
	// reports (see package selector) instead of by Name.
	DeviceSelector *selector.Selector `json:"deviceSelector,omitempty" yaml:"deviceSelector,omitempty"`
}

// Links wraps link specs as entries of State.Links, for states built in
// Go.
func Links(specs ...link.Spec) []Link {
	out := make([]Link, len(specs))
	for i, s := range specs {
		out[i] = Link{Spec: s}
	}
	return out
}

// files returns the resolver files of s for package resolv.
func (s *State) files() resolv.Config {
	return resolv.Config{Resolver: s.Resolvers, Hosts: s.Hosts, Hostname: s.Hostname}
}

// hasFiles reports whether s manages any resolver file.
func (s *State) hasFiles() bool {
	return s.Resolvers != nil || len(s.Hosts) > 0 || s.Hostname != nil
}

// hasSelectors reports whether an entry of the links section has a
// device selector.
func (s *State) hasSelectors() bool {
	for _, l := range s.Links {
		if l.DeviceSelector != nil {
			return true
		}
	}
	return false
}
