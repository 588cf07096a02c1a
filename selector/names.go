package selector

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Names are the predictable names systemd-udevd's net_id builtin (naming
// scheme v252) derives for one network interface, each with its type
// prefix ("en" Ethernet, "wl" WLAN, "ww" WWAN, "ib" InfiniBand, "sl"
// SLIP); a name the device has no basis for is "". They are the values of
// ID_NET_NAME_ONBOARD, ID_NET_NAME_SLOT, ID_NET_NAME_PATH and
// ID_NET_NAME_MAC that `udevadm test-builtin net_id` prints.
type Names struct {
	// Onboard is from the firmware's index of an onboard device
	// (ACPI _DSM acpi_index, else SMBIOS type 41 index): "eno1"; or, on
	// devicetree machines, from the "ethernet<N>" alias of the device's
	// node: "end0".
	Onboard string `json:"onboard,omitempty" yaml:"onboard,omitempty"`
	// Slot is from the PCI Express hotplug slot number: "ens1", "ens1f1".
	Slot string `json:"slot,omitempty" yaml:"slot,omitempty"`
	// Path is from the PCI location: "enp0s3", "enP1p5s0f1d1", and for
	// USB devices the PCI location of the host controller followed by the
	// USB port chain: "enp0s20u1u4".
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// MAC is from a permanent (not random) MAC address: "enx02fc00000001".
	MAC string `json:"mac,omitempty" yaml:"mac,omitempty"`
	// USB reports that the device sits on a USB bus; udev names those
	// by MAC address first (73-usb-net-by-mac.link).
	USB bool `json:"usb,omitempty" yaml:"usb,omitempty"`
}

// Preferred returns the name udev's default policy would give the
// interface: the first of Onboard, Slot, Path and MAC that is set (MAC
// first for USB devices), or "" when there is none and the kernel name
// stays. Stock udev lists MAC only as an alternative name for non-USB
// devices; like Talos Linux, Preferred falls back to it.
func (n Names) Preferred() string {
	order := []string{n.Onboard, n.Slot, n.Path, n.MAC}
	if n.USB {
		order = []string{n.MAC, n.Onboard, n.Slot, n.Path}
	}
	for _, s := range order {
		if s != "" {
			return s
		}
	}
	return ""
}

// All returns the names that are set, in the order of Preferred.
func (n Names) All() []string {
	var out []string
	first := n.Preferred()
	if first != "" {
		out = append(out, first)
	}
	for _, s := range []string{n.Onboard, n.Slot, n.Path, n.MAC} {
		if s != "" && s != first {
			out = append(out, s)
		}
	}
	return out
}

// NamesEnabled reports whether a kernel command line (the content of
// /proc/cmdline) leaves predictable names on: false when net.ifnames is
// set to 0, "no", "false" or "off" (the last occurrence counts).
func NamesEnabled(cmdline string) bool {
	on := true
	for _, w := range strings.Fields(cmdline) {
		if w == "--" {
			break // the rest goes to init
		}
		k, v, ok := strings.Cut(w, "=")
		if k != "net.ifnames" {
			continue
		}
		if !ok {
			on = true
			continue
		}
		switch strings.ToLower(v) {
		case "0", "no", "false", "off", "n", "f":
			on = false
		case "1", "yes", "true", "on", "y", "t":
			on = true
		}
	}
	return on
}

