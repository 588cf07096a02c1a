package vlan

// Status is a VLAN link as the kernel reports it.
type Status struct {
	// Index is the interface index; Name the interface name.
	Index int    `json:"index" yaml:"index"`
	Name  string `json:"name" yaml:"name"`
	// Parent names the parent link ("" when it lives in another
	// namespace); ParentIndex is its index.
	Parent      string `json:"parent" yaml:"parent"`
	ParentIndex int    `json:"parentIndex" yaml:"parentIndex"`
	// ID is the VLAN id.
	ID int `json:"id" yaml:"id"`
	// Protocol is Protocol8021Q or Protocol8021AD.
	Protocol string `json:"protocol" yaml:"protocol"`
	// MTU in bytes; Up the administrative state.
	MTU int  `json:"mtu" yaml:"mtu"`
	Up  bool `json:"up" yaml:"up"`
	// IngressQoS and EgressQoS are the QoS maps (never nil).
	IngressQoS map[uint32]uint32 `json:"ingressQoS" yaml:"ingressQoS"`
	EgressQoS  map[uint32]uint32 `json:"egressQoS" yaml:"egressQoS"`
	// AltNames are the alternative names, ownership markers included.
	AltNames []string `json:"altNames,omitempty" yaml:"altNames,omitempty"`
}

// Spec returns the Spec that Apply turns into s: every field managed.
func (s Status) Spec() Spec {
	up := s.Up
	return Spec{
		Name: s.Name, Parent: s.Parent, ID: s.ID, Protocol: s.Protocol, MTU: s.MTU, Up: &up,
		IngressQoS: s.IngressQoS, EgressQoS: s.EgressQoS,
	}
}
