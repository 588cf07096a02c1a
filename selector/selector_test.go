package selector

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

var (
	yes = true
	no  = false
)

// machine is the links of a host with two Intel ports, a virtio NIC, a USB
// adapter, a bond over the Intel ports, a bridge, a veth and loopback.
var machine = []link.Status{
	{Name: "lo", Index: 1, Flags: []string{"LOOPBACK", "UP"}},
	{Name: "enp3s0f0", Index: 2, Driver: "ixgbe", BusInfo: "0000:03:00.0", PCIID: "8086:10fb",
		HardwareAddr: "a0:36:9f:00:00:10", PermHardwareAddr: "a0:36:9f:00:00:10", Master: "bond0"},
	{Name: "enp3s0f1", Index: 3, Driver: "ixgbe", BusInfo: "0000:03:00.1", PCIID: "8086:10fb",
		HardwareAddr: "a0:36:9f:00:00:10", PermHardwareAddr: "a0:36:9f:00:00:11", Master: "bond0"},
	{Name: "enp0s3", Index: 4, Driver: "virtio_net", BusInfo: "0000:00:03.0", PCIID: "1af4:1000",
		HardwareAddr: "02:fc:00:00:00:01"},
	{Name: "enx00e04c680001", Index: 5, Driver: "r8152", BusInfo: "usb-0000:00:14.0-1",
		HardwareAddr: "00:e0:4c:68:00:01", PermHardwareAddr: "00:e0:4c:68:00:01"},
	{Name: "bond0", Index: 6, Kind: "bond", Driver: "bonding", BusInfo: "", HardwareAddr: "a0:36:9f:00:00:10"},
	{Name: "br0", Index: 7, Kind: "bridge", Driver: "bridge", BusInfo: "N/A", HardwareAddr: "02:42:ac:00:00:01"},
	{Name: "veth0", Index: 8, Kind: "veth", Driver: "veth", HardwareAddr: "7a:11:22:33:44:55"},
	{Name: "tap0", Index: 9, Kind: "tun", Driver: "tun", BusInfo: "tap", HardwareAddr: "7a:11:22:33:44:56"},
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Selector
		want string // "" valid, else a substring of the error
	}{
		{Selector{Driver: "virtio_net"}, ""},
		{Selector{BusPath: "0*"}, ""},
		{Selector{HardwareAddr: "*:F0:ab", PermanentAddr: "00:1[0-9]:*"}, ""},
		{Selector{PCIID: "1AF4:1000"}, ""},
		{Selector{Physical: &no}, ""},
		{Selector{}, "selector: no field set"},
		{Selector{Driver: "mlx["}, `selector: driver: bad pattern "mlx["`},
		{Selector{HardwareAddr: `00:\`}, "selector: hardwareAddr: bad pattern"},
		{Selector{PermanentAddr: "[a-"}, "selector: permanentAddr: bad pattern"},
		{Selector{BusPath: "00:[", Driver: "e1000e"}, `selector: busPath: bad pattern "00:["`},
		{Selector{PCIID: "1af4"}, `selector: pciID: "1af4" is not VENDOR:DEVICE`},
		{Selector{PCIID: "1af4:10000"}, "selector: pciID: \"1af4:10000\": device"},
		{Selector{PCIID: "0x1a:1000"}, "selector: pciID: \"0x1a:1000\": vendor"},
		{Selector{PCIID: "1af4:*"}, "selector: pciID"},
	} {
		err := tc.s.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.s, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.s, err, tc.want)
		case tc.want != "" && !errors.Is(err, netprim.ErrInvalidSpec):
			t.Errorf("%s: %v does not wrap ErrInvalidSpec", tc.s, err)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		s    Selector
		want []string
	}{
		{Selector{Driver: "virtio_net"}, []string{"enp0s3"}},
		{Selector{Driver: "virtio*"}, []string{"enp0s3"}},
		{Selector{Driver: "VIRTIO_NET"}, nil}, // drivers are not folded
		{Selector{Driver: "ixgbe"}, []string{"enp3s0f0", "enp3s0f1"}},
		{Selector{HardwareAddr: "02:FC:00:00:00:01"}, []string{"enp0s3"}},
		{Selector{HardwareAddr: "*:10"}, []string{"enp3s0f0", "enp3s0f1", "bond0"}},
		{Selector{HardwareAddr: "*:10", Physical: &yes}, []string{"enp3s0f0", "enp3s0f1"}},
		{Selector{PermanentAddr: "A0:36:9F:00:00:11"}, []string{"enp3s0f1"}},
		{Selector{PermanentAddr: "*"}, []string{"enp3s0f0", "enp3s0f1", "enx00e04c680001"}},
		{Selector{BusPath: "0*"}, []string{"enp3s0f0", "enp3s0f1", "enp0s3"}},
		{Selector{BusPath: "0000:03:00.?"}, []string{"enp3s0f0", "enp3s0f1"}},
		{Selector{BusPath: "0000:03:00.[1-7]"}, []string{"enp3s0f1"}},
		{Selector{BusPath: "usb-*"}, []string{"enx00e04c680001"}},
		{Selector{PCIID: "8086:10FB"}, []string{"enp3s0f0", "enp3s0f1"}},
		{Selector{PCIID: "1AF4:1000", Driver: "virtio_net"}, []string{"enp0s3"}},
		{Selector{PCIID: "1AF4:1000", Driver: "e1000e"}, nil},
		{Selector{Physical: &yes}, []string{"enp3s0f0", "enp3s0f1", "enp0s3", "enx00e04c680001"}},
		{Selector{Physical: &no}, []string{"lo", "bond0", "br0", "veth0", "tap0"}},
		{Selector{HardwareAddr: "ff:*"}, nil},
	} {
		got, err := tc.s.Match(machine)
		if err != nil {
			t.Errorf("%s: %v", tc.s, err)
			continue
		}
		if diff := cmp.Diff(tc.want, names(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.s, diff)
		}
		for _, l := range machine {
			in := false
			for _, g := range got {
				in = in || g.Name == l.Name
			}
			if tc.s.Matches(l) != in {
				t.Errorf("%s: Matches(%s) = %v, Match says %v", tc.s, l.Name, !in, in)
			}
		}
	}
	if _, err := (Selector{BusPath: "["}).Match(machine); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("Match with a bad pattern: %v", err)
	}
}

func TestMatchOne(t *testing.T) {
	l, err := Selector{PermanentAddr: "*:11"}.MatchOne(machine)
	if err != nil || l.Name != "enp3s0f1" {
		t.Errorf("MatchOne = %s, %v", l.Name, err)
	}
	_, err = Selector{Driver: "ixgbe"}.MatchOne(machine)
	if !errors.Is(err, ErrAmbiguous) || !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("several: %v, want ErrAmbiguous and ErrInvalidSpec", err)
	}
	if want := "selector driver=ixgbe: selector matches several devices: enp3s0f0, enp3s0f1: invalid spec"; err == nil || err.Error() != want {
		t.Errorf("several:\n got %v\nwant %s", err, want)
	}
	_, err = Selector{Driver: "e1000e", BusPath: "0000:00:1f.6"}.MatchOne(machine)
	if !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("none: %v, want ErrNotFound", err)
	}
	if want := "selector driver=e1000e busPath=0000:00:1f.6: no device matches (among 9): not found"; err == nil || err.Error() != want {
		t.Errorf("none:\n got %v\nwant %s", err, want)
	}
	if _, err := (Selector{}).MatchOne(machine); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("empty selector: %v", err)
	}
}

func TestMatchAny(t *testing.T) {
	// Bond ports by permanent address; the second selector also matches
	// the first port: each link comes once, in link order.
	got, err := MatchAny([]Selector{
		{PermanentAddr: "a0:36:9f:00:00:11"},
		{PermanentAddr: "a0:36:9f:00:00:1?"},
	}, machine)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"enp3s0f0", "enp3s0f1"}, names(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = MatchAny([]Selector{{Driver: "ixgbe"}, {Driver: "e1000e"}, {BusPath: "["}}, machine)
	if !errors.Is(err, netprim.ErrNotFound) || !errors.Is(err, netprim.ErrInvalidSpec) ||
		!strings.Contains(err.Error(), "selector[1] driver=e1000e: no device matches") ||
		!strings.Contains(err.Error(), "selector[2]: selector: busPath") {
		t.Errorf("MatchAny errors: %v", err)
	}
}

func TestExplain(t *testing.T) {
	s := Selector{Driver: "e1000e", BusPath: "0*", PCIID: "8086:15b8", Physical: &yes}
	got := s.Explain(machine[:4])
	want := []string{
		"lo: no match (driver (none) != e1000e; busPath (none) does not match 0*; pciID (none) != 8086:15b8; physical: device is not wanted: virtual (loopback))",
		"enp3s0f0: no match (driver ixgbe != e1000e; busPath 0000:03:00.0 matches 0*; pciID 8086:10fb != 8086:15b8; physical: device is physical (has a PCI ID))",
		"enp3s0f1: no match (driver ixgbe != e1000e; busPath 0000:03:00.1 matches 0*; pciID 8086:10fb != 8086:15b8; physical: device is physical (has a PCI ID))",
		"enp0s3: no match (driver virtio_net != e1000e; busPath 0000:00:03.0 matches 0*; pciID 1af4:1000 != 8086:15b8; physical: device is physical (has a PCI ID))",
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, e.String())
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	ok := Selector{Driver: "virtio_net", HardwareAddr: "02:FC:*"}.Explain(machine[3:4])
	if len(ok) != 1 || !ok[0].Matched || ok[0].String() != "enp0s3: match (driver virtio_net == virtio_net; hardwareAddr 02:fc:00:00:00:01 matches 02:FC:*)" {
		t.Errorf("match: %+v", ok)
	}
	bad := Selector{BusPath: "[", PCIID: "x"}.Explain(machine[3:4])
	if len(bad) != 1 || bad[0].Matched || len(bad[0].Fields) != 2 || !strings.HasPrefix(bad[0].Fields[0].Reason, "busPath: bad pattern") {
		t.Errorf("invalid selector: %+v", bad)
	}
}

func TestIsPhysical(t *testing.T) {
	for _, tc := range []struct {
		l    link.Status
		want bool
	}{
		{link.Status{Name: "eth0", Driver: "virtio_net", BusInfo: "0000:00:03.0", PCIID: "1af4:1000"}, true},
		{link.Status{Name: "eth1", Driver: "r8152", BusInfo: "usb-0000:00:14.0-1"}, true},
		{link.Status{Name: "end0", Driver: "st_gmac", BusInfo: "fe300000.ethernet"}, true},
		{link.Status{Name: "eth2", Driver: "xyz", PermHardwareAddr: "00:11:22:33:44:55"}, true},
		{link.Status{Name: "veth0", Kind: "veth", Driver: "veth"}, false},
		{link.Status{Name: "vlan10", Kind: "vlan", Driver: "802.1Q VLAN Support", PermHardwareAddr: "00:11:22:33:44:55"}, false},
		{link.Status{Name: "br0", Kind: "bridge", Driver: "bridge", BusInfo: "N/A"}, false},
		{link.Status{Name: "tun0", Driver: "tun", BusInfo: "tun"}, false},
		{link.Status{Name: "weird", Driver: "x", BusInfo: "N/A"}, false},
		{link.Status{Name: "lo", Flags: []string{"LOOPBACK"}}, false},
		{link.Status{Name: "mystery"}, false},
	} {
		if got := IsPhysical(tc.l); got != tc.want {
			t.Errorf("IsPhysical(%s) = %v, want %v (%s)", tc.l.Name, got, tc.want, physicalReason(tc.l))
		}
	}
}

func TestEncoding(t *testing.T) {
	in := "driver: virtio_net\nhardwareAddr: '*:f0:ab'\npermanentAddr: 00:11:*\nbusPath: 0*\npciID: 1AF4:1000\nphysical: true\n"
	var s Selector
	if err := yaml.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := Selector{Driver: "virtio_net", HardwareAddr: "*:f0:ab", PermanentAddr: "00:11:*", BusPath: "0*", PCIID: "1AF4:1000", Physical: &yes}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("yaml (-want +got):\n%s", diff)
	}
	j, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(j); got != `{"driver":"virtio_net","hardwareAddr":"*:f0:ab","permanentAddr":"00:11:*","busPath":"0*","pciID":"1AF4:1000","physical":true}` {
		t.Errorf("json: %s", got)
	}
	if b, _ := json.Marshal(Selector{BusPath: "0*"}); string(b) != `{"busPath":"0*"}` {
		t.Errorf("json omits unset fields: %s", b)
	}
	if got := want.String(); got != "driver=virtio_net hardwareAddr=*:f0:ab permanentAddr=00:11:* busPath=0* pciID=1AF4:1000 physical=true" {
		t.Errorf("String: %s", got)
	}
	if got := (Selector{}).String(); got != "{}" {
		t.Errorf("String of zero: %s", got)
	}
}

func names(ls []link.Status) []string {
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}
