package bridge

import "time"

// Status is a bridge as the kernel reports it.
type Status struct {
	// Index is the interface index; Name the interface name.
	Index int    `json:"index" yaml:"index"`
	Name  string `json:"name" yaml:"name"`
	// MTU in bytes; Up the administrative state.
	MTU int  `json:"mtu" yaml:"mtu"`
	Up  bool `json:"up" yaml:"up"`
	// STP reports whether spanning tree runs; STPState says who runs it:
	// "off", "kernel" or "user" (mstpd and the like).
	STP      bool   `json:"stp" yaml:"stp"`
	STPState string `json:"stpState" yaml:"stpState"`
	// Priority is the STP bridge priority.
	Priority uint16 `json:"priority" yaml:"priority"`
	// The STP timers and the ageing time.
	ForwardDelay time.Duration `json:"forwardDelay" yaml:"forwardDelay"`
	HelloTime    time.Duration `json:"helloTime" yaml:"helloTime"`
	MaxAge       time.Duration `json:"maxAge" yaml:"maxAge"`
	AgeingTime   time.Duration `json:"ageingTime" yaml:"ageingTime"`
	// VLANFiltering, DefaultPVID (0 when the kernel lacks VLAN filtering)
	// and MulticastSnooping as set.
	VLANFiltering     bool   `json:"vlanFiltering" yaml:"vlanFiltering"`
	DefaultPVID       uint16 `json:"defaultPVID" yaml:"defaultPVID"`
	MulticastSnooping bool   `json:"multicastSnooping" yaml:"multicastSnooping"`
	// BridgeID and RootID are STP identifiers, "PRIO.ADDRESS" with the
	// priority in 4 hex digits: "8000.02:00:00:00:00:01". RootID equals
	// BridgeID when this bridge is the root.
	BridgeID string `json:"bridgeID" yaml:"bridgeID"`
	RootID   string `json:"rootID" yaml:"rootID"`
	// RootPort is the port number towards the root (0 on the root);
	// RootPathCost the path cost to it.
	RootPort     uint16 `json:"rootPort" yaml:"rootPort"`
	RootPathCost uint32 `json:"rootPathCost" yaml:"rootPathCost"`
	// TopologyChange is set while STP reports a topology change.
	TopologyChange bool `json:"topologyChange" yaml:"topologyChange"`
	// VLANs are the bridge device's own VLANs ("bridge vlan ... self").
	VLANs []VLAN `json:"vlans" yaml:"vlans"`
	// Ports are the bridge's ports, by index.
	Ports []PortStatus `json:"ports" yaml:"ports"`
}

// PortStatus is one bridge port as the kernel reports it.
type PortStatus struct {
	Index int    `json:"index" yaml:"index"`
	Name  string `json:"name" yaml:"name"`
	// State is the port's STP state as "ip -d link" prints it:
	// "disabled", "listening", "learning", "forwarding", "blocking".
	State string `json:"state" yaml:"state"`
	// Priority and Cost are the port's STP priority and path cost.
	Priority uint16 `json:"priority" yaml:"priority"`
	Cost     uint32 `json:"cost" yaml:"cost"`
	// VLANs are the port's VLANs, consecutive ids with the same flags
	// as one range.
	VLANs []VLAN `json:"vlans" yaml:"vlans"`
}

// Spec returns the Spec that Apply turns into s: every option managed,
// the ports with their VLANs (when the kernel has VLAN filtering).
func (s Status) Spec() Spec {
	b := func(v bool) *bool { return &v }
	u := func(v uint16) *uint16 { return &v }
	out := Spec{
		Name: s.Name, STP: b(s.STP), Priority: u(s.Priority),
		ForwardDelay: s.ForwardDelay, HelloTime: s.HelloTime, MaxAge: s.MaxAge, AgeingTime: s.AgeingTime,
		VLANFiltering: b(s.VLANFiltering), MulticastSnooping: b(s.MulticastSnooping),
		MTU: s.MTU, Up: b(s.Up), Ports: []Port{},
	}
	if s.DefaultPVID != 0 || s.VLANFiltering {
		out.DefaultPVID = u(s.DefaultPVID)
	}
	for _, p := range s.Ports {
		port := Port{Name: p.Name}
		if s.VLANFiltering {
			port.VLANs = p.VLANs
		}
		out.Ports = append(out.Ports, port)
	}
	return out
}
