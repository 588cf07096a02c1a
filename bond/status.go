package bond

// Status is a bond as the kernel reports it.
type Status struct {
	// Spec holds the bond's name, mode, members (ordered by interface
	// index), MTU, up state, hardware address and every option valid in
	// its mode, read back from the kernel. Applying it changes nothing
	// (except with failOverMac active, where Validate refuses the
	// hardware address, which then follows the active member).
	Spec `yaml:",inline"`
	// Index is the bond's interface index.
	Index int `json:"index" yaml:"index"`
	// OperState is the operational state, lowercase as "ip link" prints
	// it ("up", "down", "lowerlayerdown", ...).
	OperState string `json:"operState" yaml:"operState"`
	// Carrier reports IFF_LOWER_UP.
	Carrier bool `json:"carrier" yaml:"carrier"`
	// ActiveMember is the active member (active-backup, balance-tlb,
	// balance-alb), "" when none.
	ActiveMember string `json:"activeMember,omitempty" yaml:"activeMember,omitempty"`
	// OwnedBy is the owner whose marker (see link.Marker) the bond
	// carries, "" when none.
	OwnedBy string `json:"ownedBy,omitempty" yaml:"ownedBy,omitempty"`
	// AD is the 802.3ad aggregator state; nil in other modes.
	AD *ADInfo `json:"ad,omitempty" yaml:"ad,omitempty"`
	// MemberStatus is the state of each member, ordered by index.
	MemberStatus []Member `json:"memberStatus,omitempty" yaml:"memberStatus,omitempty"`
}

// ADInfo is the bond's active 802.3ad aggregator (IFLA_BOND_AD_INFO).
type ADInfo struct {
	// AggregatorID is the active aggregator's id; NumPorts the number of
	// members in it.
	AggregatorID int `json:"aggregatorID" yaml:"aggregatorID"`
	NumPorts     int `json:"numPorts" yaml:"numPorts"`
	// ActorKey and PartnerKey are the LACP operational keys of this end
	// and of the partner.
	ActorKey   int `json:"actorKey" yaml:"actorKey"`
	PartnerKey int `json:"partnerKey" yaml:"partnerKey"`
	// PartnerMAC is the partner's system MAC address (all zero without a
	// partner).
	PartnerMAC string `json:"partnerMAC" yaml:"partnerMAC"`
}

// Member is one member of a bond (IFLA_BOND_SLAVE_*).
type Member struct {
	// Name and Index identify the member link.
	Name  string `json:"name" yaml:"name"`
	Index int    `json:"index" yaml:"index"`
	// Up is the administrative state, OperState and Carrier the link
	// state of the member.
	Up        bool   `json:"up" yaml:"up"`
	OperState string `json:"operState" yaml:"operState"`
	Carrier   bool   `json:"carrier" yaml:"carrier"`
	// State is "active" or "backup" as the bond sees the member.
	State string `json:"state" yaml:"state"`
	// MIIStatus is "up", "going_down", "down" or "going_back" (BOND_LINK_*;
	// "going" while updelay or downdelay runs).
	MIIStatus string `json:"miiStatus" yaml:"miiStatus"`
	// LinkFailures counts the member's link failures.
	LinkFailures int `json:"linkFailures" yaml:"linkFailures"`
	// PermHardwareAddr is the member's own address, which the bond may
	// have replaced.
	PermHardwareAddr string `json:"permHardwareAddr,omitempty" yaml:"permHardwareAddr,omitempty"`
	// QueueID is the member's transmit queue id.
	QueueID int `json:"queueID" yaml:"queueID"`
	// AggregatorID, ActorPortState and PartnerPortState are the 802.3ad
	// aggregator the member is in and the LACP port states (bits as in
	// IEEE 802.1AX) of the actor and the partner; 0 in other modes.
	AggregatorID     int `json:"aggregatorID,omitempty" yaml:"aggregatorID,omitempty"`
	ActorPortState   int `json:"actorPortState,omitempty" yaml:"actorPortState,omitempty"`
	PartnerPortState int `json:"partnerPortState,omitempty" yaml:"partnerPortState,omitempty"`
}