// Predict computes the predictable names of interface ifname from the
// sysfs tree in fsys, an fs.FS rooted at the filesystem root (read
// "sys/class/net/IFNAME", "sys/bus/pci/slots"): os.DirFS("/") on a live
// system, or a fixture tree in tests. fsys must implement fs.ReadLinkFS.
//
// /sys/class/net lists the devices of the network namespace that mounted
// sysfs, not necessarily the caller's.
//
// Stacked devices (VLANs and others whose iflink differs from ifindex) and
// link types other than Ethernet, InfiniBand and SLIP get no names, as
// with udev. s390 (CCW, function_id slots), IBM VIO, ACPI platform, Xen,
// netdevsim and BCMA names are not computed.
func Predict(fsys fs.FS, ifname string) (Names, error) {
	if ifname == "" || strings.ContainsAny(ifname, "/") || ifname == "." || ifname == ".." {
		return Names{}, fmt.Errorf("selector: bad interface name %q", ifname)
	}
	s := sysfs{fsys}
	p, err := s.resolve(path.Join("sys/class/net", ifname))
	if err != nil {
		return Names{}, fmt.Errorf("selector: interface %s: %w", ifname, err)
	}
	dev := device{fs: s, path: p}
	var n Names
	ifindex, err1 := dev.uint("ifindex")
	iflink, err2 := dev.uint("iflink")
	if err1 != nil || err2 != nil {
		return Names{}, fmt.Errorf("selector: interface %s: no ifindex/iflink in %s", ifname, p)
	}
	if ifindex != iflink {
		return n, nil // stacked
	}
	prefix, ok := ifPrefix(dev)
	if !ok {
		return n, nil
	}
	n.MAC = macName(dev, prefix)
	_, n.USB = dev.parentWith("usb", "")
	n.Onboard = devicetreeName(dev, prefix)
	pciNames(dev, prefix, &n)
	usbNames(dev, prefix, &n)
	return n, nil
}

// PredictAll returns the names of every interface in fsys's
// sys/class/net, by kernel name. Interfaces whose names cannot be read
// are left out; the error lists them.
func PredictAll(fsys fs.FS) (map[string]Names, error) {
	ents, err := fs.ReadDir(fsys, "sys/class/net")
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	out := make(map[string]Names, len(ents))
	var errs []error
	for _, e := range ents {
		n, err := Predict(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[e.Name()] = n
	}
	return out, errors.Join(errs...)
}

const (
	arphrdEther      = 1
	arphrdSLIP       = 256
	arphrdInfiniband = 32
)

func ifPrefix(dev device) (string, bool) {
	t, err := dev.uint("type")
	if err != nil {
		return "", false
	}
	switch t {
	case arphrdEther:
		switch dev.uevent("DEVTYPE") {
		case "wlan":
			return "wl", true
		case "wwan":
			return "ww", true
		}
		return "en", true
	case arphrdInfiniband:
		return "ib", true
	case arphrdSLIP:
		return "sl", true
	}
	return "", false
}

// macName is "<prefix>x<mac>" for a 6-byte address the hardware assigned
// (addr_assign_type 0, NET_ADDR_PERM).
func macName(dev device, prefix string) string {
	if prefix == "ib" {
		return ""
	}
	if t, err := dev.uint("addr_assign_type"); err != nil || t != 0 {
		return ""
	}
	a, err := dev.attr("address")
	if err != nil {
		return ""
	}
	hw, err := net.ParseMAC(strings.TrimSpace(a))
	if err != nil || len(hw) != 6 || slices.Equal(hw, make(net.HardwareAddr, 6)) {
		return ""
	}
	return prefix + "x" + hex.EncodeToString(hw)
}

// pciNames fills Onboard, Slot and Path of a device whose parent (virtio
// devices skipped) is a PCI device.
func pciNames(dev device, prefix string, n *Names) {
	parent, ok := dev.parent()
	for ok && parent.subsystem() == "virtio" {
		parent, ok = parent.parent()
	}
	if !ok || parent.subsystem() != "pci" {
		return
	}
	suffix := ""
	if pf, vf, ok := virtfn(parent); ok {
		parent, suffix = pf, vf
	}
	if idx, ok := onboardIndex(parent); ok {
		// Overrides a devicetree name, as udev, which sets it later.
		n.Onboard = prefix + "o" + strconv.FormatUint(idx, 10) + portSpec(dev, false) + suffix
	}
	n.Path, n.Slot = pciSlotNames(dev, parent, prefix, suffix)
}

// usbNames fills Path (and Slot) of a device on USB: the names of the PCI
// host controller with the USB port chain, configuration and interface
// appended.
func usbNames(dev device, prefix string, n *Names) {
	usb, ok := dev.parentWith("usb", "usb_interface")
	if !ok {
		return
	}
	spec, ok := usbSpec(usb.sysname())
	if !ok {
		return
	}
	pci, ok := usb.parentWith("pci", "")
	if !ok {
		return
	}
	p, s := pciSlotNames(dev, pci, prefix, spec)
	if p != "" {
		n.Path = p
	}
	if s != "" {
		n.Slot = s
	}
}

// usbSpec turns a USB interface name "BUS-PORT[.PORT...]:CONFIG.INTERFACE"
// into "u<port>[u<port>...][c<config>][i<interface>]", leaving out
// configuration 1 and interface 0.
func usbSpec(sysname string) (string, bool) {
	_, rest, ok := strings.Cut(sysname, "-")
	if !ok {
		return "", false
	}
	ports, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return "", false
	}
	config, intf, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	s := "u" + strings.ReplaceAll(ports, ".", "u")
	if config != "1" {
		s += "c" + config
	}
	if intf != "0" {
		s += "i" + intf
	}
	return s, true
}

