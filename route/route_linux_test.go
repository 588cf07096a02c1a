package route

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// roundTrip covers every Spec field, both families, every type, default
// routes, ECMP with weights, RFC 8950 and a table other than main. It needs
// the links and addresses of newNS.
func roundTrip() []Spec {
	return []Spec{
		{Destination: pfx("10.1.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Metric: 100},
		{Destination: pfx("10.2.0.0/24"), Link: "va", MTU: 1400},
		{Destination: pfx("10.3.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Source: addr("192.0.2.1")},
		{Destination: pfx("10.4.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Table: 100},
		{Destination: pfx("10.5.0.0/24"), Link: "vb", Scope: ScopeSite},
		{Destination: pfx("10.6.0.0/24"), Gateway: addr("10.99.0.1"), Link: "va", OnLink: true},
		{Destination: pfx("10.7.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", TOS: 0x10},
		{Destination: pfx("10.8.0.0/24"), MTU: 1400, NextHops: []NextHop{
			{Gateway: addr("192.0.2.2"), Link: "va", Weight: 2}, {Gateway: addr("198.51.100.2"), Link: "vb", Weight: 5}}},
		{Destination: pfx("10.9.0.0/24"), NextHops: []NextHop{
			{Gateway: addr("10.99.0.1"), Link: "va", OnLink: true}, {Gateway: addr("192.0.2.3"), Link: "va"}}},
		{Destination: pfx("10.10.0.0/24"), NextHops: []NextHop{
			{Gateway: addr("fe80::1"), Link: "va", Weight: 3}, {Gateway: addr("fe80::2"), Link: "vb"}}},
		{Destination: pfx("10.11.0.0/24"), Gateway: addr("192.0.2.2")}, // link picked by the kernel
		{Destination: pfx("10.12.0.0/24"), Link: "va", Scope: ScopeGlobal, Metric: 7},
		{Destination: pfx("203.0.113.0/24"), Gateway: addr("fe80::1"), Link: "va"},
		{Destination: pfx("203.0.114.0/24"), Gateway: addr("2001:db8::2"), Link: "va", Metric: 3},
		{Destination: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.2"), Link: "va", Metric: 50},
		{Destination: pfx("0.0.0.0/0"), Gateway: addr("198.51.100.2"), Link: "vb", Table: 100},
		{Destination: pfx("172.16.0.0/12"), Type: TypeBlackhole},
		{Destination: pfx("172.16.0.0/16"), Type: TypeUnreachable, Table: 100, Metric: 5},
		{Destination: pfx("172.17.0.0/16"), Type: TypeProhibit},
		{Destination: pfx("192.0.2.50/32"), Type: TypeLocal, Link: "va"},
		{Destination: pfx("192.0.2.51/32"), Type: TypeLocal, Link: "va", Table: 100, Source: addr("192.0.2.1")},
		{Destination: pfx("::/0"), Gateway: addr("2001:db8::2"), Link: "va"},
		{Destination: pfx("::/0"), Type: TypeBlackhole, Table: 100},
		{Destination: pfx("2001:db8:5::/64"), NextHops: []NextHop{
			{Gateway: addr("2001:db8::2"), Link: "va", Weight: 3}, {Gateway: addr("2001:db8:1::2"), Link: "vb"}}},
		{Destination: pfx("2001:db8:6::/64"), Gateway: addr("2001:db8::2"), Link: "va", Metric: 10, MTU: 1400, Source: addr("2001:db8::1")},
		{Destination: pfx("2001:db8:7::/64"), Gateway: addr("2001:db8:ff::1"), Link: "va", OnLink: true},
		{Destination: pfx("2001:db8:8::/64"), Link: "vb"},
		{Destination: pfx("2001:db8:9::/64"), Gateway: addr("fe80::1"), Link: "vb", Table: 100},
		{Destination: pfx("2001:db8:a::/64"), Type: TypeUnreachable},
		{Destination: pfx("2001:db8:b::/64"), Type: TypeProhibit, Metric: 9},
		{Destination: pfx("2001:db8::50/128"), Type: TypeLocal, Link: "va"},
	}
}

// expected returns the normalized specs as List must report them: Link
// filled in where the kernel picked it.
func expected(t *testing.T, specs []Spec) []Spec {
	t.Helper()
	out := norm(t, specs...)
	for i := range out {
		if out[i].Link == "" && out[i].Gateway.IsValid() {
			out[i].Link = "va"
		}
	}
	sortSpecs(out)
	return out
}

func TestRoundTrip(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	want := roundTrip()
	var writes int64
	plan, err := Apply(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Fatalf("Apply: %v\nplan:\n%v", err, plan)
	}
	if len(plan.Changes) != len(want) || writes != int64(len(want)) {
		t.Errorf("plan has %d changes and %d writes for %d routes:\n%v", len(plan.Changes), writes, len(want), plan)
	}
	for _, c := range plan.Changes {
		if c.Action != netprim.Add || c.Kind != "route" {
			t.Errorf("unexpected change %v", c)
		}
	}
	exp := expected(t, want)
	st, err := List(ctx, n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(exp, owned(st, us), cmpIP); d != "" {
		t.Errorf("List (-want +got):\n%s", d)
	}
	if d := cmp.Diff(exp, ipRoutes(t, n, "78"), cmpIP); d != "" {
		t.Errorf("ip -j -d route show table all (-want +got):\n%s", d)
	}
	for _, s := range st {
		if s.Protocol != us {
			continue
		}
		if s.Family != s.Spec.Family() {
			t.Errorf("%v: family %s", s, s.Family)
		}
		if s.Link != "" && s.LinkIndex == 0 {
			t.Errorf("%v: no link index", s)
		}
	}
	// Every Spec field is exercised above.
	var covered fields
	for _, s := range exp {
		covered |= differ(&s, &Status{}, us)
	}
	if all := fType | fGateway | fLink | fSource | fScope | fMTU | fOnLink | fNextHops; covered&all != all {
		t.Errorf("round trip misses fields %b", all&^covered)
	}
}

func TestIdempotent(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	want := roundTrip()
	if _, err := Apply(ctx, n.Namespace, want); err != nil {
		t.Fatal(err)
	}
	mon := newMonitor(t, n)
	var writes, dumps, linkDumps int64
	plan, err := Apply(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes), netprim.WithPrune(), withDumpCounter(&dumps, &linkDumps))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Empty() || plan.String() != "no changes" {
		t.Errorf("second Apply changed:\n%v", plan)
	}
	if writes != 0 || dumps != 1 || linkDumps != 1 {
		t.Errorf("second Apply: %d writes, %d route dumps, %d link dumps; want 0, 1, 1", writes, dumps, linkDumps)
	}
	if ev := mon.events(t); len(ev) != 0 {
		t.Errorf("second Apply caused route events:\n%s", strings.Join(ev, "\n"))
	}
	// An unnormalized spelling of the same routes is the same input.
	alt := roundTrip()
	alt[1].Destination = pfx("10.2.0.9/24")
	alt[21].Metric = 1024
	alt[4].Type = TypeUnicast
	plan, err = Plan(ctx, n.Namespace, alt)
	if err != nil || !plan.Empty() {
		t.Errorf("Plan of equivalent specs: %v\n%v", err, plan)
	}
}

func TestReplaceInPlace(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	before := []Spec{
		{Destination: pfx("10.1.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Metric: 100, MTU: 1500},
		{Destination: pfx("2001:db8:5::/64"), Gateway: addr("2001:db8::2"), Link: "va"},
		{Destination: pfx("10.2.0.0/24"), Type: TypeBlackhole},
	}
	if _, err := Apply(ctx, n.Namespace, before); err != nil {
		t.Fatal(err)
	}
	after := []Spec{
		{Destination: pfx("10.1.0.0/24"), Gateway: addr("198.51.100.2"), Link: "vb", Metric: 100, MTU: 1400},
		{Destination: pfx("2001:db8:5::/64"), NextHops: []NextHop{
			{Gateway: addr("2001:db8::2"), Link: "va"}, {Gateway: addr("2001:db8:1::2"), Link: "vb", Weight: 4}}},
		{Destination: pfx("10.2.0.0/24"), Link: "va"},
	}
	mon := newMonitor(t, n)
	var writes int64
	plan, err := Apply(ctx, n.Namespace, after, netprim.WithWriteCounter(&writes), netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	got := lines(plan.Changes)
	// One Modify per changed field; one write per route.
	want := []string{
		"~ route 10.2.0.0/24 dev va scope link type blackhole -> unicast",
		"~ route 10.2.0.0/24 scope link link none -> va",
		"~ route 10.2.0.0/24 dev va scope global -> link",
		"~ route 10.1.0.0/24 dev vb metric 100 mtu 1400 gateway 192.0.2.2 -> 198.51.100.2",
		"~ route 10.1.0.0/24 via 198.51.100.2 metric 100 mtu 1400 link va -> vb",
		"~ route 10.1.0.0/24 via 198.51.100.2 dev vb metric 100 mtu 1500 -> 1400",
		"~ route 2001:db8:5::/64 metric 1024 nexthop via 2001:db8::2 dev va weight 1 nexthop via 2001:db8:1::2 dev vb weight 4 gateway 2001:db8::2 -> none",
		"~ route 2001:db8:5::/64 metric 1024 nexthop via 2001:db8::2 dev va weight 1 nexthop via 2001:db8:1::2 dev vb weight 4 link va -> none",
		"~ route 2001:db8:5::/64 metric 1024 nextHops none -> via 2001:db8::2 dev va weight 1, via 2001:db8:1::2 dev vb weight 4",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if writes != 3 {
		t.Errorf("%d writes, want one replace per route", writes)
	}
	for _, ev := range mon.events(t) {
		if strings.HasPrefix(ev, "del ") {
			t.Errorf("replacement deleted a route: %s", ev)
		}
	}
	if d := cmp.Diff(expected(t, after), ipRoutes(t, n, "78"), cmpIP); d != "" {
		t.Errorf("ip (-want +got):\n%s", d)
	}
}

func TestNewKeyAddsBeforeDelete(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	old := []Spec{{Destination: pfx("10.1.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Metric: 100}}
	if _, err := Apply(ctx, n.Namespace, old); err != nil {
		t.Fatal(err)
	}
	mon := newMonitor(t, n)
	nw := []Spec{{Destination: pfx("10.1.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Metric: 200}}
	if _, err := Apply(ctx, n.Namespace, nw, netprim.WithPrune()); err != nil {
		t.Fatal(err)
	}
	ev := mon.events(t)
	want := []string{
		"new route 10.1.0.0/24 via 192.0.2.2 metric 200",
		"del route 10.1.0.0/24 via 192.0.2.2 metric 100",
	}
	if d := cmp.Diff(want, ev); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestOwnership(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	for _, c := range []string{
		"10.20.0.0/24 via 192.0.2.2 proto static",
		"10.21.0.0/24 via 192.0.2.2 proto boot",
		"10.22.0.0/24 via 192.0.2.2", // boot
		"10.23.0.0/24 via 192.0.2.2 proto dhcp",
		"10.24.0.0/24 via 192.0.2.2 proto 79", // another owner
		"10.25.0.0/24 via 192.0.2.2 proto static table 100",
		"10.26.0.0/24 dev va proto kernel table 100",
		"10.27.0.0/24 via 192.0.2.2 proto static table 101",
		"10.30.0.0/24 via 192.0.2.2 proto static metric 30", // to be taken over
	} {
		n.Run(t, "ip", append([]string{"route", "add"}, strings.Fields(c)...)...)
	}
	foreignBefore := ipRoutesExcept(t, n, "78")
	mine := []Spec{
		{Destination: pfx("10.40.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va"},
		{Destination: pfx("10.41.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Table: 100},
		{Destination: pfx("2001:db8:40::/48"), Gateway: addr("2001:db8::2"), Link: "va"},
	}
	if _, err := Apply(ctx, n.Namespace, mine); err != nil {
		t.Fatal(err)
	}

	// Prune with only the first route (and a takeover): our other two go,
	// every foreign route stays. The routes the kernel made for the
	// addresses of va are wanted too, as one naturally writes them: they
	// exist already, so they are neither written nor taken over.
	keep := []Spec{mine[0], {Destination: pfx("10.30.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va", Metric: 30}}
	connected := []Spec{
		{Destination: pfx("192.0.2.0/24"), Link: "va"},
		{Destination: pfx("2001:db8::/64"), Link: "va", Metric: 256},
	}
	plan, err := Apply(ctx, n.Namespace, append(slices.Clone(keep), connected...), netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := []string{
		"~ route 10.30.0.0/24 via 192.0.2.2 dev va metric 30 protocol static -> 78",
		"- route 10.41.0.0/24 via 192.0.2.2 dev va table 100",
		"- route 2001:db8:40::/48 via 2001:db8::2 dev va metric 1024",
	}
	if d := cmp.Diff(wantPlan, lines(plan.Changes)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if d := cmp.Diff(expected(t, keep), ipRoutes(t, n, "78"), cmpIP); d != "" {
		t.Errorf("our routes (-want +got):\n%s", d)
	}
	foreignAfter := ipRoutesExcept(t, n, "78")
	wantForeign := slices.DeleteFunc(slices.Clone(foreignBefore), func(s string) bool { return strings.HasPrefix(s, "10.30.0.0/24") })
	if d := cmp.Diff(wantForeign, foreignAfter); d != "" {
		t.Errorf("foreign routes changed (-before +after):\n%s", d)
	}
	checkConnected(t, n)

	// A wanted route that differs from the kernel's route with its key in
	// a field it sets is refused, naming the route and the address; the
	// kernel's route stays as it is and the other routes are applied.
	clash := []Spec{{Destination: pfx("192.0.2.0/24"), Link: "vb"}, {Destination: pfx("10.42.0.0/24"), Link: "va"}}
	planned, perr := Plan(ctx, n.Namespace, append(slices.Clone(keep), clash...))
	plan, err = Apply(ctx, n.Namespace, append(slices.Clone(keep), clash...))
	if fmt.Sprint(perr) != fmt.Sprint(err) || planned.String() != plan.String() {
		t.Errorf("Plan and Apply differ on a clash:\n%v\n%v\n%v\n%v", perr, planned, err, plan)
	}
	if err == nil || !strings.Contains(err.Error(), "route 192.0.2.0/24 dev vb scope link: spec[2]: ") ||
		!strings.Contains(err.Error(), "kernel's route for address 192.0.2.1") || !strings.Contains(err.Error(), "use another metric or table") {
		t.Errorf("a spec clashing with the kernel's route: %v", err)
	}
	if d := cmp.Diff([]string{"+ route 10.42.0.0/24 dev va scope link"}, lines(plan.Changes)); d != "" {
		t.Errorf("clash plan (-want +got):\n%s", d)
	}
	checkConnected(t, n)

	// Another owner prunes only its own routes.
	plan, err = Apply(ctx, n.Namespace, nil, netprim.WithPrune(), netprim.WithOwner(netprim.Owner{ID: 79}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"- route 10.24.0.0/24 via 192.0.2.2 dev va"}, lines(plan.Changes)); d != "" {
		t.Errorf("owner 79 plan (-want +got):\n%s", d)
	}

	// Owning table 100 removes its foreign routes, except the kernel's.
	plan, err = Apply(ctx, n.Namespace, keep, netprim.WithPrune(), WithOwnedTables(100))
	if err != nil {
		t.Fatal(err)
	}
	wantPlan = []string{"- route 10.25.0.0/24 via 192.0.2.2 dev va table 100 (proto static, in owned table 100)", "- route 10.42.0.0/24 dev va scope link"}
	if d := cmp.Diff(wantPlan, lines(plan.Changes)); d != "" {
		t.Errorf("owned table plan (-want +got):\n%s", d)
	}
	var t100 []ipRoute
	n.IPJSON(t, &t100, "route", "show", "table", "100")
	if len(t100) != 1 || t100[0].Dst != "10.26.0.0/24" || t100[0].Protocol != "kernel" {
		t.Errorf("table 100 after pruning: %+v", t100)
	}
	var t101 []ipRoute
	n.IPJSON(t, &t101, "route", "show", "table", "101")
	if len(t101) != 1 {
		t.Errorf("table 101 (not owned) lost routes: %+v", t101)
	}
	// Pruning everything of ours leaves the kernel's address routes.
	if _, err := Apply(ctx, n.Namespace, nil, netprim.WithPrune()); err != nil {
		t.Fatal(err)
	}
	if got := ipRoutes(t, n, "78"); len(got) != 0 {
		t.Errorf("our routes left: %v", got)
	}
	var main []ipRoute
	n.IPJSON(t, &main, "route", "show", "proto", "kernel")
	if len(main) != 2 {
		t.Errorf("kernel routes: %+v", main)
	}
	checkConnected(t, n)
}

// checkConnected fails the test unless the routes the kernel made for the
// addresses of va (newNS) are there as the kernel made them: protocol
// kernel, and for IPv4 the address as preferred source.
func checkConnected(t *testing.T, n *nstest.NS) {
	t.Helper()
	var v4, v6 []ipRoute
	n.IPJSON(t, &v4, "-4", "route", "show", "192.0.2.0/24")
	n.IPJSON(t, &v6, "-6", "route", "show", "2001:db8::/64")
	if len(v4) != 1 || v4[0].Dev != "va" || v4[0].Protocol != "kernel" || v4[0].Prefsrc != "192.0.2.1" || v4[0].Scope != "link" {
		t.Errorf("the kernel's route for 192.0.2.1/24 changed: %+v", v4)
	}
	if len(v6) != 1 || v6[0].Dev != "va" || v6[0].Protocol != "kernel" || v6[0].Metric != 256 {
		t.Errorf("the kernel's route for 2001:db8::1/64 changed: %+v", v6)
	}
}

// ipRoutesExcept renders every route whose protocol is not proto, sorted.
func ipRoutesExcept(t *testing.T, n interface {
	IPJSON(testing.TB, any, ...string)
}, proto string) []string {
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		var rs []ipRoute
		n.IPJSON(t, &rs, fam, "-d", "route", "show", "table", "all")
		for _, r := range rs {
			if r.Protocol != proto {
				out = append(out, fmt.Sprintf("%s %s %s %s %s %d", r.Dst, r.Gateway, r.Dev, r.Table, r.Protocol, r.Metric))
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestErrorsPerRoute(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	want := []Spec{
		{Destination: pfx("10.1.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va"},
		{Destination: pfx("10.2.0.0/24"), Gateway: addr("203.0.113.9"), Link: "va"}, // not reachable
		{Destination: pfx("10.3.0.0/24"), Gateway: addr("192.0.2.2"), Link: "nosuch0"},
		{Destination: pfx("10.4.0.0/24"), Link: "vb"},
	}
	var writes int64
	plan, err := Apply(ctx, n.Namespace, want, netprim.WithWriteCounter(&writes))
	if err == nil {
		t.Fatal("Apply accepted an unreachable gateway and a missing link")
	}
	msg := err.Error()
	if !strings.Contains(msg, "add route 10.2.0.0/24 via 203.0.113.9 dev va: ") || !strings.Contains(msg, "gateway") {
		t.Errorf("error does not name the route and the kernel's reason: %v", err)
	}
	if !strings.Contains(msg, "route 10.3.0.0/24 via 192.0.2.2 dev nosuch0: spec[2]: link \"nosuch0\"") || !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("missing link not reported as ErrNotFound naming spec[2]: %v", err)
	}
	var oe *netprim.OpError
	if !errors.As(err, &oe) {
		t.Errorf("no OpError in %v", err)
	}
	if d := cmp.Diff([]string{"+ route 10.4.0.0/24 dev vb scope link", "+ route 10.1.0.0/24 via 192.0.2.2 dev va"}, lines(plan.Changes)); d != "" {
		t.Errorf("plan of what succeeded (-want +got):\n%s", d)
	}
	if writes != 3 {
		t.Errorf("%d writes, want 3 (the missing link is not sent)", writes)
	}
	if d := cmp.Diff(expected(t, []Spec{want[0], want[3]}), ipRoutes(t, n, "78"), cmpIP); d != "" {
		t.Errorf("the good routes must be applied (-want +got):\n%s", d)
	}
}

func TestInvalidLeavesKernelUntouched(t *testing.T) {
	n := newNS(t)
	want := append(roundTrip(), Spec{Destination: pfx("10.99.0.0/16"), Gateway: addr("192.0.2.2"), Type: TypeBlackhole})
	var writes int64
	_, err := Apply(context.Background(), n.Namespace, want, netprim.WithWriteCounter(&writes), netprim.WithPrune())
	if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), fmt.Sprintf("spec[%d].gateway", len(want)-1)) {
		t.Fatalf("Apply = %v, want ErrInvalidSpec naming the gateway", err)
	}
	if writes != 0 || len(ipRoutes(t, n, "78")) != 0 {
		t.Errorf("invalid input wrote %d requests", writes)
	}
	if _, err := Apply(context.Background(), n.Namespace, nil, WithOwnedTables(255), netprim.WithPrune()); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("owning the local table: %v", err)
	}
}

func TestPlanMatchesApply(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	want := roundTrip()
	plan, err := Plan(ctx, n.Namespace, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(ipRoutes(t, n, "78")) != 0 {
		t.Fatal("Plan wrote to the kernel")
	}
	applied, err := Apply(ctx, n.Namespace, want)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(plan.String(), applied.String()); d != "" {
		t.Errorf("Plan and Apply differ (-plan +apply):\n%s", d)
	}
}

// countdown is a context that reports cancellation from the n-th check of
// Err on, to cancel Apply deterministically at every point it checks.
type countdown struct {
	context.Context
	n atomic.Int64
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func bulk(start, count int, gw string) []Spec {
	out := make([]Spec, count)
	for i := range out {
		k := start + i
		out[i] = Spec{Destination: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 0}), 24),
			Gateway: addr(gw), Link: "va", Metric: 10}
	}
	return out
}

func TestCancelConverges(t *testing.T) {
	n := newNS(t)
	rng := rand.New(rand.NewPCG(1, 2))
	sets := [][]Spec{
		bulk(0, 5000, "192.0.2.2"),
		bulk(2500, 5000, "192.0.2.3"), // overlaps: replacements, additions and deletions
		append(bulk(0, 1000, "192.0.2.2"), roundTrip()...),
	}
	check := func(want []Spec) {
		t.Helper()
		st, err := List(context.Background(), n.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(expected(t, want), owned(st, us), cmpIP); d != "" {
			t.Fatalf("not converged (-want +got):\n%s", d)
		}
	}
	round, partial := 0, 0
	cancelled := func(want []Spec, ctx context.Context) {
		t.Helper()
		round++
		var w int64
		_, err := Apply(ctx, n.Namespace, want, netprim.WithPrune(), netprim.WithWriteCounter(&w))
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: cancelled Apply: %v", round, err)
		}
		if err != nil && w > 0 {
			partial++ // stopped between batches, with some writes made
		}
		// Re-apply converges, with nothing of ours left over.
		if _, err := Apply(context.Background(), n.Namespace, want, netprim.WithPrune()); err != nil {
			t.Fatalf("round %d: re-apply: %v", round, err)
		}
		check(want)
		var w3 int64
		if p, err := Apply(context.Background(), n.Namespace, want, netprim.WithPrune(), netprim.WithWriteCounter(&w3)); err != nil || w3 != 0 {
			t.Fatalf("round %d: third apply: %v, %d writes\n%v", round, err, w3, p)
		}
	}
	// Every check point: 0 cancels before the link dump, then the route dump,
	// then between write batches.
	for point := int64(0); point < 8; point++ {
		for _, want := range sets {
			c := &countdown{Context: context.Background()}
			c.n.Store(point)
			cancelled(want, c)
		}
	}
	// Random moments in time.
	for i := 0; i < 6; i++ {
		want := sets[rng.IntN(len(sets))]
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(rng.IntN(20000))*time.Microsecond, cancel)
		cancelled(want, ctx)
		cancel()
	}
	if partial == 0 {
		t.Fatal("no Apply was cancelled after it had started writing")
	}
	t.Logf("%d rounds, %d stopped part-way", round, partial)
	// Prune everything: nothing orphaned.
	if _, err := Apply(context.Background(), n.Namespace, nil, netprim.WithPrune()); err != nil {
		t.Fatal(err)
	}
	if got := ipRoutes(t, n, "78"); len(got) != 0 {
		t.Fatalf("%d routes of ours left after pruning everything", len(got))
	}
}

// TestGatewayOrdering writes, in one Apply, routes whose gateways are
// reachable only through other routes of the same set, listed after them.
// The kernel rejects a gateway it cannot resolve, so this passes only if
// Apply orders the routes that carry the gateways first.
func TestGatewayOrdering(t *testing.T) {
	n := newNS(t)
	want := []Spec{
		{Destination: pfx("10.50.0.0/24"), Gateway: addr("172.30.0.1"), Link: "va"},
		{Destination: pfx("10.51.0.0/24"), NextHops: []NextHop{{Gateway: addr("172.30.0.1"), Link: "va"}, {Gateway: addr("172.31.0.1"), Link: "vb"}}},
		{Destination: pfx("2001:db8:50::/48"), Gateway: addr("2001:db8:30::1"), Link: "va"},
		{Destination: pfx("172.30.0.1/32"), Link: "va"},
		{Destination: pfx("172.31.0.0/24"), Link: "vb"},
		{Destination: pfx("2001:db8:30::/64"), Link: "va"},
	}
	plan, err := Apply(context.Background(), n.Namespace, want)
	if err != nil {
		t.Fatalf("Apply: %v\n%v", err, plan)
	}
	if d := cmp.Diff(expected(t, want), ipRoutes(t, n, "78"), cmpIP); d != "" {
		t.Errorf("ip (-want +got):\n%s", d)
	}
	// Removing them all deletes the gateway routes before the routes that
	// carry their gateways.
	plan, err = Apply(context.Background(), n.Namespace, nil, netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	last := lines(plan.Changes)[3:]
	for _, l := range last {
		if strings.Contains(l, " via ") {
			t.Errorf("gateway route deleted after link routes: %v", lines(plan.Changes))
		}
	}
}

// TestMultipathBackToSingle replaces multipath routes by single-path ones
// and back, in place.
func TestMultipathBackToSingle(t *testing.T) {
	n := newNS(t)
	ctx := context.Background()
	multi := []Spec{
		{Destination: pfx("2001:db8:5::/64"), NextHops: []NextHop{
			{Gateway: addr("2001:db8::2"), Link: "va", Weight: 2}, {Gateway: addr("2001:db8:1::2"), Link: "vb"}}},
		{Destination: pfx("10.5.0.0/24"), NextHops: []NextHop{
			{Gateway: addr("192.0.2.2"), Link: "va"}, {Gateway: addr("198.51.100.2"), Link: "vb", Weight: 7}}},
	}
	single := []Spec{
		{Destination: pfx("2001:db8:5::/64"), Gateway: addr("2001:db8:1::3"), Link: "vb"},
		{Destination: pfx("10.5.0.0/24"), Gateway: addr("192.0.2.3"), Link: "va"},
	}
	for i, want := range [][]Spec{multi, single, multi, single} {
		var writes int64
		if _, err := Apply(ctx, n.Namespace, want, netprim.WithPrune(), netprim.WithWriteCounter(&writes)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i > 0 && writes != 2 {
			t.Errorf("step %d: %d writes, want 2 replacements", i, writes)
		}
		if d := cmp.Diff(expected(t, want), ipRoutes(t, n, "78"), cmpIP); d != "" {
			t.Fatalf("step %d: ip (-want +got):\n%s", i, d)
		}
	}
}

// onCheck is a context whose Err runs hook at its at-th call (counting from
// 1) and reports no cancellation. Apply checks ctx before each dump and
// before each write batch, so a hook there changes the kernel at a known
// point between Apply's reading and its writing.
type onCheck struct {
	context.Context
	at    int
	calls int
	hook  func()
}

func (c *onCheck) Err() error {
	c.calls++
	if c.calls == c.at {
		c.hook()
	}
	return nil
}

// TestDeleteOfVanishedRoute: a route Apply prunes that disappears between
// the dump and the delete (here deleted with ip(8) at the check before the
// first write batch; in life flushed with its link, say) is gone as wanted:
// the delete counts as done, not as an error.
func TestDeleteOfVanishedRoute(t *testing.T) {
	n := newNS(t)
	stale := []Spec{
		{Destination: pfx("10.1.0.0/24"), Gateway: addr("192.0.2.2"), Link: "va"},
		{Destination: pfx("2001:db8:5::/64"), Gateway: addr("2001:db8::2"), Link: "va"},
		{Destination: pfx("10.2.0.0/24"), Link: "vb"},
	}
	if _, err := Apply(context.Background(), n.Namespace, stale); err != nil {
		t.Fatal(err)
	}
	// Reading is a link dump and a route dump (two checks); the third
	// check comes before the writes.
	ctx := &onCheck{Context: context.Background(), at: 3, hook: func() {
		n.Run(t, "ip", "route", "del", "10.1.0.0/24")
		n.Run(t, "ip", "-6", "route", "del", "2001:db8:5::/64")
	}}
	var writes int64
	plan, err := Apply(ctx, n.Namespace, nil, netprim.WithPrune(), netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Errorf("Apply: %v", err)
	}
	want := []string{
		"- route 10.1.0.0/24 via 192.0.2.2 dev va",
		"- route 2001:db8:5::/64 via 2001:db8::2 dev va metric 1024",
		"- route 10.2.0.0/24 dev vb scope link",
	}
	if d := cmp.Diff(want, lines(plan.Changes)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if ctx.calls < ctx.at || writes != 3 {
		t.Errorf("the routes did not vanish between reading and writing (%d checks, %d writes)", ctx.calls, writes)
	}
	if got := ipRoutes(t, n, "78"); len(got) != 0 {
		t.Errorf("routes left: %v", got)
	}
}
