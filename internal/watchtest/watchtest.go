// Package watchtest holds the helpers the Watch tests of link, addr, route
// and internal/nl share: bounded waits for events, ip -batch floods, and the
// overflow-then-resync check.
package watchtest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// Start opens a watch with open and closes it when the test ends.
func Start(t testing.TB, open func(ctx context.Context) (<-chan netprim.Event, error)) <-chan netprim.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := open(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch {
		}
	})
	return ch
}

// Hang bounds each wait for an event so that a missing event fails
// the test instead of hanging it; it is a guard, not a measured deadline.
const Hang = 30 * time.Second

// Next returns the next event, failing the test if none comes within Hang
// or the channel closes.
func Next(t testing.TB, ch <-chan netprim.Event) netprim.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(Hang):
		t.Fatalf("no event after %v", Hang)
	}
	return netprim.Event{}
}

// Expect reads events until all of want were seen, in any order,
// skipping others; an unwanted Resync fails the test.
func Expect(t testing.TB, ch <-chan netprim.Event, want ...netprim.Event) {
	t.Helper()
	missing := map[netprim.Event]bool{}
	for _, w := range want {
		missing[w] = true
	}
	var skipped []string
	for len(missing) > 0 {
		var ev netprim.Event
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed while waiting for %v (skipped %q)", want, skipped)
			}
			ev = e
		case <-time.After(Hang):
			t.Fatalf("no event after %v while waiting for %v (skipped %q)", Hang, missingList(missing), skipped)
		}
		if missing[ev] {
			delete(missing, ev)
			continue
		}
		if ev.Resync {
			t.Fatalf("unexpected %v while waiting for %v (skipped %q)", ev, want, skipped)
		}
		skipped = append(skipped, ev.String())
	}
}

func missingList(m map[netprim.Event]bool) []string {
	var out []string
	for ev := range m {
		out = append(out, ev.String())
	}
	slices.Sort(out)
	return out
}

// Event builds a non-Resync event.
func Event(a netprim.Action, kind, obj string) netprim.Event {
	return netprim.Event{Kind: kind, Action: a, Object: obj}
}

// FromPlan returns the events Watch reports for the changes of p that
// add or delete an object: each with the change's Kind, Action and
// Object. Other changes (modifications, recreations) are left out.
func FromPlan(p netprim.Plan) []netprim.Event {
	var evs []netprim.Event
	for _, c := range p.Changes {
		if c.Action == netprim.Add || c.Action == netprim.Delete {
			evs = append(evs, Event(c.Action, c.Kind, c.Object))
		}
	}
	return evs
}

// NamesAsPlan applies all of want with prune (every object added), then
// only its first (the others pruned), and checks after each step that
// the Plan has one Add, then one Delete, per object, and that ch carries
// an event named exactly as each change: the packages' Plans and Watch
// name an object alike.
func NamesAsPlan[S any](t testing.TB, ch <-chan netprim.Event, want []S, apply func([]S) (netprim.Plan, error)) {
	t.Helper()
	for _, step := range []struct {
		name   string
		want   []S
		action netprim.Action
		n      int
	}{
		{"add", want, netprim.Add, len(want)},
		{"prune", want[:1], netprim.Delete, len(want) - 1},
	} {
		p, err := apply(step.want)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		evs := FromPlan(p)
		if len(evs) != step.n {
			t.Fatalf("%s: plan\n%s\nwant %d changes", step.name, p, step.n)
		}
		for _, ev := range evs {
			if ev.Action != step.action {
				t.Fatalf("%s: plan has %v", step.name, ev)
			}
		}
		Expect(t, ch, evs...)
	}
}

// Batch runs "ip -batch" with the given lines inside n.
func Batch(t testing.TB, n *nstest.NS, lines []string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Run(t, "ip", "-batch", p)
}

// Overflow checks the reaction to a flood nobody read: at least one
// Resync of kind, then, once a marker change made by mark(i) is seen,
// single changes are plain events again.
func Overflow(t testing.TB, ch <-chan netprim.Event, kind string, mark func(i int) netprim.Event) {
	t.Helper()
	events, resyncs := 0, 0
	for resyncs == 0 {
		ev := Next(t, ch)
		switch {
		case ev.Resync && ev.Kind == kind:
			resyncs++
		case ev.Resync:
			t.Fatalf("resync of kind %q, want %q", ev.Kind, kind)
		default:
			events++
		}
	}
	// The watcher emptied the kernel queue before the Resync, so a marker
	// arrives, unless the flood's tail overflowed the small buffer again
	// (reported as another Resync): add markers until one arrives.
	i := 0
	for caught := false; !caught; i++ {
		if i == 50 {
			t.Fatalf("no marker event after %d markers", i)
		}
		want := mark(i)
		for {
			ev := Next(t, ch)
			if ev == want {
				caught = true
				break
			}
			if ev.Resync {
				resyncs++
				break
			}
		}
	}
	// Caught up: single changes arrive as events, without Resync.
	for j := i; j < i+3; j++ {
		Expect(t, ch, mark(j))
	}
	t.Logf("%d events before the first resync, %d resync(s), %d marker(s) to catch up", events, resyncs, i)
}
