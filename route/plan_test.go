package route

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

const us Protocol = 78

// norm validates and normalizes specs for a diff.
func norm(t *testing.T, specs ...Spec) []Spec {
	t.Helper()
	out, err := prepare(specs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kernelRoute returns the Status the kernel reports for s written with
// protocol p.
func kernelRoute(t *testing.T, s Spec, p Protocol) Status {
	t.Helper()
	n := norm(t, s)[0]
	if n.Link == "" && n.Gateway.IsValid() {
		n.Link = "eth0"
	}
	fam := FamilyIPv4
	if n.Destination.Addr().Is6() {
		fam = FamilyIPv6
	}
	return Status{Spec: n, Family: fam, Protocol: p}
}

func lines(changes []netprim.Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.String())
	}
	return out
}

func TestDiff(t *testing.T) {
	gw := Spec{Destination: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Link: "eth0", Metric: 100}
	direct := Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Metric: 5}
	v6 := Spec{Destination: pfx("2001:db8:1::/48"), Gateway: addr("2001:db8::1")}
	tests := []struct {
		name  string
		want  []Spec
		have  []Status
		prune bool
		owned []uint32
		out   []string
	}{
		{
			name: "add into empty",
			want: []Spec{gw, v6},
			out: []string{
				"+ route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 100",
				"+ route 2001:db8:1::/48 via 2001:db8::1 metric 1024",
			},
		},
		{
			name: "nothing to do",
			want: []Spec{gw, v6},
			have: []Status{kernelRoute(t, gw, us), kernelRoute(t, v6, us)},
		},
		{
			name: "link left to the kernel is not compared",
			want: []Spec{{Destination: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Metric: 100}},
			have: []Status{kernelRoute(t, gw, us)},
		},
		{
			name: "mtu changed in place",
			want: []Spec{func() Spec { s := gw; s.MTU = 1400; return s }()},
			have: []Status{func() Status { s := kernelRoute(t, gw, us); s.MTU = 1500; return s }()},
			out:  []string{"~ route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 100 mtu 1500 -> 1400"},
		},
		{
			name: "gateway and link changed: one modify per field",
			want: []Spec{func() Spec { s := gw; s.Gateway = addr("192.0.2.2"); s.Link = "eth1"; return s }()},
			have: []Status{kernelRoute(t, gw, us)},
			out: []string{
				"~ route 198.51.100.0/24 dev eth1 metric 100 gateway 192.0.2.1 -> 192.0.2.2",
				"~ route 198.51.100.0/24 via 192.0.2.2 metric 100 link eth0 -> eth1",
			},
		},
		{
			name: "foreign route with the same key is taken over",
			want: []Spec{gw},
			have: []Status{kernelRoute(t, gw, ProtocolStatic)},
			out:  []string{"~ route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 100 protocol static -> 78"},
		},
		{
			name: "kernel route that matches is left alone",
			want: []Spec{{Destination: pfx("192.0.2.0/24"), Link: "eth0", Source: addr("192.0.2.10")}},
			have: []Status{kernelRoute(t, Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Source: addr("192.0.2.10")}, ProtocolKernel)},
		},
		{
			name: "kernel route: a source the spec leaves unset is not compared",
			want: []Spec{{Destination: pfx("192.0.2.0/24"), Link: "eth0"}},
			have: []Status{kernelRoute(t, Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Source: addr("192.0.2.10")}, ProtocolKernel)},
		},
		{
			name:  "kernel route: wanted and pruned never",
			want:  []Spec{{Destination: pfx("2001:db8::/64"), Link: "eth0", Metric: 256}},
			prune: true,
			owned: []uint32{TableMain},
			have:  []Status{kernelRoute(t, Spec{Destination: pfx("2001:db8::/64"), Link: "eth0", Metric: 256}, ProtocolKernel)},
		},
		{
			name:  "prune deletes only our stale routes",
			want:  []Spec{gw},
			prune: true,
			have: []Status{
				kernelRoute(t, gw, us),
				kernelRoute(t, Spec{Destination: pfx("10.1.0.0/16"), Gateway: addr("192.0.2.1")}, us),
				kernelRoute(t, Spec{Destination: pfx("10.2.0.0/16"), Gateway: addr("192.0.2.1")}, ProtocolStatic),
				kernelRoute(t, Spec{Destination: pfx("10.3.0.0/16"), Gateway: addr("192.0.2.1")}, ProtocolBoot),
				kernelRoute(t, Spec{Destination: pfx("10.4.0.0/16"), Gateway: addr("192.0.2.1")}, 79),
				kernelRoute(t, Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0"}, ProtocolKernel),
			},
			out: []string{"- route 10.1.0.0/16 via 192.0.2.1 dev eth0"},
		},
		{
			name: "without prune nothing is deleted",
			want: []Spec{},
			have: []Status{kernelRoute(t, gw, us)},
		},
		{
			name:  "owned table: foreign routes there are pruned too, kernel ones never",
			prune: true,
			owned: []uint32{100},
			have: []Status{
				kernelRoute(t, Spec{Destination: pfx("10.1.0.0/16"), Gateway: addr("192.0.2.1"), Table: 100}, ProtocolStatic),
				kernelRoute(t, Spec{Destination: pfx("10.2.0.0/16"), Link: "eth0", Table: 100}, ProtocolKernel),
				kernelRoute(t, Spec{Destination: pfx("10.3.0.0/16"), Gateway: addr("192.0.2.1"), Table: 101}, ProtocolStatic),
				kernelRoute(t, Spec{Destination: pfx("10.4.0.0/16"), Gateway: addr("192.0.2.1")}, ProtocolStatic),
			},
			out: []string{"- route 10.1.0.0/16 via 192.0.2.1 dev eth0 table 100 (proto static, in owned table 100)"},
		},
		{
			name:  "new key: add first, then delete the old one",
			want:  []Spec{func() Spec { s := gw; s.Metric = 200; return s }()},
			have:  []Status{kernelRoute(t, gw, us)},
			prune: true,
			out: []string{
				"+ route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 200",
				"- route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 100",
			},
		},
		{
			name: "routes carrying a gateway come after the routes that reach it",
			want: []Spec{gw, direct, {Destination: pfx("203.0.113.0/24"), Gateway: addr("10.9.9.9"), Link: "eth0", OnLink: true}},
			out: []string{
				"+ route 192.0.2.0/24 dev eth0 scope link metric 5",
				"+ route 203.0.113.0/24 via 10.9.9.9 dev eth0 onlink",
				"+ route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 100",
			},
		},
		{
			name:  "deletions remove gateway routes first",
			prune: true,
			have:  []Status{kernelRoute(t, direct, us), kernelRoute(t, gw, us)},
			out: []string{
				"- route 198.51.100.0/24 via 192.0.2.1 dev eth0 metric 100",
				"- route 192.0.2.0/24 dev eth0 scope link metric 5",
			},
		},
		{
			name: "multipath weights and types",
			want: []Spec{
				{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{{Gateway: addr("192.0.2.1"), Link: "eth0", Weight: 2}, {Gateway: addr("fe80::1"), Link: "eth1"}}},
				{Destination: pfx("10.1.0.0/16"), Type: TypeUnreachable, Table: 7},
			},
			have: []Status{kernelRoute(t, Spec{Destination: pfx("10.0.0.0/8"), NextHops: []NextHop{
				{Gateway: addr("192.0.2.1"), Link: "eth0", Weight: 1}, {Gateway: addr("fe80::1"), Link: "eth1"}}}, us)},
			out: []string{
				"+ route unreachable 10.1.0.0/16 table 7",
				"~ route 10.0.0.0/8 nextHops via 192.0.2.1 dev eth0 weight 1, via inet6 fe80::1 dev eth1 weight 1 -> via 192.0.2.1 dev eth0 weight 2, via inet6 fe80::1 dev eth1 weight 1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := routeDiff{want: norm(t, tt.want...), have: tt.have, owner: us, prune: tt.prune, owned: tt.owned}
			ops, changes := d.run()
			if d := cmp.Diff(tt.out, lines(changes)); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			n := 0
			for _, op := range ops {
				if int(op.first) != n {
					t.Errorf("op %+v does not start at change %d", op, n)
				}
				n += int(op.n)
			}
			if n != len(changes) {
				t.Errorf("ops cover %d changes of %d", n, len(changes))
			}
		})
	}
}

