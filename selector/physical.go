package selector

import (
	"slices"

	"github.com/netprim/netprim/link"
)

// virtualBuses are the bus names ethtool reports for devices that sit on no
// bus: bridges and bonds say "N/A", tun and tap devices "tun" or "tap".
var virtualBuses = []string{"N/A", "tun", "tap"}

// IsPhysical reports whether l is real hardware. The rule, from what
// link.Status carries:
//
//   - a link with a kind (IFLA_INFO_KIND: veth, bridge, bond, vlan, tun,
//     ...) is virtual, whatever its driver says;
//   - the loopback device is virtual;
//   - otherwise the link is physical when it has a PCI ID, a bus path that
//     names a device (not "", "N/A", "tun" or "tap"), or a permanent
//     address, which only hardware (and drivers emulating it) report.
//
// Virtio, Xen and other paravirtual NICs count as physical: they are the
// machine's own devices, on a bus, just as the hypervisor presents them.
func IsPhysical(l link.Status) bool {
	switch physicalReason(l) {
	case reasonPCI, reasonBus, reasonPerm:
		return true
	}
	return false
}

const (
	reasonKind     = "has kind "
	reasonLoopback = "loopback"
	reasonPCI      = "has a PCI ID"
	reasonBus      = "has a bus path"
	reasonPerm     = "has a permanent address"
	reasonNone     = "no bus path, PCI ID or permanent address"
)

func physicalReason(l link.Status) string {
	switch {
	case l.Kind != "":
		return reasonKind + l.Kind
	case slices.Contains(l.Flags, "LOOPBACK") || l.Name == "lo":
		return reasonLoopback
	case l.PCIID != "":
		return reasonPCI
	case l.BusInfo != "" && !slices.Contains(virtualBuses, l.BusInfo):
		return reasonBus
	case l.PermHardwareAddr != "":
		return reasonPerm
	}
	return reasonNone
}
