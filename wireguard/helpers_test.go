package wireguard

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func encodeHex(k [32]byte) []byte { return []byte(hex.EncodeToString(k[:])) }

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func assertNoSecrets(t *testing.T, s string, keys ...any) {
	t.Helper()
	for _, k := range keys {
		var raw []byte
		switch k := k.(type) {
		case PrivateKey:
			raw = k[:]
		case PresharedKey:
			raw = k[:]
		}
		for _, enc := range []string{
			strings.TrimRight(fmt.Sprint(Key(raw[:32])), "="),
			hex.EncodeToString(raw),
			fmt.Sprint(raw),
		} {
			if strings.Contains(s, enc) {
				t.Fatalf("output contains a secret key (%q): %s", enc[:8], s)
			}
		}
	}
}
