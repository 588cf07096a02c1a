package addr_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/nstest"
)

// dadLab is a veth pair in two namespaces, settled (IPv6 running): "here"
// is the side whose addresses WaitDAD watches, "other" the other host.
func dadLab(t *testing.T) (here, other *nstest.NS) {
	t.Helper()
	here, other = nstest.New(t), nstest.New(t)
	nstest.Veth(t, here, "dad0", other, "dad1")
	nstest.Settle(t, here)
	nstest.Settle(t, other)
	return here, other
}

// ipFlags returns the flags ip(8) shows for a on dad0, and whether it is
// there.
func ipFlags(t *testing.T, n *nstest.NS, a string) ([]string, bool) {
	t.Helper()
	var links []struct {
		AddrInfo []map[string]any `json:"addr_info"`
	}
	if err := json.Unmarshal(n.Run(t, "ip", "-j", "-6", "addr", "show", "dev", "dad0"), &links); err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		for _, ai := range l.AddrInfo {
			if ai["local"] != a {
				continue
			}
			var flags []string
			for _, f := range []string{"tentative", "dadfailed", "nodad", "optimistic"} {
				if v, ok := ai[f].(bool); ok && v {
					flags = append(flags, f)
				}
			}
			return flags, true
		}
	}
	return nil, false
}

func waitDAD(t *testing.T, n *nstest.NS, a string, within time.Duration) (addr.DADResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return addr.WaitDAD(ctx, n.Namespace, "dad0", netip.MustParseAddr(a))
}

// TestWaitDAD: the kernel's duplicate address detection, as ip(8) shows
// it afterwards. Another host having the address fails it: an address
// with a finite lifetime is removed by the kernel (WaitDAD still reports
// the failure, from the removal's notification), a permanent one stays
// with "dadfailed". Without another host it passes; with nodad it passes
// at once.
func TestWaitDAD(t *testing.T) {
	for _, c := range []struct {
		name    string
		add     []string // after "ip -6 addr add fd00:dad::7/64 dev dad0"
		taken   bool     // the other host has the address
		want    addr.DADResult
		stays   bool
		ipFlags []string // what ip shows afterwards, when the address stays
	}{
		{name: "passed", want: addr.DADPassed, stays: true},
		{name: "nodad", add: []string{"nodad"}, want: addr.DADPassed, stays: true, ipFlags: []string{"nodad"}},
		{name: "failed-finite", add: []string{"valid_lft", "30", "preferred_lft", "30"}, taken: true, want: addr.DADFailed},
		{name: "failed-permanent", taken: true, want: addr.DADFailed, stays: true, ipFlags: []string{"tentative", "dadfailed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			here, other := dadLab(t)
			const a = "fd00:dad::7"
			if c.taken {
				other.Run(t, "ip", "-6", "addr", "add", a+"/64", "dev", "dad1", "nodad")
			}
			// The watch listens before the address is added.
			w, err := addr.NewDADWatch(here.Namespace, "dad0", netip.MustParseAddr(a))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			here.Run(t, "ip", append([]string{"-6", "addr", "add", a + "/64", "dev", "dad0"}, c.add...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := w.Wait(ctx)
			if err != nil || r != c.want {
				t.Fatalf("Wait = %v, %v; want %v", r, err, c.want)
			}
			flags, there := ipFlags(t, here, a)
			if there != c.stays {
				t.Fatalf("after %v: address there %v, want %v (flags %v)", r, there, c.stays, flags)
			}
			if there && !slices.Equal(flags, c.ipFlags) {
				t.Errorf("after %v: ip shows flags %v, want %v", r, flags, c.ipFlags)
			}
			// Asked again afterwards, it answers from the state.
			if there {
				if r, err := waitDAD(t, here, a, time.Second); err != nil || r != c.want {
					t.Errorf("WaitDAD afterwards = %v, %v; want %v", r, err, c.want)
				}
			}
		})
	}
}

// TestWaitDADErrors: a deadline with no address, a non-IPv6 address, an
// unknown link, and a link deleted while WaitDAD waits.
func TestWaitDADErrors(t *testing.T) {
	here, _ := dadLab(t)
	gone := make(chan error, 1)
	w, err := addr.NewDADWatch(here.Namespace, "dad0", netip.MustParseAddr("fd00:dad::8"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := w.Wait(ctx)
		gone <- err
	}()
	here.Run(t, "ip", "-6", "addr", "add", "fd00:dad::8/64", "dev", "dad0")
	here.Run(t, "ip", "link", "del", "dad0") // and its peer
	select {
	case err := <-gone:
		if !errors.Is(err, netprim.ErrNotFound) {
			t.Errorf("link deleted: %v, want %v", err, netprim.ErrNotFound)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("link deleted: Wait still waiting 5 s later")
	}
	nstest.Veth(t, here, "dad0", nstest.New(t), "dad1")
	nstest.Settle(t, here)
	start := time.Now()
	if _, err := waitDAD(t, here, "fd00:dad::9", 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("no address: %v, want %v", err, context.DeadlineExceeded)
	} else if took := time.Since(start); took > 5*time.Second {
		t.Errorf("no address: returned after %v, the deadline was 300ms", took)
	}
	ctx := context.Background()
	if _, err := addr.WaitDAD(ctx, here.Namespace, "dad0", netip.MustParseAddr("192.0.2.1")); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("IPv4: %v, want %v", err, netprim.ErrInvalidSpec)
	}
	if _, err := addr.WaitDAD(ctx, here.Namespace, "nosuch0", netip.MustParseAddr("fd00:dad::9")); !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("unknown link: %v, want %v", err, netprim.ErrNotFound)
	}
}
