package ethtool

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SysfsPCIDevices is where the kernel lists PCI devices.
const SysfsPCIDevices = "/sys/bus/pci/devices"

// pciAddress matches a PCI address as ethtool reports it in bus_info:
// domain:bus:device.function, e.g. "0000:00:1f.6".
var pciAddress = regexp.MustCompile(`^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// IsPCIAddress reports whether bus looks like a PCI address.
func IsPCIAddress(bus string) bool { return pciAddress.MatchString(strings.ToLower(bus)) }

// PCIID returns "VENDOR:DEVICE" (lowercase hex without 0x, as lspci -n
// prints it) for the PCI device at bus, read from dir/BUS/vendor and
// dir/BUS/device (dir is normally SysfsPCIDevices). It returns "" when bus
// is not a PCI address or the files cannot be read.
func PCIID(dir, bus string) string {
	bus = strings.ToLower(bus)
	if !IsPCIAddress(bus) {
		return ""
	}
	vendor := readHex16(filepath.Join(dir, bus, "vendor"))
	device := readHex16(filepath.Join(dir, bus, "device"))
	if vendor == "" || device == "" {
		return ""
	}
	return vendor + ":" + device
}

// readHex16 reads a sysfs file holding "0x8086\n" and returns "8086".
func readHex16(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.ToLower(strings.TrimSpace(string(b)))
	s = strings.TrimPrefix(s, "0x")
	if len(s) == 0 || len(s) > 4 || strings.Trim(s, "0123456789abcdef") != "" {
		return ""
	}
	return strings.Repeat("0", 4-len(s)) + s
}