// virtfn reports whether pci is an SR-IOV virtual function; it returns the
// physical function and the suffix "v<N>".
func virtfn(pci device) (device, string, bool) {
	pf, err := pci.child("physfn")
	if err != nil {
		return device{}, "", false
	}
	ents, err := fs.ReadDir(pci.fs.fsys, pf.path)
	if err != nil {
		return device{}, "", false
	}
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "virtfn")
		if !ok || num == "" || strings.Trim(num, "0123456789") != "" {
			continue
		}
		vf, err := pf.child(e.Name())
		if err == nil && vf.path == pci.path {
			return pf, "v" + num, true
		}
	}
	return device{}, "", false
}

// Onboard indexes above this are firmware garbage (VMware reports 2^24-1).
const onboardIndexMax = 1<<16 - 1

func onboardIndex(pci device) (uint64, bool) {
	idx, err := pci.uint("acpi_index")
	if err != nil {
		if idx, err = pci.uint("index"); err != nil {
			return 0, false
		}
	}
	return idx, idx <= onboardIndexMax
}

// portSpec is "n<phys_port_name>" when the driver names the port, else
// "d<dev_port>" for a port other than the first of a PCI function, else "".
// With devID, InfiniBand devices that report the port in dev_id instead
// of dev_port are handled too.
func portSpec(dev device, devID bool) string {
	if name, err := dev.attr("phys_port_name"); err == nil && name != "" {
		return "n" + name
	}
	port, _ := dev.uint("dev_port")
	if port == 0 && devID {
		if t, _ := dev.uint("type"); t == arphrdInfiniband {
			// udev v252 parses dev_id as decimal; the kernel prints it
			// in hexadecimal ("0x1"), which it then ignores.
			if id, err := dev.uint("dev_id"); err == nil {
				port = id
			}
		}
	}
	if port > 0 {
		return "d" + strconv.FormatUint(port, 10)
	}
	return ""
}

// pciAddr parses a PCI device name "DOMAIN:BUS:SLOT.FUNC" (hexadecimal,
// the function decimal).
func pciAddr(name string) (domain, bus, slot, fn uint64, ok bool) {
	parts := strings.Split(name, ":")
	if len(parts) != 3 {
		return
	}
	sl, f, found := strings.Cut(parts[2], ".")
	if !found {
		return
	}
	var err [4]error
	domain, err[0] = strconv.ParseUint(parts[0], 16, 32)
	bus, err[1] = strconv.ParseUint(parts[1], 16, 32)
	slot, err[2] = strconv.ParseUint(sl, 16, 32)
	fn, err[3] = strconv.ParseUint(f, 10, 32)
	for _, e := range err {
		if e != nil {
			return 0, 0, 0, 0, false
		}
	}
	return domain, bus, slot, fn, true
}

// pciSlotNames returns the path name and the hotplug slot name of dev on
// PCI device pci, each ending in suffix.
func pciSlotNames(dev, pci device, prefix, suffix string) (pathName, slotName string) {
	domain, bus, slot, fn, ok := pciAddr(pci.sysname())
	if !ok {
		return "", ""
	}
	if v, err := pci.attr("ari_enabled"); err == nil && strings.TrimSpace(v) == "1" {
		// ARI: slot and function form one 8-bit function number.
		fn += slot * 8
	}
	dom := ""
	if domain > 0 {
		dom = "P" + strconv.FormatUint(domain, 10)
	}
	fnSpec := ""
	if fn > 0 || isMultifunction(pci) {
		fnSpec = "f" + strconv.FormatUint(fn, 10)
	}
	port := portSpec(dev, true)
	pathName = fmt.Sprintf("%s%sp%ds%d%s%s%s", prefix, dom, bus, slot, fnSpec, port, suffix)
	if hs, ok := hotplugSlot(pci); ok {
		slotName = fmt.Sprintf("%s%ss%d%s%s%s", prefix, dom, hs, fnSpec, port, suffix)
	}
	return pathName, slotName
}