// TestDiffKernelRouteNeverReplaced: a wanted route whose key belongs to a
// route the kernel made for an address, and that differs from it in a field
// the spec sets, is refused rather than written over the kernel's route;
// the refusal names the route and the address, and nothing with the key is
// pruned.
func TestDiffKernelRouteNeverReplaced(t *testing.T) {
	connected := kernelRoute(t, Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Source: addr("192.0.2.10")}, ProtocolKernel)
	prefix := kernelRoute(t, Spec{Destination: pfx("2001:db8::/64"), Link: "eth0", Metric: 256}, ProtocolKernel)
	ours := kernelRoute(t, Spec{Destination: pfx("10.0.0.0/8"), Link: "eth0"}, us)
	const v4 = "conflicts with an object not owned: the key belongs to the kernel's route for address 192.0.2.10 (192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.10), which is never replaced: use another metric or table"
	const v6 = "conflicts with an object not owned: the key belongs to the kernel's route for an address on eth0 (2001:db8::/64 dev eth0 proto kernel metric 256), which is never replaced: use another metric or table"
	for _, tt := range []struct {
		want Spec
		msg  string // "" when the spec is satisfied or written elsewhere
		plan []string
	}{
		{want: Spec{Destination: pfx("192.0.2.0/24"), Link: "eth1"},
			msg: "replace route 192.0.2.0/24 dev eth1 scope link: spec[0]: " + v4},
		{want: Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Source: addr("192.0.2.11")},
			msg: "replace route 192.0.2.0/24 dev eth0 scope link src 192.0.2.11: spec[0]: " + v4},
		{want: Spec{Destination: pfx("192.0.2.0/24"), Gateway: addr("192.0.2.1")},
			msg: "replace route 192.0.2.0/24 via 192.0.2.1: spec[0]: " + v4},
		{want: Spec{Destination: pfx("2001:db8::/64"), Link: "eth0", Metric: 256, MTU: 1400},
			msg: "replace route 2001:db8::/64 dev eth0 metric 256 mtu 1400: spec[0]: " + v6},
		{want: Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Source: addr("192.0.2.10")}},
		{want: Spec{Destination: pfx("192.0.2.0/24"), Link: "eth0", Metric: 10},
			plan: []string{"+ route 192.0.2.0/24 dev eth0 scope link metric 10"}},
		{want: Spec{Destination: pfx("2001:db8::/64"), Type: TypeBlackhole, Metric: 256, Table: 7},
			plan: []string{"+ route blackhole 2001:db8::/64 table 7 metric 256"}},
	} {
		d := routeDiff{want: norm(t, tt.want), have: []Status{connected, prefix, ours}, owner: us, prune: true, owned: []uint32{TableMain}}
		ops, changes := d.run()
		if d := cmp.Diff(append(tt.plan, "- route 10.0.0.0/8 dev eth0 scope link"), lines(changes)); d != "" {
			t.Errorf("%v: plan (-want +got):\n%s", tt.want, d)
		}
		for _, op := range ops {
			if op.have >= 0 && d.have[op.have].Protocol == ProtocolKernel {
				t.Errorf("%v: op %+v writes the kernel's route %v", tt.want, op, d.have[op.have])
			}
		}
		var msg string
		switch len(d.conflicts) {
		case 0:
		case 1:
			err := d.conflictError(d.conflicts[0])
			if !errors.Is(err, netprim.ErrConflict) {
				t.Errorf("%v: refusal does not wrap netprim.ErrConflict: %v", tt.want, err)
			}
			msg = err.Error()
		default:
			t.Errorf("%v: %d conflicts", tt.want, len(d.conflicts))
		}
		if msg != tt.msg {
			t.Errorf("%v: refusal\n got %q\nwant %q", tt.want, msg, tt.msg)
		}
	}
}

