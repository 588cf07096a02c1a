// Package selector names network devices by what their hardware reports
// rather than by kernel name, which can change between boots and machines:
// device selectors, and the predictable interface names systemd-udevd
// gives.
//
// # Selectors
//
// A Selector is a set of conditions on a link.Status, all of which must
// hold (logical AND):
//
//	field          compared with                 how
//	driver         Status.Driver (ethtool)       pattern, case-sensitive
//	hardwareAddr   Status.HardwareAddr           pattern, case-insensitive
//	permanentAddr  Status.PermHardwareAddr       pattern, case-insensitive
//	busPath        Status.BusInfo (ethtool)      pattern, case-insensitive
//	pciID          Status.PCIID                  VENDOR:DEVICE, either case
//	physical       IsPhysical(Status)            true or false
//
// Patterns follow path.Match ('*', '?', '[0-7]', '\' escapes); a device
// that lacks a property matches no pattern for it, not even "*". In YAML,
// as a device selector in a Talos Linux machine configuration:
//
//	deviceSelector:
//	  driver: virtio_net
//	  hardwareAddr: "52:54:00:*"
//
//	deviceSelector:
//	  busPath: "0*"   # the only PCI network device of a single-NIC machine
//
// Match returns every link a selector matches; MatchOne is for a
// configuration that names one device and fails when the selector matches
// none (wrapping netprim.ErrNotFound, saying what was looked for) or
// several (wrapping ErrAmbiguous and netprim.ErrInvalidSpec, naming them
// all); a VLAN (or ipvlan) whose parent the selector also matches does not
// count as a second match, since it shows its parent's address. MatchAny
// resolves a list of selectors, such as a bond's ports.
// Explain tells for every device which field matched and which did not:
//
//	eth1: no match (driver e1000e != virtio_net; busPath 0000:00:19.0 matches 0*)
//
// Validate names the bad field and wraps netprim.ErrInvalidSpec:
//
//	selector: busPath: bad pattern "00:[": syntax error in pattern: invalid spec
//
// # Physical devices
//
// IsPhysical decides from a link.Status alone: a link with a kind (veth,
// bridge, bond, vlan, tun, ...) and the loopback device are virtual; any
// other link is physical when it has a PCI ID, a bus path naming a device
// (not "N/A", "tun" or "tap"), or a permanent address. Paravirtual NICs
// such as virtio_net are physical in this sense: they are the machine's
// devices on its bus.
//
// # Predictable interface names
//
// Predict computes the names systemd-udevd's net_id builtin derives with
// naming scheme v252 (the default of systemd 252), read from a sysfs
// tree through an fs.FS rooted at the filesystem root, so os.DirFS("/") on
// a live system and a fixture tree in tests:
//
//	eno<index>[d<port>|n<name>]            onboard, from the firmware index
//	                                       (ACPI acpi_index, else SMBIOS index)
//	end<N>                                 onboard, from the devicetree alias
//	                                       ethernet<N> of the device's node
//	[P<domain>]s<slot>[f<fn>][d<port>]     PCI Express hotplug slot
//	[P<domain>]p<bus>s<slot>[f<fn>][d<port>] PCI location; USB devices add
//	                                       u<port>...[c<config>][i<interface>]
//	x<mac>                                 permanent MAC address
//
// each after the type prefix "en" (Ethernet), "wl" (WLAN), "ww" (WWAN),
// "ib" (InfiniBand) or "sl" (SLIP). The function number appears when it is
// not 0 or the device is multi-function; "d<port>" when the function has
// several ports (dev_port), "n<name>" instead when the driver names its
// ports (phys_port_name); SR-IOV virtual functions are named after their
// physical function with "v<N>"; virtio devices by the PCI device they sit
// on. A hotplug slot that belongs to a PCI bridge is used only for a
// multi-function device behind it. Stacked devices (VLANs) and devices
// with a random address get no name.
//
// Names.Preferred applies udev's precedence: onboard, then slot, then path,
// then MAC (MAC first for USB devices, as udev's 73-usb-net-by-mac.link
// does). A kernel command line with net.ifnames=0 turns renaming off:
// NamesEnabled tells.
//
// Not computed: names of s390 (CCW, function_id slots), IBM VIO, ACPI
// platform, Xen, netdevsim and BCMA devices, and the onboard label
// (ID_NET_LABEL_ONBOARD). Where udevadm is installed, the tests compare Predict
// with `udevadm test-builtin net_id` on the machine's own devices and on
// every fixture tree.
package selector