// pciHeaderType is the offset of the header type in PCI configuration
// space; its bit 7 marks a multi-function device.
const pciHeaderType = 0x0e

func isMultifunction(pci device) bool {
	b, err := pci.raw("config")
	return err == nil && len(b) > pciHeaderType && b[pciHeaderType]&0x80 != 0
}

// isBridge reports whether the modalias of pci has PCI subclass 04
// ("...sc04i..."), the test udev applies.
func isBridge(pci device) bool {
	m, err := pci.attr("modalias")
	if err != nil || !strings.HasPrefix(m, "pci:") {
		return false
	}
	i := strings.LastIndexByte(m, 's')
	return i >= 0 && strings.HasPrefix(m[i+1:], "c04")
}

// hotplugSlot finds the slot in sys/bus/pci/slots whose address is a prefix
// of pci's name or of one of its PCI ancestors. A slot found on a PCI
// bridge is used only when pci is a multi-function device (naming scheme
// v251 to v254), since the bridge's other children would claim it too.
func hotplugSlot(pci device) (uint64, bool) {
	ents, err := fs.ReadDir(pci.fs.fsys, "sys/bus/pci/slots")
	if err != nil {
		return 0, false
	}
	for d, ok := pci, true; ok; d, ok = d.parentWith("pci", "") {
		name := d.sysname()
		for _, e := range ents {
			n, err := strconv.ParseUint(e.Name(), 10, 32)
			if err != nil || n == 0 {
				continue
			}
			addr, err := fs.ReadFile(pci.fs.fsys, path.Join("sys/bus/pci/slots", e.Name(), "address"))
			a := strings.TrimRight(string(addr), "\n")
			if err != nil || !strings.HasPrefix(name, a) {
				continue
			}
			if isBridge(d) && !isMultifunction(pci) {
				return 0, false
			}
			return n, true
		}
	}
	return 0, false
}

// devicetreeName is "<prefix>d<N>" when the node of the interface's parent
// device (its of_node link) is the target of the devicetree alias
// "ethernet<N>" ("ethernet" alone counts as 0 unless "ethernet0" exists
// too, and the reverse). Only Ethernet devices are named so.
func devicetreeName(dev device, prefix string) string {
	if prefix != "en" {
		return ""
	}
	parent, ok := dev.parent()
	if !ok {
		return ""
	}
	node, err := parent.child("of_node")
	if err != nil {
		return ""
	}
	base, err := dev.fs.resolve("proc/device-tree")
	if err != nil {
		return ""
	}
	rel, ok := strings.CutPrefix(node.path, base+"/")
	if !ok {
		return ""
	}
	aliases := path.Join(base, "aliases")
	ents, err := fs.ReadDir(dev.fs.fsys, aliases)
	if err != nil {
		return ""
	}
	has := func(name string) bool {
		_, err := fs.Stat(dev.fs.fsys, path.Join(aliases, name))
		return err == nil
	}
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "ethernet")
		if !ok || e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(dev.fs.fsys, path.Join(aliases, e.Name()))
		if err != nil {
			continue
		}
		target := strings.TrimRight(string(b), "\x00\n")
		if path.Clean(target) != "/"+rel {
			continue
		}
		idx, conflict := uint64(0), "ethernet0"
		if num != "" {
			if idx, err = strconv.ParseUint(num, 10, 32); err != nil {
				return ""
			}
			conflict = "ethernet"
		}
		if idx == 0 && has(conflict) {
			return "" // "ethernet" and "ethernet0" both exist
		}
		return prefix + "d" + strconv.FormatUint(idx, 10)
	}
	return ""
}
