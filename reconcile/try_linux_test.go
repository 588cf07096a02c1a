package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/resolv"
	"github.com/netprim/netprim/route"
)

// kernelView is everything a rollback must give back, as tools nobody
// here wrote report it: ip -j -d for links, addresses, routes and rules,
// nft -j for the ruleset, and the files under the root.
type kernelView map[string]any

func view(t *testing.T, n *nstest.NS, root string) kernelView {
	t.Helper()
	v := kernelView{}
	for name, args := range map[string][]string{
		"link":   {"-d", "link", "show"},
		"addr":   {"-d", "addr", "show"},
		"route":  {"-d", "route", "show", "table", "all"},
		"route6": {"-d", "-6", "route", "show", "table", "all"},
		"rule":   {"rule", "show"},
		"rule6":  {"-6", "rule", "show"},
	} {
		var x any
		n.IPJSON(t, &x, args...)
		x = scrub(x)
		if l, ok := x.([]any); ok && strings.HasPrefix(name, "route") {
			// The kernel lists routes of one table in the order they
			// were made: a link that went down and up (a bond changing
			// mode) gets its IPv6 routes back in another place.
			slices.SortFunc(l, func(a, b any) int {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				return strings.Compare(string(ja), string(jb))
			})
		}
		v[name] = x
	}
	var nft any
	out := n.Run(t, "nft", "-j", "list", "ruleset")
	if err := json.Unmarshal(out, &nft); err != nil {
		t.Fatalf("nft -j: %v: %s", err, out)
	}
	v["nft"] = scrub(nft)
	files := map[string]string{}
	ents, _ := os.ReadDir(filepath.Join(root, "etc"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(root, "etc", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	v["files"] = files
	return v
}

// settled returns the view once the kernel has finished what it does on
// its own after links come up (nstest.Settle): IPv6 link-local addresses,
// duplicate address detection and local routes appear a while later.
func settled(t *testing.T, n *nstest.NS, root string) kernelView {
	t.Helper()
	nstest.Settle(t, n)
	return view(t, n, root)
}

func scrub(x any) any {
	switch x := x.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range x {
			switch k {
			case "stats", "stats64", "metainfo", "valid_life_time", "preferred_life_time", "expires", "used", "counter",
				"tentative": // duplicate address detection is under way (after a link went down and up)
				continue
			}
			if strings.HasSuffix(k, "_timer") { // bridge timers count down
				continue
			}
			out[k] = scrub(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = scrub(v)
		}
		return out
	}
	return x
}

// tryStates returns a state and a change of it that touches every kind a
// rollback restores on the host kernel.
func tryStates() (before, after reconcile.State) {
	alias := "changed by try"
	before = reconcile.State{
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}},
		Routes:    []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1"), Metric: 100}},
		Rules:     []route.Rule{{Priority: 100, From: pfx("192.0.2.0/24"), Table: 100}},
	}
	after = reconcile.State{
		Links: reconcile.Links(
			link.Spec{Name: "veth0", MTU: 1400, Alias: &alias},
			link.Spec{Name: "try0", Kind: "veth", Veth: &link.Veth{Peer: "try1"}, Up: up()},
		),
		Addresses: []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.11/24")}, {Link: "try0", Address: pfx("10.1.0.1/24")}},
		Routes: []route.Spec{
			{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1"), Metric: 200},
			{Destination: pfx("203.0.113.0/24"), Gateway: ip("10.1.0.2")},
		},
		Rules:     []route.Rule{{Priority: 200, Family: route.FamilyIPv4, FwMark: 0x40, Table: 180}},
		Firewall:  &firewall.Spec{DefaultAction: firewall.DefaultBlock, Rules: []firewall.Rule{{Name: "ssh", Protocol: "tcp", Ports: []string{"22"}, Action: firewall.Accept}}},
		Resolvers: &resolvSpec,
		Hosts:     []resolv.HostEntry{{Address: ip("192.0.2.99"), Names: []string{"peer"}}},
	}
	return before, after
}

// TestTryRollsBack: a change whose check fails, or that outlives its
// deadline, is rolled back: ip, nft and the files report exactly what
// they did before. A change whose check passes stays.
func TestTryRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(ctx context.Context, p netprim.Plan) error
		want  error
	}{
		{"check fails", func(context.Context, netprim.Plan) error { return errLost }, errLost},
		{"deadline", func(ctx context.Context, _ netprim.Plan) error { <-ctx.Done(); return ctx.Err() }, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := vethNS(t)
			requireNftInet(t, n)
			ctx := context.Background()
			root := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
			must(t, os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("127.0.0.1 localhost\n# the host's own\n"), 0o644))
			r := newReconciler(t, n, reconcile.WithRoot(root))
			s := addSource(t, r, "static", 10)
			before, after := tryStates()
			must(t, s.Set(before))
			if _, err := r.Apply(ctx); err != nil {
				t.Fatal(err)
			}
			was := settled(t, n, root)
			var during kernelView
			p, err := s.Try(ctx, after, 300*time.Millisecond, func(ctx context.Context, p netprim.Plan) error {
				during = view(t, n, root)
				return tc.check(ctx, p)
			})
			if !errors.Is(err, reconcile.ErrRolledBack) || !errors.Is(err, tc.want) {
				t.Fatalf("Try = %v, want ErrRolledBack and %v", err, tc.want)
			}
			if cmp.Equal(was, during) {
				t.Fatal("the change was not applied before the check")
			}
			if !strings.Contains(p.String(), "try0") {
				t.Errorf("changes lack the new link:\n%v", p)
			}
			if diff := cmp.Diff(was, view(t, n, root)); diff != "" {
				t.Errorf("after the rollback (-before +after):\n%s", diff)
			}
			// The source contributes its old state again: a pass changes nothing.
			if p, err := r.Apply(ctx); err != nil || !p.Empty() {
				t.Errorf("pass after the rollback: %v, %v", p, err)
			}
		})
	}
	t.Run("without prune, objects of an earlier run", func(t *testing.T) {
		// A netctl-like one-shot user: no prune, and owned objects that
		// no source of this Reconciler wants. The rollback removes what
		// the try added and keeps them.
		n := vethNS(t)
		requireNftInet(t, n)
		ctx := context.Background()
		root := t.TempDir()
		if _, err := addr.Apply(ctx, n.Namespace, []addr.Spec{{Link: "veth0", Address: pfx("192.0.2.10/24")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := route.Apply(ctx, n.Namespace, []route.Spec{{Destination: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.1"), Metric: 100}}); err != nil {
			t.Fatal(err)
		}
		if _, err := link.Apply(ctx, n.Namespace, []link.Spec{{Name: "old0", Kind: "veth", Veth: &link.Veth{Peer: "old1"}, MTU: 1300}}); err != nil {
			t.Fatal(err)
		}
		r := newReconciler(t, n, reconcile.WithRoot(root), reconcile.WithoutPrune())
		s := addSource(t, r, "netctl", 0)
		was := settled(t, n, root)
		_, after := tryStates()
		_, err := s.Try(ctx, after, time.Second, func(context.Context, netprim.Plan) error { return errLost })
		if !errors.Is(err, reconcile.ErrRolledBack) {
			t.Fatalf("Try = %v", err)
		}
		if diff := cmp.Diff(was, view(t, n, root)); diff != "" {
			t.Errorf("after the rollback (-before +after):\n%s", diff)
		}
	})
	t.Run("kept", func(t *testing.T) {
		n := vethNS(t)
		requireNftInet(t, n)
		ctx := context.Background()
		root := t.TempDir()
		r := newReconciler(t, n, reconcile.WithRoot(root))
		s := addSource(t, r, "static", 10)
		before, after := tryStates()
		must(t, s.Set(before))
		if _, err := r.Apply(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Try(ctx, after, time.Second, func(context.Context, netprim.Plan) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := ipAddrs(t, n, "veth0"); len(got) != 1 || got[0] != "192.0.2.11/24" {
			t.Errorf("veth0 addresses after a kept try: %v", got)
		}
		if p, err := r.Apply(ctx); err != nil || !p.Empty() {
			t.Errorf("pass after a kept try: %v, %v", p, err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		n := vethNS(t)
		r := newReconciler(t, n)
		s := addSource(t, r, "static", 10)
		_, err := s.Try(context.Background(), reconcile.State{Addresses: []addr.Spec{{Address: pfx("192.0.2.1/24")}}}, time.Second,
			func(context.Context, netprim.Plan) error { t.Error("check called for an invalid state"); return nil })
		if !errors.Is(err, netprim.ErrInvalidSpec) {
			t.Errorf("Try = %v, want ErrInvalidSpec", err)
		}
		if got := ipAddrs(t, n, "veth0"); len(got) != 0 {
			t.Errorf("an invalid try applied %v", got)
		}
	})
}

var errLost = errors.New("lost the management connection")
