package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/linkkind"
)

// fakeKernel is an in-memory backend: it applies writes to its links and
// can fail chosen calls.
type fakeKernel struct {
	links map[int]*observed
	next  int
	calls []string
	// fail returns an error for a call ("mtu eth0 1400"), or nil.
	fail func(call string, l *observed) error
	// onWrite runs before every write.
	onWrite func()
	// batch makes fakeApply create links in batches (see fakeBatcher).
	batch bool
}

func newFake(links ...*observed) *fakeKernel {
	f := &fakeKernel{links: make(map[int]*observed), next: 100}
	for _, l := range links {
		c := *l
		f.links[l.Index] = &c
	}
	return f
}

func (f *fakeKernel) byName(name string) *observed {
	for _, l := range f.links {
		if l.Name == name {
			return l
		}
	}
	return nil
}

func (f *fakeKernel) call(index int, format string, a ...any) (*observed, error) {
	if f.onWrite != nil {
		f.onWrite()
	}
	l := f.links[index]
	name := "?"
	if l != nil {
		name = l.Name
	}
	c := fmt.Sprintf(format, append([]any{name}, a...)...)
	f.calls = append(f.calls, c)
	if l == nil {
		return nil, syscall.ENODEV
	}
	if f.fail != nil {
		if err := f.fail(c, l); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (f *fakeKernel) snapshot([]Spec) (*state, error) {
	var obs []*observed
	for _, l := range f.links {
		c := *l
		c.AltNames = append([]string(nil), l.AltNames...)
		c.OwnedBy = markedBy(c.Name, c.AltNames, c.Alias)
		c.Master = ""
		if m := f.links[c.MasterIndex]; m != nil {
			c.Master = m.Name
		}
		if c.Kind == "veth" {
			if p := f.links[c.ParentIndex]; p != nil {
				c.Peer, c.peer = p.Name, p.Name
			}
		}
		obs = append(obs, &c)
	}
	return newState(obs), nil
}

func (f *fakeKernel) add(l netlink.Link) (int, error) {
	if f.onWrite != nil {
		f.onWrite()
	}
	a := l.Attrs()
	f.calls = append(f.calls, "add "+a.Name)
	if f.fail != nil {
		if err := f.fail("add "+a.Name, nil); err != nil {
			return 0, err
		}
	}
	if f.byName(a.Name) != nil {
		return 0, syscall.EEXIST
	}
	mk := func(name string) *observed {
		f.next++
		o := &observed{Status: Status{Index: f.next, Name: name, Kind: l.Type(), MTU: 1500, TxQueueLen: 1000,
			HardwareAddr: fmt.Sprintf("02:00:00:00:01:%02x", f.next), ParentNetnsID: -1}}
		if a.MTU > 0 {
			o.MTU = a.MTU
		}
		if a.TxQLen >= 0 {
			o.TxQueueLen = a.TxQLen
		}
		f.links[o.Index] = o
		return o
	}
	o := mk(a.Name)
	if a.HardwareAddr != nil {
		o.HardwareAddr = a.HardwareAddr.String()
	}
	o.Up = a.Flags&net.FlagUp != 0
	if v, ok := l.(*netlink.Veth); ok {
		p := mk(v.PeerName)
		o.ParentIndex, p.ParentIndex = p.Index, o.Index
	}
	return o.Index, nil
}

func (f *fakeKernel) index(name string) (int, error) {
	if l := f.byName(name); l != nil {
		return l.Index, nil
	}
	return 0, fmt.Errorf("%s: %w", name, syscall.ENODEV)
}

func (f *fakeKernel) addAltName(index int, name string) error {
	l, err := f.call(index, "altname %s %s", name)
	if err == nil {
		l.AltNames = append(l.AltNames, name)
	}
	return err
}

func (f *fakeKernel) del(index int) error {
	l, err := f.call(index, "del %s")
	if err == nil {
		delete(f.links, index)
		if l.Kind == "veth" {
			delete(f.links, l.ParentIndex)
		}
	}
	return err
}

func (f *fakeKernel) setUp(index int, up bool) error {
	l, err := f.call(index, "up %s %v", up)
	if err == nil {
		l.Up = up
	}
	return err
}

func (f *fakeKernel) setMTU(index, mtu int) error {
	l, err := f.call(index, "mtu %s %d", mtu)
	if err == nil {
		l.MTU = mtu
	}
	return err
}

func (f *fakeKernel) setHardwareAddr(index int, hw net.HardwareAddr) error {
	l, err := f.call(index, "addr %s %s", hw)
	if err == nil {
		l.HardwareAddr = hw.String()
	}
	return err
}

func (f *fakeKernel) setTxQueueLen(index, n int) error {
	l, err := f.call(index, "txqlen %s %d", n)
	if err == nil {
		l.TxQueueLen = n
	}
	return err
}

func (f *fakeKernel) setAlias(index int, alias string) error {
	l, err := f.call(index, "alias %s %q", alias)
	if err == nil {
		l.Alias = alias
	}
	return err
}

func (f *fakeKernel) setMaster(index, master int) error {
	l, err := f.call(index, "master %s %d", master)
	if err == nil {
		l.MasterIndex = master
	}
	return err
}

func (f *fakeKernel) kindChange(index int, raw netlink.Link, c linkkind.Change) error {
	_, err := f.call(index, "kind %s %s", c.Field)
	return err
}

func (f *fakeKernel) changeInfoData(index int, kind string, data []nlattr) error {
	_, err := f.call(index, "infodata %s %s %v", kind, data)
	return err
}

func fakeApply(ctx context.Context, f *fakeKernel, want []Spec, opts ...netprim.Option) (netprim.Plan, int64, error) {
	var writes int64
	o := netprim.Resolve(append(opts, netprim.WithWriteCounter(&writes))...)
	want, err := prepare(want, o)
	if err != nil {
		return netprim.Plan{}, 0, err
	}
	var b backend = f
	if f.batch {
		b = fakeBatcher{f}
	}
	e := &executor{b: b, p: &planner{owner: o.Owner, prune: o.Prune, scope: defaultScope}, writes: o.Writes}
	plan, err := e.apply(ctx, want)
	return plan, writes, err
}

func TestExecCreateThenIdempotent(t *testing.T) {
	f := newFake(lnk(10, "br0", "bridge", isUp))
	want := []Spec{
		{Name: "v1", Veth: &Veth{Peer: "v2"}, MTU: 1400, Up: new(true), Alias: new("a"), Master: new("br0")},
		{Name: "v2", Up: new(true)},
		{Name: "d0", Kind: "dummy", Up: new(true), TxQueueLen: 5, HardwareAddr: "02:00:00:00:00:42"},
	}
	plan, writes, err := fakeApply(t.Context(), f, want)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"add v1", "altname v1 netprim.v1",
		"add d0", "altname d0 netprim.d0",
		`alias v1 "a"`, "master v1 10", "up v1 true",
		"up v2 true",
	}
	if d := cmp.Diff(wantCalls, f.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if writes != int64(len(wantCalls)) {
		t.Errorf("writes = %d, want %d", writes, len(wantCalls))
	}
	if len(plan.Changes) != 6 {
		t.Errorf("plan:\n%s", plan)
	}
	f.calls = nil
	plan, writes, err = fakeApply(t.Context(), f, want)
	if err != nil || !plan.Empty() || writes != 0 || len(f.calls) != 0 {
		t.Fatalf("second apply: plan %q, writes %d, calls %q, err %v", plan, writes, f.calls, err)
	}
}

func TestExecEBUSYFallback(t *testing.T) {
	busyWhileUp := func(call string, l *observed) error {
		if strings.HasPrefix(call, "addr ") && l.Up {
			return syscall.EBUSY
		}
		return nil
	}
	t.Run("retried down", func(t *testing.T) {
		f := newFake(lnk(2, "eth0", "", isUp))
		f.fail = busyWhileUp
		plan, writes, err := fakeApply(t.Context(), f, []Spec{{Name: "eth0", HardwareAddr: "02:00:00:00:00:99"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"addr eth0 02:00:00:00:00:99", "up eth0 false", "addr eth0 02:00:00:00:00:99", "up eth0 true"}
		if d := cmp.Diff(want, f.calls); d != "" {
			t.Errorf("calls (-want +got):\n%s", d)
		}
		if writes != 4 || len(plan.Changes) != 1 || !plan.Changes[0].Disruptive || !strings.Contains(plan.Changes[0].Reason, "EBUSY") {
			t.Errorf("writes %d, plan %+v", writes, plan.Changes)
		}
		if l := f.byName("eth0"); !l.Up || l.HardwareAddr != "02:00:00:00:00:99" {
			t.Errorf("link after apply: %+v", l.Status)
		}
	})
	t.Run("link down: no retry", func(t *testing.T) {
		f := newFake(lnk(2, "eth0", "", isUp))
		f.fail = func(call string, l *observed) error {
			if strings.HasPrefix(call, "addr ") {
				return syscall.EBUSY
			}
			return nil
		}
		_, _, err := fakeApply(t.Context(), f, []Spec{{Name: "eth0", Up: new(false), HardwareAddr: "02:00:00:00:00:99"}})
		if !errors.Is(err, syscall.EBUSY) {
			t.Fatalf("err %v, want EBUSY", err)
		}
		if d := cmp.Diff([]string{"up eth0 false", "addr eth0 02:00:00:00:00:99"}, f.calls); d != "" {
			t.Errorf("calls (-want +got):\n%s", d)
		}
	})
	t.Run("still refused", func(t *testing.T) {
		f := newFake(lnk(2, "eth0", "", isUp))
		f.fail = func(call string, l *observed) error {
			if strings.HasPrefix(call, "addr ") {
				return syscall.EBUSY
			}
			return nil
		}
		plan, _, err := fakeApply(t.Context(), f, []Spec{{Name: "eth0", HardwareAddr: "02:00:00:00:00:99"}})
		if err == nil || !strings.Contains(err.Error(), "link brought back up") {
			t.Fatalf("err %v", err)
		}
		if !plan.Empty() || !f.byName("eth0").Up {
			t.Errorf("plan %q, link up %v", plan, f.byName("eth0").Up)
		}
	})
	t.Run("left down", func(t *testing.T) {
		f := newFake(lnk(2, "eth0", "", isUp))
		f.fail = func(call string, l *observed) error {
			switch {
			case strings.HasPrefix(call, "addr ") && l.Up, call == "up eth0 true":
				return syscall.EBUSY
			}
			return nil
		}
		plan, _, err := fakeApply(t.Context(), f, []Spec{{Name: "eth0", HardwareAddr: "02:00:00:00:00:99"}})
		if err == nil || !strings.Contains(err.Error(), "left DOWN") {
			t.Fatalf("err %v", err)
		}
		if len(plan.Changes) != 1 {
			t.Errorf("the change that was made is not reported: %q", plan)
		}
	})
}

func TestExecMarker(t *testing.T) {
	t.Run("refused: link deleted again", func(t *testing.T) {
		f := newFake()
		f.fail = func(call string, _ *observed) error {
			if strings.HasPrefix(call, "altname ") {
				return syscall.EEXIST
			}
			return nil
		}
		plan, _, err := fakeApply(t.Context(), f, []Spec{{Name: "d0", Kind: "dummy"}})
		if err == nil || !strings.Contains(err.Error(), "marking it as owned (netprim.d0) failed, so it was deleted again") {
			t.Fatalf("err %v", err)
		}
		if !plan.Empty() || len(f.links) != 0 {
			t.Errorf("plan %q, links %v", plan, f.links)
		}
	})
	t.Run("kernel without altnames: alias", func(t *testing.T) {
		f := newFake()
		f.fail = func(call string, _ *observed) error {
			if strings.HasPrefix(call, "altname ") {
				return syscall.EOPNOTSUPP
			}
			return nil
		}
		want := []Spec{{Name: "d0", Kind: "dummy"}}
		if _, _, err := fakeApply(t.Context(), f, want); err != nil {
			t.Fatal(err)
		}
		l := f.byName("d0")
		if l == nil || l.Alias != "netprim.d0" {
			t.Fatalf("link %+v, want alias marker", l)
		}
		plan, writes, err := fakeApply(t.Context(), f, want, netprim.WithPrune())
		if err != nil || writes != 0 {
			t.Fatalf("second apply: %q %d %v", plan, writes, err)
		}
		plan, _, err = fakeApply(t.Context(), f, nil, netprim.WithPrune())
		if err != nil || plan.String() != "- link d0" {
			t.Fatalf("prune: %q %v", plan, err)
		}
		_, _, err = fakeApply(t.Context(), f, []Spec{{Name: "d1", Kind: "dummy", Alias: new("mine")}})
		if err == nil || !strings.Contains(err.Error(), "lacks alternative names") || f.byName("d1") != nil {
			t.Fatalf("alias wanted without altnames: err %v, link %v", err, f.byName("d1"))
		}
	})
}

func TestExecErrors(t *testing.T) {
	t.Run("one bad link does not stop others", func(t *testing.T) {
		f := newFake(lnk(2, "a", ""), lnk(3, "b", ""))
		f.fail = func(call string, _ *observed) error {
			if call == "mtu a 9000" {
				return syscall.EINVAL
			}
			return nil
		}
		plan, _, err := fakeApply(t.Context(), f, []Spec{
			{Name: "a", MTU: 9000, Alias: new("x")},
			{Name: "b", MTU: 9000, Alias: new("y")},
		})
		if err == nil || !strings.Contains(err.Error(), "set link a mtu") {
			t.Fatalf("err %v", err)
		}
		want := []string{"mtu a 9000", "mtu b 9000", `alias b "y"`}
		if d := cmp.Diff(want, f.calls); d != "" {
			t.Errorf("calls (-want +got):\n%s", d)
		}
		if len(plan.Changes) != 2 {
			t.Errorf("plan %q", plan)
		}
	})
	t.Run("permission", func(t *testing.T) {
		f := newFake(lnk(2, "a", ""))
		f.fail = func(string, *observed) error { return syscall.EPERM }
		_, _, err := fakeApply(t.Context(), f, []Spec{{Name: "a", MTU: 9000}})
		if !errors.Is(err, netprim.ErrPermission) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("kind missing in kernel", func(t *testing.T) {
		f := newFake()
		f.fail = func(string, *observed) error { return syscall.EOPNOTSUPP }
		_, _, err := fakeApply(t.Context(), f, []Spec{{Name: "d0", Kind: "dummy"}})
		if !errors.Is(err, netprim.ErrUnsupported) || !strings.Contains(err.Error(), "kernel lacks link kind dummy: modprobe dummy") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("invalid spec writes nothing", func(t *testing.T) {
		f := newFake(lnk(2, "a", ""))
		_, writes, err := fakeApply(t.Context(), f, []Spec{{Name: "a", MTU: 9000}, {Name: "b", MTU: 1}})
		if !errors.Is(err, netprim.ErrInvalidSpec) || writes != 0 || len(f.calls) != 0 {
			t.Fatalf("err %v, writes %d, calls %q", err, writes, f.calls)
		}
	})
	t.Run("recreate", func(t *testing.T) {
		f := newFake(lnk(2, "x", "ifb", owned))
		plan, _, err := fakeApply(t.Context(), f, []Spec{{Name: "x", Kind: "dummy"}})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"del x", "add x", "altname x netprim.x"}, f.calls); d != "" {
			t.Errorf("calls (-want +got):\n%s", d)
		}
		if plan.String() != "± link x (kind ifb -> dummy; dummy)" || !plan.Changes[0].Disruptive {
			t.Errorf("plan %q", plan)
		}
	})
}

// TestExecCancel cancels Apply before every possible write in turn: a link
// is never left created without its marker, the error says Apply was
// interrupted, and a second Apply converges.
func TestExecCancel(t *testing.T) {
	want := []Spec{{Name: "br0", Kind: "bridge", Settings: fakeSettings{kind: "bridge"}, Up: new(true)}}
	for i := range 6 {
		want = append(want, Spec{Name: fmt.Sprintf("v%d", i), Veth: &Veth{Peer: fmt.Sprintf("p%d", i)},
			MTU: 1400, Up: new(true), Alias: new("x"), Master: new("br0")})
	}
	for _, batch := range []bool{false, true} {
		testExecCancel(t, want, batch)
	}
}

func testExecCancel(t *testing.T, want []Spec, batch bool) {
	f0 := newFake()
	f0.batch = batch
	_, total, err := fakeApply(t.Context(), f0, want)
	if err != nil {
		t.Fatal(err)
	}
	for n := range int(total) {
		f := newFake(lnk(3, "stale0", "dummy", owned))
		f.batch = batch
		ctx, cancel := context.WithCancel(t.Context())
		writes := 0
		f.onWrite = func() {
			if writes == n {
				cancel()
			}
			writes++
		}
		_, _, err := fakeApply(ctx, f, want, netprim.WithPrune())
		cancel()
		if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "apply interrupted") {
			t.Fatalf("cancel at write %d: err %v", n, err)
		}
		for _, l := range f.links {
			created := l.Kind == "bridge" || strings.HasPrefix(l.Name, "v")
			if created && !markedByAltName(Marker(netprim.DefaultOwner(), l.Name), l.AltNames) {
				t.Fatalf("cancel at write %d: link %s left without marker", n, l.Name)
			}
		}
		f.onWrite = nil
		if _, _, err := fakeApply(t.Context(), f, want, netprim.WithPrune()); err != nil {
			t.Fatalf("cancel at write %d: re-apply: %v", n, err)
		}
		plan, writes2, err := fakeApply(t.Context(), f, want, netprim.WithPrune())
		if err != nil || writes2 != 0 {
			t.Fatalf("cancel at write %d: not converged: %q, %d writes, %v", n, plan, writes2, err)
		}
		if f.byName("stale0") != nil {
			t.Fatalf("cancel at write %d: stale link not pruned", n)
		}
	}
}

// TestExecPartialFailureMatchesPlan: when some links cannot be planned,
// Apply makes exactly the changes Plan showed and returns the same errors.
func TestExecPartialFailureMatchesPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links []*observed
		want  []Spec
		opts  []netprim.Option
		calls []string
	}{
		{"missing link",
			[]*observed{lnk(2, "veth1", "veth", func(o *observed) { o.ParentIndex = 3 }), lnk(3, "veth2", "veth", func(o *observed) { o.ParentIndex = 2 })},
			[]Spec{{Name: "nope0", MTU: 1400}, {Name: "veth1", MTU: 1300}}, nil,
			[]string{"mtu veth1 1300"}},
		{"missing master, creation, prune",
			[]*observed{lnk(2, "eth0", "", isUp), lnk(3, "old0", "dummy", owned)},
			[]Spec{{Name: "eth0", Master: new("br9"), MTU: 9000}, {Name: "v1", Veth: &Veth{Peer: "v2"}, Up: new(true)}, {Name: "v2", Up: new(true)}},
			[]netprim.Option{netprim.WithPrune()},
			[]string{"add v1", "altname v1 netprim.v1", "up v2 true", "del old0"}},
		{"foreign link of another kind",
			[]*observed{lnk(2, "x", "ifb"), lnk(3, "eth0", "")},
			[]Spec{{Name: "x", Kind: "dummy", MTU: 1400}, {Name: "eth0", Up: new(true), Alias: new("up")}}, nil,
			[]string{`alias eth0 "up"`, "up eth0 true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(tc.links...)
			o := netprim.Resolve(tc.opts...)
			want, err := prepare(tc.want, o)
			if err != nil {
				t.Fatal(err)
			}
			st, err := f.snapshot(want)
			if err != nil {
				t.Fatal(err)
			}
			planned, planErr := (&planner{owner: o.Owner, prune: o.Prune, scope: defaultScope}).planAll(want, st)
			if planErr == nil || planned.Empty() {
				t.Fatalf("Plan: want changes and an error, got %q, %v", planned, planErr)
			}
			applied, _, applyErr := fakeApply(t.Context(), f, tc.want, tc.opts...)
			if d := cmp.Diff(planned.String(), applied.String()); d != "" {
				t.Errorf("Plan and Apply differ (-plan +apply):\n%s", d)
			}
			if applyErr == nil || planErr.Error() != applyErr.Error() {
				t.Errorf("errors differ:\nPlan:  %v\nApply: %v", planErr, applyErr)
			}
			if d := cmp.Diff(tc.calls, f.calls); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
		})
	}
}
