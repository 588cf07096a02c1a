package firewall

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// watchGuard bounds each wait for an event so that a lost event fails the
// test instead of hanging it; it is not a measured deadline.
const watchGuard = 30 * time.Second

// nextEvent returns the next event that matches keep, failing the test
// after timeout or when the channel closes.
func nextEvent(t *testing.T, ch <-chan netprim.Event, timeout time.Duration, keep func(netprim.Event) bool) netprim.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("event channel closed")
			}
			if keep(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no matching event within %v", timeout)
		}
	}
}

func objectIs(obj string) func(netprim.Event) bool {
	return func(ev netprim.Event) bool { return ev.Object == obj }
}

// TestWatchNftChanges: changes made with nft to our table (a rule
// deleted, an element added, the table flushed, then deleted) and Apply's
// own transaction are reported as events naming the table.
func TestWatchNftChanges(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	spec := specBlock()
	if _, err := Apply(ctx, n.Namespace, spec); err != nil {
		t.Fatal(err)
	}
	fw := objectIs("table inet fw")
	if ev := nextEvent(t, ch, watchGuard, fw); ev.Action != netprim.Add || ev.Kind != EventKind {
		t.Errorf("after Apply: %v, want add firewall table inet fw", ev)
	}
	st, err := Get(ctx, n.Namespace, "fw")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"delete", "rule", "inet", "fw", "input", "handle", itoa(rulesNamed(st, "ssh")[0].Handle)},
		{"add", "element", "inet", "fw", "safety_icmp", "{ echo-request }"},
		{"flush", "table", "inet", "fw"},
		{"add", "chain", "inet", "fw", "extra"},
	} {
		n.Run(t, "nft", cmd...)
		if ev := nextEvent(t, ch, watchGuard, fw); ev.Action != netprim.Add {
			t.Errorf("nft %s: %v, want add firewall table inet fw", strings.Join(cmd, " "), ev)
		}
	}
	n.Run(t, "nft", "delete", "table", "inet", "fw")
	if ev := nextEvent(t, ch, watchGuard, fw); ev.Action != netprim.Delete {
		t.Errorf("nft delete table: %v, want delete firewall table inet fw", ev)
	}
	// Other families are named by theirs.
	n.Run(t, "nft", "add", "table", "ip6", "six")
	nextEvent(t, ch, watchGuard, objectIs("table ip6 six"))
}

