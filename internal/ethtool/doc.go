// Package ethtool reads driver, bus and link-speed information of network
// devices through the SIOCETHTOOL ioctl, on a socket created inside the
// devices' network namespace, and PCI identifiers from sysfs.
//
// Reading /sys/class/net from another network namespace shows that
// namespace's devices, so per-device facts come from the ioctl only; the PCI
// tree (/sys/bus/pci) is not namespaced and is safe to read from anywhere.
package ethtool

// Info is what ethtool reports for one device. Zero fields are unknown.
type Info struct {
	Driver  string // ETHTOOL_GDRVINFO driver, e.g. "veth", "virtio_net"
	BusInfo string // ETHTOOL_GDRVINFO bus_info, e.g. "0000:00:03.0"
	Speed   int    // Mb/s; 0 when unknown
	Duplex  string // "full", "half"; "" when unknown
}
