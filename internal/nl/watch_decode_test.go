package nl

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// watchMsg builds one message with the Batch encoder and returns its
// payload (what the decoders see).
func watchMsg(typ uint16, fixed []byte, attrs func(b *Batch)) []byte {
	var b Batch
	b.Begin(typ, 0)
	b.Fixed(fixed)
	if attrs != nil {
		attrs(&b)
	}
	b.End()
	return b.msg(0)[hdrLen:]
}

func TestWatchDecodeLink(t *testing.T) {
	fixed := make([]byte, ifinfomsgLen)
	fixed[0] = unix.AF_BRIDGE
	binary.NativeEndian.PutUint32(fixed[4:], 7)
	binary.NativeEndian.PutUint32(fixed[8:], unix.IFF_UP|unix.IFF_BROADCAST)
	data := watchMsg(unix.RTM_NEWLINK, fixed, func(b *Batch) {
		b.AttrU32(unix.IFLA_MTU, 1500)
		b.AttrString(unix.IFLA_IFNAME, "veth0")
	})
	got, ok := decodeLink(data)
	if !ok {
		t.Fatal("decodeLink failed")
	}
	want := linkMsg{family: unix.AF_BRIDGE, index: 7, flags: unix.IFF_UP | unix.IFF_BROADCAST, name: "veth0"}
	if got != want {
		t.Fatalf("decodeLink = %+v, want %+v", got, want)
	}
	if _, ok := decodeLink(data[:8]); ok {
		t.Fatal("decodeLink accepted a short message")
	}
}

// TestWatchResyncCoalesced checks that a Resync is skipped only while an
// earlier Resync of the same kind is still unread.
func TestWatchResyncCoalesced(t *testing.T) {
	w := &watcher{out: make(chan netprim.Event, 8), resyncSeq: map[string]uint64{}}
	ctx := context.Background()
	ev := func(obj string) netprim.Event {
		return netprim.Event{Kind: KindRoute, Action: netprim.Add, Object: obj}
	}
	rs := func(kind string) netprim.Event { return netprim.Event{Kind: kind, Resync: true} }
	read := func() netprim.Event { return <-w.out }

	w.send(ctx, ev("a"))
	w.send(ctx, rs(KindRoute))
	w.send(ctx, ev("b"))
	w.send(ctx, rs(KindRoute)) // first route Resync unread: coalesced
	w.send(ctx, rs(KindLink))
	if got := len(w.out); got != 4 {
		t.Fatalf("queued %d events, want 4 (a, resync route, b, resync link)", got)
	}
	read() // a
	read() // resync route: now consumed
	w.send(ctx, rs(KindRoute))
	w.send(ctx, rs(KindLink)) // link Resync still unread: coalesced
	var got []string
	for len(w.out) > 0 {
		got = append(got, read().String())
	}
	want := []string{"+ route b", "resync link", "resync route"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}
