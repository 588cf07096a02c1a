package selector_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing/fstest"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

var links = []link.Status{
	{Name: "lo", Flags: []string{"LOOPBACK", "UP"}},
	{Name: "eth0", Driver: "virtio_net", BusInfo: "0000:00:03.0", PCIID: "1af4:1000", HardwareAddr: "52:54:00:12:34:56"},
	{Name: "eth1", Driver: "e1000e", BusInfo: "0000:00:19.0", PCIID: "8086:15b8", HardwareAddr: "3c:97:0e:aa:bb:cc", PermHardwareAddr: "3c:97:0e:aa:bb:cc"},
	{Name: "veth0", Kind: "veth", Driver: "veth", HardwareAddr: "7a:11:22:33:44:55"},
}

// MatchOne resolves a selector that must name exactly one device.
func ExampleSelector_MatchOne() {
	l, err := selector.Selector{PCIID: "1AF4:1000"}.MatchOne(links)
	fmt.Println(l.Name, err)

	_, err = selector.Selector{BusPath: "0*"}.MatchOne(links)
	fmt.Println(errors.Is(err, selector.ErrAmbiguous), err)

	_, err = selector.Selector{Driver: "mlx5_core"}.MatchOne(links)
	fmt.Println(errors.Is(err, netprim.ErrNotFound), err)
	// Output:
	// eth0 <nil>
	// true selector busPath=0*: selector matches several devices: eth0, eth1: invalid spec
	// true selector driver=mlx5_core: no device matches (among 4): not found
}

// Match returns every device a selector matches.
func ExampleSelector_Match() {
	physical := true
	m, err := selector.Selector{HardwareAddr: "*:CC", Physical: &physical}.Match(links)
	for _, l := range m {
		fmt.Println(l.Name)
	}
	fmt.Println(err)
	// Output:
	// eth1
	// <nil>
}

// Explain shows why each device matched or not.
func ExampleSelector_Explain() {
	for _, e := range (selector.Selector{Driver: "e1000e", BusPath: "0000:00:*"}).Explain(links) {
		fmt.Println(e)
	}
	// Output:
	// lo: no match (driver (none) != e1000e; busPath (none) does not match 0000:00:*)
	// eth0: no match (driver virtio_net != e1000e; busPath 0000:00:03.0 matches 0000:00:*)
	// eth1: match (driver e1000e == e1000e; busPath 0000:00:19.0 matches 0000:00:*)
	// veth0: no match (driver veth != e1000e; busPath (none) does not match 0000:00:*)
}

// Validate names the bad field.
func ExampleSelector_Validate() {
	err := selector.Selector{BusPath: "00:["}.Validate()
	fmt.Println(errors.Is(err, netprim.ErrInvalidSpec))
	fmt.Println(err)
	// Output:
	// true
	// selector: busPath: bad pattern "00:[": syntax error in pattern: invalid spec
}

// Predict reads sysfs through an fs.FS: here a minimal tree of a virtio NIC
// on PCI device 0000:00:03.0; on a live system, os.DirFS("/").
func ExamplePredict() {
	dev := "sys/devices/pci0000:00/0000:00:03.0"
	net := dev + "/virtio0/net/eth0"
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s + "\n")} }
	symlink := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: fs.ModeSymlink} }
	sys := fstest.MapFS{
		"sys/class/net/eth0":       symlink("../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0"),
		dev + "/uevent":            file("PCI_SLOT_NAME=0000:00:03.0"),
		dev + "/subsystem":         symlink("../../../bus/pci"),
		dev + "/virtio0/uevent":    file(""),
		dev + "/virtio0/subsystem": symlink("../../../../bus/virtio"),
		net + "/uevent":            file("INTERFACE=eth0"),
		net + "/ifindex":           file("2"),
		net + "/iflink":            file("2"),
		net + "/type":              file("1"),
		net + "/address":           file("52:54:00:12:34:56"),
		net + "/addr_assign_type":  file("0"),
	}
	n, err := selector.Predict(sys, "eth0")
	fmt.Println(n.Preferred(), n.All(), err)
	fmt.Println(selector.NamesEnabled("root=/dev/vda1 net.ifnames=0"))
	// Output:
	// enp0s3 [enp0s3 enx525400123456] <nil>
	// false
}
