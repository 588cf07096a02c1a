package link

// Status is a link as the kernel reports it. All values are copies; none
// refers to kernel state.
type Status struct {
	// Index is the interface index.
	Index int `json:"index" yaml:"index"`
	// Name is the interface name.
	Name string `json:"name" yaml:"name"`
	// Kind is the link kind (IFLA_INFO_KIND), e.g. "veth", "bridge"; ""
	// for devices without one (physical devices, loopback).
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// MTU in bytes.
	MTU int `json:"mtu" yaml:"mtu"`
	// TxQueueLen is the transmit queue length.
	TxQueueLen int `json:"txQueueLen" yaml:"txQueueLen"`
	// Up is the administrative state (IFF_UP).
	Up bool `json:"up" yaml:"up"`
	// Flags are the interface flags in the words and order of "ip link",
	// e.g. ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]; "NO-CARRIER"
	// comes first when the link is up without carrier.
	Flags []string `json:"flags" yaml:"flags"`
	// OperState is the RFC 2863 operational state as "ip link" prints it,
	// lowercase: "up", "down", "unknown", "lowerlayerdown", "dormant",
	// "notpresent", "testing".
	OperState string `json:"operState" yaml:"operState"`
	// Carrier reports whether the link has carrier (IFF_LOWER_UP).
	Carrier bool `json:"carrier" yaml:"carrier"`
	// HardwareAddr is the link-layer address, lowercase, colon-separated.
	HardwareAddr string `json:"hardwareAddr,omitempty" yaml:"hardwareAddr,omitempty"`
	// PermHardwareAddr is the permanent address burnt into the device
	// (IFLA_PERM_ADDRESS); "" for virtual devices.
	PermHardwareAddr string `json:"permHardwareAddr,omitempty" yaml:"permHardwareAddr,omitempty"`
	// MasterIndex and Master identify the link's master (bridge, bond,
	// vrf); 0 and "" when it has none.
	MasterIndex int    `json:"masterIndex,omitempty" yaml:"masterIndex,omitempty"`
	Master      string `json:"master,omitempty" yaml:"master,omitempty"`
	// ParentIndex is IFLA_LINK: the peer of a veth, the parent of a VLAN
	// or macvlan; 0 when none. It indexes ParentNetnsID's namespace.
	ParentIndex int `json:"parentIndex,omitempty" yaml:"parentIndex,omitempty"`
	// ParentNetnsID is the namespace id (as this namespace numbers them)
	// in which ParentIndex lives, or -1 for this namespace.
	ParentNetnsID int `json:"parentNetnsID" yaml:"parentNetnsID"`
	// Peer is the name of a veth's peer when it lives in the same
	// namespace; "" otherwise.
	Peer string `json:"peer,omitempty" yaml:"peer,omitempty"`
	// VXLAN holds the parameters of a vxlan link as the kernel reports
	// them; nil for other kinds. Every field the kernel reports is set:
	// Port is the kernel's default (8472) when none was given, TTL 0 means
	// "auto" or "inherit", Learning is never nil. Remote holds a unicast
	// and Group a multicast remote address; Dev is "" when the underlay
	// link lives in another namespace.
	VXLAN *VXLAN `json:"vxlan,omitempty" yaml:"vxlan,omitempty"`
	// MACVLAN holds the parent and mode of a macvlan link; nil for other
	// kinds. Mode is always set ("vepa" by default); Parent is "" when
	// the parent lives in another namespace (see ParentIndex).
	MACVLAN *MACVLAN `json:"macvlan,omitempty" yaml:"macvlan,omitempty"`
	// VRF holds the table of a vrf link; nil for other kinds.
	VRF *VRF `json:"vrf,omitempty" yaml:"vrf,omitempty"`
	// Alias is the interface alias (ifalias).
	Alias string `json:"alias,omitempty" yaml:"alias,omitempty"`
	// AltNames are the alternative names, ownership markers included.
	AltNames []string `json:"altNames,omitempty" yaml:"altNames,omitempty"`
	// OwnedBy is the owner name whose marker the link carries (see
	// Marker), or "".
	OwnedBy string `json:"ownedBy,omitempty" yaml:"ownedBy,omitempty"`
	// Driver and BusInfo are what ethtool reports (ETHTOOL_GDRVINFO),
	// e.g. "virtio_net" and "0000:00:03.0"; "" when unknown.
	Driver  string `json:"driver,omitempty" yaml:"driver,omitempty"`
	BusInfo string `json:"busInfo,omitempty" yaml:"busInfo,omitempty"`
	// PCIID is "VENDOR:DEVICE" in hex, as lspci -n prints it, when
	// BusInfo is a PCI address.
	PCIID string `json:"pciID,omitempty" yaml:"pciID,omitempty"`
	// Speed in Mb/s and Duplex ("full", "half") where the driver knows
	// them; 0 and "" otherwise.
	Speed  int    `json:"speed,omitempty" yaml:"speed,omitempty"`
	Duplex string `json:"duplex,omitempty" yaml:"duplex,omitempty"`
	// Stats are the interface counters.
	Stats Stats `json:"stats" yaml:"stats"`
}

