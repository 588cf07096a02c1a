package selector

import (
	"fmt"
	"strconv"
	"strings"
)

// ParsePCIID parses "VENDOR:DEVICE", exactly four hexadecimal digits on
// each side of the colon in either case ("1AF4:1000", "8086:15f3"), as
// lspci -n prints it.
func ParsePCIID(s string) (vendor, device uint16, err error) {
	v, d, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not VENDOR:DEVICE (e.g. 1af4:1000)", s)
	}
	if vendor, err = hex16(v); err != nil {
		return 0, 0, fmt.Errorf("%q: vendor %w", s, err)
	}
	if device, err = hex16(d); err != nil {
		return 0, 0, fmt.Errorf("%q: device %w", s, err)
	}
	return vendor, device, nil
}

func hex16(s string) (uint16, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("%q is not 4 hexadecimal digits", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, fmt.Errorf("%q is not 4 hexadecimal digits", s)
		}
	}
	n, err := strconv.ParseUint(s, 16, 16)
	return uint16(n), err
}
