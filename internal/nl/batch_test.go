package nl

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
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

func TestMain(m *testing.M) { nstest.Main(m) }

// TestExecEveryMessageFails: when every request of a large batch fails, each
// failure is still reported, also with the small socket buffers an
// unprivileged caller may get (the replies must not overflow the receive
// buffer, a chunk must fit the send buffer).
func TestExecEveryMessageFails(t *testing.T) {
	for _, size := range []int{sockBuf, 64 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) { testExecEveryMessageFails(t, size) })
	}
}

func testExecEveryMessageFails(t *testing.T, size int) {
	n := nstest.New(t)
	c, err := DialRoute(n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.setBuffers(size, size) // as small as an unprivileged caller may get

	var b Batch
	dst := netip.MustParseAddr("10.9.9.9")
	blackhole(&b, dst, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	if errs, err := c.Exec(context.Background(), &b); err != nil || errs[0] != nil {
		t.Fatalf("first add: %v %v", err, errs)
	}
	b.Reset()
	const total = 5000
	for i := 0; i < total; i++ {
		blackhole(&b, dst, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	}
	errs, err := c.Exec(context.Background(), &b)
	if err != nil {
		t.Fatalf("exchange failed (chunk %d bytes, %d messages): %v", c.chunk, c.msgs, err)
	}
	for i, e := range errs {
		if !errors.Is(e, unix.EEXIST) {
			t.Fatalf("message %d: %v, want EEXIST", i, e)
		}
	}
}
