// Package applytest holds the Apply helpers the kernel tests of the object
// packages share.
package applytest

import (
	"context"
	"testing"

	"github.com/netprim/netprim"
)

// Func is a package's Plan or Apply for a list of specs.
type Func[S any] func(ctx context.Context, ns *netprim.Namespace, want []S, opts ...netprim.Option) (netprim.Plan, error)

// Apply runs apply with a write counter and fails the test on error. It
// returns the plan and the number of write requests sent to the kernel.
func Apply[S any](t testing.TB, ns *netprim.Namespace, apply Func[S], want []S, opts ...netprim.Option) (netprim.Plan, int64) {
	t.Helper()
	var writes int64
	p, err := apply(context.Background(), ns, want, append(opts, netprim.WithWriteCounter(&writes))...)
	if err != nil {
		t.Fatalf("Apply: %v\nplan:\n%v", err, p)
	}
	return p, writes
}

// Idempotent fails the test unless Plan of want is empty and a second
// Apply makes no write.
func Idempotent[S any](t testing.TB, ns *netprim.Namespace, plan, apply Func[S], want []S, opts ...netprim.Option) {
	t.Helper()
	p, err := plan(context.Background(), ns, want, opts...)
	if err != nil || len(p.Changes) != 0 {
		t.Fatalf("Plan after Apply: %v, %v", p, err)
	}
	if p, w := Apply(t, ns, apply, want, opts...); w != 0 || len(p.Changes) != 0 {
		t.Fatalf("second Apply: %d writes, plan:\n%v", w, p)
	}
}