// Stats are the interface counters (IFLA_STATS64).
type Stats struct {
	RxPackets uint64 `json:"rxPackets" yaml:"rxPackets"`
	TxPackets uint64 `json:"txPackets" yaml:"txPackets"`
	RxBytes   uint64 `json:"rxBytes" yaml:"rxBytes"`
	TxBytes   uint64 `json:"txBytes" yaml:"txBytes"`
	RxErrors  uint64 `json:"rxErrors" yaml:"rxErrors"`
	TxErrors  uint64 `json:"txErrors" yaml:"txErrors"`
	RxDropped uint64 `json:"rxDropped" yaml:"rxDropped"`
	TxDropped uint64 `json:"txDropped" yaml:"txDropped"`
}

// Interface flags (include/uapi/linux/if.h), the same on every Linux
// architecture; defined here so that flag rendering is portable.
const (
	iffUp           = 0x1
	iffBroadcast    = 0x2
	iffDebug        = 0x4
	iffLoopback     = 0x8
	iffPointToPoint = 0x10
	iffNoTrailers   = 0x20
	iffRunning      = 0x40
	iffNoARP        = 0x80
	iffPromisc      = 0x100
	iffAllMulti     = 0x200
	iffMaster       = 0x400
	iffSlave        = 0x800
	iffMulticast    = 0x1000
	iffPortSel      = 0x2000
	iffAutoMedia    = 0x4000
	iffDynamic      = 0x8000
	iffLowerUp      = 0x10000
	iffDormant      = 0x20000
	iffEcho         = 0x40000
)

// flagNames in the order iproute2 prints them.
var flagNames = []struct {
	bit  uint32
	name string
}{
	{iffLoopback, "LOOPBACK"},
	{iffBroadcast, "BROADCAST"},
	{iffPointToPoint, "POINTOPOINT"},
	{iffMulticast, "MULTICAST"},
	{iffNoARP, "NOARP"},
	{iffAllMulti, "ALLMULTI"},
	{iffPromisc, "PROMISC"},
	{iffNoTrailers, "NOTRAILERS"},
	{iffDebug, "DEBUG"},
	{iffMaster, "MASTER"},
	{iffSlave, "SLAVE"},
	{iffDynamic, "DYNAMIC"},
	{iffAutoMedia, "AUTOMEDIA"},
	{iffPortSel, "PORTSEL"},
	{iffUp, "UP"},
	{iffLowerUp, "LOWER_UP"},
	{iffDormant, "DORMANT"},
	{iffEcho, "ECHO"},
}

// renderFlags turns raw interface flags into the words "ip link" uses.
func renderFlags(raw uint32) []string {
	out := make([]string, 0, 6)
	if raw&iffUp != 0 && raw&iffRunning == 0 {
		out = append(out, "NO-CARRIER")
	}
	for _, f := range flagNames {
		if raw&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// operStates are IF_OPER_* values as "ip link" prints them, lowercase.
var operStates = [...]string{
	0: "unknown",
	1: "notpresent",
	2: "down",
	3: "lowerlayerdown",
	4: "testing",
	5: "dormant",
	6: "up",
}

func renderOperState(v uint8) string {
	if int(v) < len(operStates) {
		return operStates[v]
	}
	return "unknown"
}
