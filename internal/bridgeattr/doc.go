// Package bridgeattr reads and writes the bridge attributes that
// vishvananda/netlink lacks, with raw rtnetlink messages on an nl.Conn:
// the STP state, priority and timers of a bridge (IFLA_BR_*), its bridge
// and root ids, the STP state of its ports (IFLA_BRPORT_*), and the VLANs
// of ports (RTM_SETLINK/RTM_DELLINK AF_BRIDGE with IFLA_AF_SPEC
// IFLA_BRIDGE_VLAN_INFO, and the AF_BRIDGE dump with RTEXT_FILTER_BRVLAN).
// It exists only on Linux.
package bridgeattr