// TestWatchOtherNamespace: a change in another namespace is not reported.
func TestWatchOtherNamespace(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	requireNftables(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, a.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	b.Run(t, "nft", "add", "table", "inet", "elsewhere")
	b.Run(t, "nft", "add", "chain", "inet", "elsewhere", "c")
	// A marker in a: every event before it must be about a.
	a.Run(t, "nft", "add", "table", "inet", "marker")
	ev := nextEvent(t, ch, watchGuard, func(netprim.Event) bool { return true })
	if ev.Object != "table inet marker" {
		t.Errorf("first event %v, want the marker in the watched namespace", ev)
	}
}

// TestWatchResync: a burst of transactions that the receiver does not
// read fills the channel, the watcher stops reading, the tiny receive
// buffer overflows, and the receiver gets a Resync after the events that
// fit; changes after it are reported again.
func TestWatchResync(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, n.Namespace, netprim.WatchBufferSize(1))
	if err != nil {
		t.Fatal(err)
	}
	c, w, err := newWriter(n.Namespace, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Far more transactions than the channel holds, sent without
	// reading it.
	tbl := &nftables.Table{Name: "burst", Family: nftables.TableFamilyINet}
	for i := range 4 * watchQueue {
		if i%2 == 0 {
			c.AddTable(tbl)
		} else {
			c.DelTable(tbl)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	ev := nextEvent(t, ch, watchGuard, func(ev netprim.Event) bool { return ev.Resync })
	if ev.Kind != EventKind || ev.Object != "" || ev.Action != 0 {
		t.Errorf("resync event %+v", ev)
	}
	// The watcher catches up with what the kernel queued before the
	// loss; a change made meanwhile may be dropped too, which is
	// reported as another Resync: add tables until one's event arrives.
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatalf("no event for any of %d tables added after the resync", i)
		}
		obj := fmt.Sprintf("table inet after%d", i)
		n.Run(t, "nft", append([]string{"add"}, strings.Fields(obj)...)...)
		if ev := nextEvent(t, ch, watchGuard, func(ev netprim.Event) bool { return ev.Resync || ev.Object == obj }); !ev.Resync {
			break
		}
	}
	// Caught up: the next change is an event again.
	n.Run(t, "nft", "add", "table", "inet", "caught")
	if ev := nextEvent(t, ch, watchGuard, func(netprim.Event) bool { return true }); ev.Object != "table inet caught" {
		t.Errorf("after catching up: %v, want the event of table inet caught", ev)
	}
}

// TestWatchStops: the channel closes when ctx ends and the goroutine is
// gone; a Watch with a canceled context fails.
func TestWatchStops(t *testing.T) {
	n := nstest.New(t)
	requireNftables(t, n)
	before := runtime.NumGoroutine()
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := Watch(ctx, n.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		n.Run(t, "nft", "add", "table", "inet", "x")
		nextEvent(t, ch, watchGuard, objectIs("table inet x"))
		n.Run(t, "nft", "delete", "table", "inet", "x")
		cancel()
		deadline := time.After(10 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatal("channel not closed after cancel")
			}
		}
	}
	nstest.Eventually(t, watchGuard, func() error {
		if now := runtime.NumGoroutine(); now > before {
			return fmt.Errorf("%d goroutines, %d before watching", now, before)
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Watch(ctx, n.Namespace); err == nil {
		t.Error("Watch with a canceled context succeeded")
	}
	if _, err := Watch(context.Background(), n.Namespace, netprim.WatchBufferSize(-1)); err == nil {
		t.Error("Watch with a negative buffer succeeded")
	}
}

// TestWatchCoalesces: the changes of one transaction make one event per
// table, Delete when the table itself went away (decoding, no kernel).
func TestWatchCoalesces(t *testing.T) {
	msg := func(typ int, family uint8, attrs ...[2]any) []byte {
		var a []byte
		for _, at := range attrs {
			a = strAttr(a, uint16(at[0].(int)), at[1].(string))
		}
		b := binary.NativeEndian.AppendUint32(nil, uint32(16+4+len(a)))
		b = binary.NativeEndian.AppendUint16(b, msgType(typ))
		b = binary.NativeEndian.AppendUint16(b, 0)
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = append(b, family, 0, 0, 0)
		return append(b, a...)
	}
	table := func(typ int, family uint8, name string) []byte {
		return msg(typ, family, [2]any{unix.NFTA_TABLE_NAME, name})
	}
	gen := msg(unix.NFT_MSG_NEWGEN, unix.AF_UNSPEC)
	var d []byte
	for range 3 {
		d = append(d, msg(unix.NFT_MSG_NEWRULE, unix.NFPROTO_INET, [2]any{unix.NFTA_RULE_TABLE, "fw"}, [2]any{unix.NFTA_RULE_CHAIN, "input"})...)
	}
	d = append(d, msg(unix.NFT_MSG_NEWSETELEM, unix.NFPROTO_IPV4, [2]any{unix.NFTA_SET_ELEM_LIST_TABLE, "nat"})...)
	d = append(d, msg(unix.NFT_MSG_DELRULE, unix.NFPROTO_INET, [2]any{unix.NFTA_RULE_TABLE, "old"})...)
	d = append(d, table(unix.NFT_MSG_DELTABLE, unix.NFPROTO_INET, "old")...)
	d = append(d, table(unix.NFT_MSG_DELTABLE, unix.NFPROTO_INET, "re")...)
	d = append(d, table(unix.NFT_MSG_NEWTABLE, unix.NFPROTO_INET, "re")...)
	d = append(d, gen...)
	// A second transaction in a datagram of its own.
	d2 := append(msg(unix.NFT_MSG_NEWCHAIN, unix.NFPROTO_NETDEV, [2]any{unix.NFTA_CHAIN_TABLE, "fw"}), gen...)

	w := &watcher{out: make(chan netprim.Event, 16)}
	ctx := context.Background()
	if !w.handle(ctx, d) || !w.handle(ctx, d2) {
		t.Fatal("handle stopped")
	}
	close(w.out)
	var got []string
	for ev := range w.out {
		got = append(got, ev.String())
	}
	want := []string{
		"+ firewall table inet fw",
		"+ firewall table ip nat",
		"- firewall table inet old",
		"+ firewall table inet re",
		"+ firewall table netdev fw",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
