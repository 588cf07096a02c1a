package link

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
)

// fakeBatcher is the fake kernel with batched creations: each request of a
// batch is one call of the fake, in order.
type fakeBatcher struct{ *fakeKernel }

func (fakeBatcher) encodable(l netlink.Link) bool {
	switch l.(type) {
	case *netlink.Veth, *netlink.GenericLink:
		return true
	}
	return false
}

func (f fakeBatcher) addMany(links []netlink.Link) []error {
	errs := make([]error, len(links))
	for i, l := range links {
		_, errs[i] = f.add(l)
	}
	return errs
}

func (f fakeBatcher) markMany(names, markers []string) []error {
	errs := make([]error, len(names))
	for i, name := range names {
		l := f.byName(name)
		if l == nil {
			errs[i] = syscall.ENODEV
			continue
		}
		errs[i] = f.addAltName(l.Index, markers[i])
	}
	return errs
}

// TestExecBatch: batched creations send the adds, then the markers of the
// links added; a refused add or marker fails its link alone (a link whose
// marker is refused is deleted again), links on a lower link are created
// after the batch, and a second Apply writes nothing.
func TestExecBatch(t *testing.T) {
	f := newFake()
	f.batch = true
	f.fail = func(call string, _ *observed) error {
		switch call {
		case "add b":
			return syscall.EEXIST
		case "altname c netprim.c":
			return syscall.EINVAL
		}
		return nil
	}
	want := []Spec{
		{Name: "mv0", MACVLAN: &MACVLAN{Parent: "ap"}},
		{Name: "a", Veth: &Veth{Peer: "ap"}},
		{Name: "b", Kind: "dummy"},
		{Name: "c", Kind: "dummy"},
		{Name: "d", Kind: "dummy", Up: new(true)},
	}
	plan, writes, err := fakeApply(t.Context(), f, want)
	wantCalls := []string{
		"add a", "add b", "add c", "add d", // one batch of adds
		"altname a netprim.a", "altname c netprim.c", "altname d netprim.d", // the markers of those added
		"del c",                              // c's marker was refused
		"add mv0", "altname mv0 netprim.mv0", // on a lower link: after the batch
	}
	if d := cmp.Diff(wantCalls, f.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if writes != int64(len(wantCalls)) {
		t.Errorf("%d writes counted, %d made", writes, len(wantCalls))
	}
	for _, msg := range []string{"add link b: file exists", "add link c: marking it as owned (netprim.c) failed, so it was deleted again"} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("error %v lacks %q", err, msg)
		}
	}
	var got []string
	for _, c := range plan.Changes {
		got = append(got, c.Object)
	}
	if d := cmp.Diff([]string{"a", "d", "mv0"}, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	f.fail, f.calls = nil, nil
	if _, _, err := fakeApply(t.Context(), f, want); err != nil {
		t.Fatal(err)
	}
	if plan, writes, err := fakeApply(t.Context(), f, want); err != nil || writes != 0 || !plan.Empty() {
		t.Fatalf("second Apply: %d writes, %v\n%s", writes, err, plan)
	}
}

// TestExecBatchBounded: a cancelled context is noticed between two
// batches, and every link created is marked.
func TestExecBatchBounded(t *testing.T) {
	var want []Spec
	for i := range createBatch + 10 {
		want = append(want, Spec{Name: fmt.Sprintf("d%d", i), Kind: "dummy"})
	}
	f := newFake()
	f.batch = true
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.onWrite = func() {
		if len(f.calls) == createBatch-1 { // the last add of the first batch
			cancel()
		}
	}
	plan, _, err := fakeApply(ctx, f, want)
	if !errors.Is(err, context.Canceled) || len(plan.Changes) != createBatch {
		t.Fatalf("%d changes, err %v; want the first batch made, then interrupted", len(plan.Changes), err)
	}
	for _, l := range f.links {
		if !markedByAltName(Marker(netprim.DefaultOwner(), l.Name), l.AltNames) {
			t.Errorf("%s left without marker", l.Name)
		}
	}
}
