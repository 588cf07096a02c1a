//go:build linux

package main

import (
	"fmt"
	"testing"

	"github.com/netprim/netprim/nstest"
)

// foreverLifetime is the valid_life_time ip(8) reports for an address
// without a lifetime.
const foreverLifetime = 4294967295

// kernelAddr is one address of "ip -j addr show".
type kernelAddr struct {
	Local     string `json:"local"`
	Prefixlen int    `json:"prefixlen"`
	Scope     string `json:"scope"`
	Valid     uint32 `json:"valid_life_time"`
	Preferred uint32 `json:"preferred_life_time"`
}

func (a kernelAddr) String() string {
	life := "forever"
	if a.Valid != foreverLifetime {
		life = fmt.Sprintf("%ds", a.Valid)
	}
	return fmt.Sprintf("%s/%d valid %s", a.Local, a.Prefixlen, life)
}

// globalAddrs returns the global addresses of dev as ip(8) reports them.
func globalAddrs(t testing.TB, n *nstest.NS, dev string) []kernelAddr {
	t.Helper()
	var links []struct {
		AddrInfo []kernelAddr `json:"addr_info"`
	}
	n.IPJSON(t, &links, "addr", "show", "dev", dev)
	var out []kernelAddr
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Scope == "global" {
				out = append(out, a)
			}
		}
	}
	return out
}

// findAddr returns the address ip (without prefix) of as.
func findAddr(as []kernelAddr, ip string) (kernelAddr, bool) {
	for _, a := range as {
		if a.Local == ip {
			return a, true
		}
	}
	return kernelAddr{}, false
}

// hasAddr reports whether dev holds the global address a, "ip/prefixlen".
func hasAddr(t testing.TB, n *nstest.NS, dev, a string) bool {
	t.Helper()
	for _, x := range globalAddrs(t, n, dev) {
		if fmt.Sprintf("%s/%d", x.Local, x.Prefixlen) == a {
			return true
		}
	}
	return false
}
