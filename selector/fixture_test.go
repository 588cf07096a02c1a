package selector

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"
)

// A fixture describes a sysfs tree, one directive a line ("#" starts a
// comment). The current directory starts at the root.
//
//	cd DIR                        current directory := DIR (from the root)
//	up                            current directory := its parent
//	pci NAME [multifunction] [bridge] [ATTR=VALUE...]
//	                              PCI device NAME in the current directory,
//	                              which becomes the current directory
//	virtio NAME                   virtio device, likewise
//	usb NAME DEVTYPE              USB device (usb_device, usb_interface)
//	dev NAME SUBSYSTEM            any other device, likewise
//	net NAME KEY=VALUE...         network interface NAME below the current
//	                              device (ifindex, iflink, type, address,
//	                              assign, dev_port, phys_port_name, devtype)
//	slot N ADDRESS                sys/bus/pci/slots/N/address
//	link PATH TARGET              symbolic link
//	file PATH CONTENT             file
//	want IFNAME KEY=VALUE...      expected Names (onboard, slot, path, mac,
//	                              usb) and preferred
type fixture struct {
	fsys fstest.MapFS
	want map[string]fixtureWant
}

type fixtureWant struct {
	names     Names
	preferred string
}

func loadFixture(t *testing.T, file string) fixture {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := fixture{fsys: fstest.MapFS{}, want: map[string]fixtureWant{}}
	cwd := "."
	put := func(p, content string) {
		fx.fsys[path.Clean(p)] = &fstest.MapFile{Data: []byte(content), Mode: 0o444}
	}
	symlink := func(p, target string) {
		fx.fsys[path.Clean(p)] = &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
	}
	// device makes a device directory with a uevent file and a subsystem
	// link (to a target that need not exist: only its last element counts).
	device := func(dir, subsystem string, uevent []string) {
		put(path.Join(dir, "uevent"), strings.Join(uevent, "\n")+"\n")
		symlink(path.Join(dir, "subsystem"), "../../../bus/"+subsystem)
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		w := strings.Fields(text)
		if len(w) == 0 {
			continue
		}
		bad := func(msg string) { t.Fatalf("%s:%d: %s: %q", file, line, msg, sc.Text()) }
		kv := map[string]string{}
		var flags []string
		for _, a := range w[1:] {
			if k, v, ok := strings.Cut(a, "="); ok {
				kv[k] = v
			} else {
				flags = append(flags, a)
			}
		}
		switch w[0] {
		case "cd":
			cwd = path.Clean(w[1])
		case "up":
			cwd = path.Dir(cwd)
		case "pci":
			cwd = path.Join(cwd, w[1])
			ev := []string{"PCI_SLOT_NAME=" + w[1]}
			device(cwd, "pci", ev)
			config := make([]byte, 64)
			modalias := "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00"
			for _, fl := range flags[1:] {
				switch fl {
				case "multifunction":
					config[0x0e] |= 0x80
				case "bridge":
					config[0x0e] |= 0x01
					modalias = "pci:v00008086d00002030sv00000000sd00000000bc06sc04i00"
				default:
					bad("unknown pci flag " + fl)
				}
			}
			put(path.Join(cwd, "config"), string(config))
			put(path.Join(cwd, "modalias"), modalias+"\n")
			for k, v := range kv {
				put(path.Join(cwd, k), strings.ReplaceAll(v, "_", " ")+"\n")
			}
		case "dev":
			if len(w) != 3 {
				bad("dev NAME SUBSYSTEM")
			}
			cwd = path.Join(cwd, w[1])
			device(cwd, w[2], []string{"OF_NAME=" + w[1]})
		case "virtio":
			cwd = path.Join(cwd, w[1])
			device(cwd, "virtio", []string{"DRIVER=virtio_net"})
		case "usb":
			if len(w) != 3 {
				bad("usb NAME DEVTYPE")
			}
			cwd = path.Join(cwd, w[1])
			device(cwd, "usb", []string{"DEVTYPE=" + w[2]})
		case "net":
			name := w[1]
			dir := path.Join(cwd, "net", name)
			get := func(k, def string) string {
				if v, ok := kv[k]; ok {
					return v
				}
				return def
			}
			ev := []string{"INTERFACE=" + name, "IFINDEX=" + kv["ifindex"]}
			if dt := get("devtype", ""); dt != "" {
				ev = append([]string{"DEVTYPE=" + dt}, ev...)
			}
			put(path.Join(dir, "uevent"), strings.Join(ev, "\n")+"\n")
			symlink(path.Join(dir, "subsystem"), "../../../../class/net")
			put(path.Join(dir, "ifindex"), kv["ifindex"]+"\n")
			put(path.Join(dir, "iflink"), get("iflink", kv["ifindex"])+"\n")
			put(path.Join(dir, "type"), get("type", "1")+"\n")
			put(path.Join(dir, "address"), get("address", "00:00:00:00:00:00")+"\n")
			put(path.Join(dir, "addr_assign_type"), get("assign", "0")+"\n")
			put(path.Join(dir, "dev_port"), get("dev_port", "0")+"\n")
			if v, ok := kv["phys_port_name"]; ok {
				put(path.Join(dir, "phys_port_name"), v+"\n")
			}
			symlink(path.Join("sys/class/net", name), "../../"+strings.TrimPrefix(dir, "sys/"))
		case "slot":
			put(path.Join("sys/bus/pci/slots", w[1], "address"), w[2]+"\n")
		case "link":
			symlink(w[1], w[2])
		case "file":
			content := strings.Join(w[2:], " ")
			if h, ok := strings.CutPrefix(content, "hex:"); ok {
				b, err := hex.DecodeString(h)
				if err != nil {
					bad(err.Error())
				}
				content = string(b)
			}
			put(w[1], content)
		case "want":
			var fw fixtureWant
			for k, v := range kv {
				switch k {
				case "onboard":
					fw.names.Onboard = v
				case "slot":
					fw.names.Slot = v
				case "path":
					fw.names.Path = v
				case "mac":
					fw.names.MAC = v
				case "usb":
					fw.names.USB = v == "true"
				case "preferred":
					fw.preferred = v
				default:
					bad("unknown key " + k)
				}
			}
			fx.want[w[1]] = fw
		default:
			bad("unknown directive")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fx
}

func (w fixtureWant) String() string {
	return fmt.Sprintf("%+v preferred=%q", w.names, w.preferred)
}
