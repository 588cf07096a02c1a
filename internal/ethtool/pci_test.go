package ethtool

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPCIID(t *testing.T) {
	dir := t.TempDir()
	dev := func(bus, vendor, device string) {
		p := filepath.Join(dir, bus)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(p, "vendor"), []byte(vendor), 0o644)
		os.WriteFile(filepath.Join(p, "device"), []byte(device), 0o644)
	}
	dev("0000:00:1f.6", "0x8086\n", "0x15BE\n")
	dev("0000:03:00.0", "0x1af4\n", "0x1041")
	dev("0000:04:00.0", "garbage\n", "0x1041\n")
	dev("10000:00:02.0", "0x15b3\n", "0x101d\n")
	for _, tc := range []struct{ bus, want string }{
		{"0000:00:1f.6", "8086:15be"},
		{"0000:00:1F.6", "8086:15be"},
		{"0000:03:00.0", "1af4:1041"},
		{"10000:00:02.0", "15b3:101d"},
		{"0000:04:00.0", ""}, // unreadable vendor
		{"0000:05:00.0", ""}, // no such device
		{"", ""},
		{"virtio0", ""},
		{"usb-0000:00:14.0-1", ""},
		{"../../etc", ""},
	} {
		if got := PCIID(dir, tc.bus); got != tc.want {
			t.Errorf("PCIID(%q) = %q, want %q", tc.bus, got, tc.want)
		}
	}
}
