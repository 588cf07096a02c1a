package nl

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/nstest"
)

func blackhole(b *Batch, dst netip.Addr, flags uint16) {
	b.Begin(unix.RTM_NEWROUTE, flags)
	b.Fixed([]byte{unix.AF_INET, 32, 0, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_BLACKHOLE, 0, 0, 0, 0})
	b.AttrAddr(unix.RTA_DST, dst)
	b.End()
}

// TestExecPerMessageErrors proves a batch reports the failure of one message
// without losing the others, and that the kernel holds what it accepted.
func TestExecPerMessageErrors(t *testing.T) {
	n := nstest.New(t)
	c, err := DialRoute(n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b Batch
	a := netip.MustParseAddr("10.1.0.0")
	const total = 3000 // several chunks
	for i := 0; i < total; i++ {
		blackhole(&b, a, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
		if i == 1500 {
			blackhole(&b, a, unix.NLM_F_CREATE|unix.NLM_F_EXCL) // duplicate: EEXIST
		}
		a = a.Next()
	}
	errs, err := c.Exec(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if i == 1501 {
			if !errors.Is(e, unix.EEXIST) {
				t.Fatalf("message %d: got %v, want EEXIST", i, e)
			}
			continue
		}
		if e != nil {
			t.Fatalf("message %d: %v", i, e)
		}
	}
	var routes []json.RawMessage
	n.IPJSON(t, &routes, "route", "show", "proto", "78")
	if len(routes) != total {
		t.Fatalf("ip route shows %d routes of proto 78, want %d", len(routes), total)
	}
	count := 0
	err = c.Dump(context.Background(), unix.RTM_GETROUTE, make([]byte, unix.SizeofRtMsg), func() { count = 0 }, func(typ uint16, data []byte) error {
		if typ == unix.RTM_NEWROUTE && len(data) >= unix.SizeofRtMsg && data[5] == 78 {
			count++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != total {
		t.Fatalf("dump found %d routes of proto 78, want %d", count, total)
	}
}
