package reconcile

import (
	"context"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
)

// watchers returns the subscriptions the stages need: one per package
// Watch whose event kinds some stage wakes on.
func (r *Reconciler) watchers() []watcher {
	need := map[string]bool{}
	for _, s := range r.stages {
		for _, k := range s.wake {
			need[k] = true
		}
	}
	wo := r.cfg.watchOpts
	var out []watcher
	if need[WakeLink] {
		out = append(out, watcher{name: "links", watch: func(ctx context.Context) (<-chan netprim.Event, error) {
			return link.Watch(ctx, r.ns, wo...)
		}})
	}
	if need[WakeAddress] {
		out = append(out, watcher{name: "addresses", watch: func(ctx context.Context) (<-chan netprim.Event, error) {
			return addr.Watch(ctx, r.ns, wo...)
		}})
	}
	if need[WakeRoute] || need[WakeRule] {
		out = append(out, watcher{name: "routes", watch: func(ctx context.Context) (<-chan netprim.Event, error) {
			return route.Watch(ctx, r.ns, wo...)
		}})
	}
	if need[WakeFirewall] {
		out = append(out, watcher{name: "firewall", accept: r.acceptFirewall, watch: func(ctx context.Context) (<-chan netprim.Event, error) {
			return firewall.Watch(ctx, r.ns, wo...)
		}})
	}
	if need[WakeFile] {
		out = append(out, watcher{name: "files", watch: func(ctx context.Context) (<-chan netprim.Event, error) {
			return resolv.Watch(ctx, r.cfg.root, wo...)
		}})
	}
	return out
}

// acceptFirewall keeps the firewall events of the table the sources want;
// with no firewall wanted, none matters.
func (r *Reconciler) acceptFirewall(ev netprim.Event) bool {
	r.mu.Lock()
	fw := r.merged.state.Firewall
	r.mu.Unlock()
	if fw == nil {
		return false
	}
	table := fw.Table
	if table == "" {
		table = firewall.DefaultTable
	}
	return ev.Object == "table inet "+table
}
