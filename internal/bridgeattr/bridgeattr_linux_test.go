package bridgeattr

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func vlanAttr(flags, vid uint16) []byte {
	b := binary.NativeEndian.AppendUint16(nil, 8)
	b = binary.NativeEndian.AppendUint16(b, iflaBridgeVLANInfo)
	b = binary.NativeEndian.AppendUint16(b, flags)
	return binary.NativeEndian.AppendUint16(b, vid)
}

func TestParseVLANs(t *testing.T) {
	var spec []byte
	spec = append(spec, vlanAttr(VLANInfoPVID|VLANInfoUntagged, 1)...)
	spec = append(spec, vlanAttr(VLANInfoRangeBegin|VLANInfoUntagged, 10)...)
	spec = append(spec, vlanAttr(VLANInfoRangeEnd|VLANInfoUntagged, 12)...)
	spec = append(spec, vlanAttr(0, 4094)...)
	got := parseVLANs(spec)
	want := []VLAN{
		{VID: 1, Flags: VLANInfoPVID | VLANInfoUntagged},
		{VID: 10, Flags: VLANInfoUntagged}, {VID: 11, Flags: VLANInfoUntagged}, {VID: 12, Flags: VLANInfoUntagged},
		{VID: 4094},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("parseVLANs (-want +got):\n%s", d)
	}
}

func TestIDString(t *testing.T) {
	id := parseID([]byte{0x80, 0x00, 2, 0, 0, 0, 0xab, 1})
	if got := id.String(); got != "8000.02:00:00:00:ab:01" {
		t.Fatalf("ID = %s", got)
	}
	if PortStateName(3) != "forwarding" || PortStateName(9) != "state 9" {
		t.Fatal("PortStateName")
	}
}
