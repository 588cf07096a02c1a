package reconcile

import (
	"context"
	"slices"

	"github.com/netprim/netprim"
)

// PlanApplyFunc is the shape of a package's Plan or Apply with its desired
// state bound, for NewStage: for example
//
//	func(ctx context.Context, ns *netprim.Namespace, o ...netprim.Option) (netprim.Plan, error) {
//		return firewall.Apply(ctx, ns, edge, o...)
//	}
type PlanApplyFunc func(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error)

// NewStage returns a Stage made of two functions, the public adapter for
// any package's Plan and Apply (a second firewall table, a WireGuard
// device a product hosts itself, files under another root): name, the
// stages it runs after, the event kinds that wake it (WakeLink, ...), and
// plan and apply, which receive the Reconciler's options (owner, prune
// when allowed, the apply options).
func NewStage(name string, after, wakeOn []string, plan, apply PlanApplyFunc) Stage {
	return funcStage{name: name, after: slices.Clone(after), wake: slices.Clone(wakeOn), plan: plan, apply: apply}
}

type funcStage struct {
	name        string
	after, wake []string
	plan, apply PlanApplyFunc
}

func (f funcStage) Name() string     { return f.name }
func (f funcStage) After() []string  { return f.after }
func (f funcStage) WakeOn() []string { return f.wake }

func (f funcStage) Plan(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error) {
	return f.plan(ctx, ns, opts...)
}

func (f funcStage) Apply(ctx context.Context, ns *netprim.Namespace, opts ...netprim.Option) (netprim.Plan, error) {
	return f.apply(ctx, ns, opts...)
}