func TestDiffReplaceIsOneWrite(t *testing.T) {
	gw := Spec{Destination: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Link: "eth0"}
	h := kernelRoute(t, gw, ProtocolBoot)
	h.MTU = 1500
	d := routeDiff{want: norm(t, gw), have: []Status{h}, owner: us, prune: true}
	ops, changes := d.run()
	if len(ops) != 1 || ops[0].kind != opReplace || len(changes) != 2 {
		t.Fatalf("want one replace with two changes, got ops %+v changes %v", ops, lines(changes))
	}
}

func TestDiffSkippedProtectsKey(t *testing.T) {
	gw := Spec{Destination: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Link: "gone"}
	h := kernelRoute(t, gw, us)
	h.Link = "eth0"
	d := routeDiff{want: norm(t, gw), skip: []bool{true}, have: []Status{h}, owner: us, prune: true}
	if ops, changes := d.run(); len(ops) != 0 {
		t.Fatalf("a route whose link is missing must neither be written nor pruned: %v", lines(changes))
	}
}

func TestDiffOpaqueUntouched(t *testing.T) {
	h := kernelRoute(t, Spec{Destination: pfx("2001:db8::/32"), Gateway: addr("2001:db8::1")}, us)
	d := routeDiff{have: []Status{h}, opaque: []bool{true}, owner: us, prune: true}
	if ops, _ := d.run(); len(ops) != 0 {
		t.Fatalf("a route with a source prefix must not be pruned by key: %+v", ops)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		s    Spec
		want string
	}{
		{Spec{Destination: pfx("198.51.100.0/24"), Gateway: addr("192.0.2.1"), Link: "veth0", Metric: 100},
			"198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100"},
		{Spec{Destination: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.1"), Table: 100},
			"0.0.0.0/0 via 192.0.2.1 table 100"},
		{Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("fe80::1"), Link: "eth0", Source: addr("10.0.0.1"), MTU: 1400, TOS: 0x10},
			"10.0.0.0/8 tos 0x10 via inet6 fe80::1 dev eth0 src 10.0.0.1 mtu 1400"},
		{Spec{Destination: pfx("192.0.2.5/32"), Type: TypeLocal, Link: "lo", Table: TableLocal, Scope: ScopeHost},
			"local 192.0.2.5/32 dev lo table local scope host"},
		{Spec{Destination: pfx("10.0.0.0/8"), Gateway: addr("10.9.9.9"), Link: "eth0", OnLink: true},
			"10.0.0.0/8 via 10.9.9.9 dev eth0 onlink"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	// The owner is not part of a route's name; the kernel's own routes
	// say they are.
	st := Status{Spec: tests[0].s, Protocol: ProtocolStatic}
	if got := st.String(); got != tests[0].want {
		t.Errorf("Status.String() = %q, want %q", got, tests[0].want)
	}
	st.Protocol = ProtocolKernel
	if got, want := st.String(), "198.51.100.0/24 via 192.0.2.1 dev veth0 proto kernel metric 100"; got != want {
		t.Errorf("Status.String() = %q, want %q", got, want)
	}
}

func TestCheckOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []netprim.Option
		ok   bool
	}{
		{nil, true},
		{[]netprim.Option{WithOwnedTables(100, 254)}, true},
		{[]netprim.Option{WithOwnedTables(255)}, false},
		{[]netprim.Option{WithOwnedTables(0)}, false},
		{[]netprim.Option{netprim.WithOwner(netprim.Owner{ID: 4})}, false},
	} {
		o, x := resolve(tc.opts)
		if err := checkOptions(o, x); (err == nil) != tc.ok {
			t.Errorf("options %v: err %v", tc.opts, err)
		}
	}
	_, x := resolve([]netprim.Option{WithOwnedTables(7), netprim.WithPrune(), WithOwnedTables(8)})
	if d := cmp.Diff([]uint32{7, 8}, x.ownedTables); d != "" {
		t.Errorf("owned tables: %s", d)
	}
}
