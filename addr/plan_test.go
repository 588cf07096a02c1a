package addr

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

const owner = netprim.DefaultOwnerID

// links used by the unit tests: ifindex 2 is veth0, 3 is veth1.
var testLinks = map[string]int{"veth0": 2, "veth1": 3}

func targets(t *testing.T, specs ...Spec) []target {
	t.Helper()
	if err := Validate(specs); err != nil {
		t.Fatal(err)
	}
	out := make([]target, len(specs))
	for i, s := range specs {
		s.Normalize()
		out[i] = target{index: i, spec: s, ifindex: testLinks[s.Link]}
	}
	return out
}

// have builds kernel state from Status values, as List reports them.
func have(sts ...Status) []kaddr {
	out := make([]kaddr, len(sts))
	for i, st := range sts {
		if st.LinkIndex == 0 {
			st.LinkIndex = testLinks[st.Link]
		}
		if st.Scope == "" {
			st.Scope = "global"
		}
		if st.Label == "" && st.Address.Addr().Is4() {
			st.Label = st.Link
		}
		out[i] = fromStatus(st)
	}
	return out
}

func p(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func lines(pl netprim.Plan) []string {
	if pl.Empty() && len(pl.Warnings) == 0 {
		return nil
	}
	return strings.Split(pl.String(), "\n")
}

func runDiff(t *testing.T, in planInput) planResult {
	t.Helper()
	if in.owner == 0 {
		in.owner = owner
	}
	return diff(in)
}

func TestReleaseAtLeast(t *testing.T) {
	for _, tc := range []struct {
		release      string
		major, minor int
		want         bool
	}{
		{"6.18.0-1-amd64", 6, 3, true},
		{"6.1.176", 6, 3, false},
		{"6.1.176", 5, 18, true},
		{"5.18-rc1", 5, 18, true},
		{"5.17.15", 5, 18, false},
		{"4.19.0", 5, 18, false},
		{"", 5, 18, true},
	} {
		if got := releaseAtLeast(tc.release, tc.major, tc.minor); got != tc.want {
			t.Errorf("releaseAtLeast(%q, %d, %d) = %v", tc.release, tc.major, tc.minor, got)
		}
	}
}

func TestDiffAddAndNoop(t *testing.T) {
	want := targets(t,
		Spec{Link: "veth0", Address: p("192.0.2.10/24")},
		Spec{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}},
	)
	r := runDiff(t, planInput{want: want, marks: true})
	if diff := cmp.Diff([]string{
		"+ address 192.0.2.10/24 dev veth0",
		"+ address 2001:db8::10/64 dev veth0",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if r.ops[0].a.proto != owner || r.ops[0].kind != opAdd || r.ops[0].a.label != "veth0" {
		t.Fatalf("add op %+v", r.ops[0])
	}

	// The same addresses present, with kernel flags the Spec does not
	// manage: nothing to do.
	r = runDiff(t, planInput{want: want, marks: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24"), Flags: []string{"secondary", "permanent"}, Protocol: owner},
		Status{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad", "tentative", "optimistic", "dadfailed", "temporary"}, Protocol: owner},
	)})
	if len(r.ops) != 0 || len(r.errs) != 0 {
		t.Fatalf("want no ops, got %+v %v", r.ops, r.errs)
	}
}

func TestDiffModifyInPlace(t *testing.T) {
	want := targets(t,
		Spec{Link: "veth0", Address: p("192.0.2.10/24"), Metric: 100},
		Spec{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad", "noprefixroute"}},
	)
	r := runDiff(t, planInput{want: want, marks: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner},
		Status{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}, Protocol: owner},
	)})
	if diff := cmp.Diff([]string{
		"~ address 192.0.2.10/24 dev veth0 metric 0 -> 100",
		"~ address 2001:db8::10/64 dev veth0 flags nodad -> nodad,noprefixroute",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	for _, o := range r.ops {
		if o.kind != opReplace || o.second {
			t.Fatalf("op %+v: want a replace in the first batch", o)
		}
	}
}

func TestDiffLifetimes(t *testing.T) {
	want := targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/24"), ValidLifetime: time.Hour, PreferredLifetime: 30 * time.Minute})
	for _, tc := range []struct {
		name             string
		valid, preferred time.Duration
		deprecated       bool
		want             []string
	}{
		{name: "just set", valid: time.Hour, preferred: 30 * time.Minute},
		{name: "counted down a little", valid: 50 * time.Minute, preferred: 20 * time.Minute},
		{name: "half of valid gone", valid: 29 * time.Minute, preferred: 16 * time.Minute,
			want: []string{"~ address 192.0.2.10/24 dev veth0 validLifetime 29m0s -> 1h0m0s"}},
		{name: "preferred ran out", valid: 40 * time.Minute, deprecated: true,
			want: []string{"~ address 192.0.2.10/24 dev veth0 preferredLifetime 0s -> 30m0s"}},
		{name: "longer than wanted", valid: 2 * time.Hour, preferred: 30 * time.Minute,
			want: []string{"~ address 192.0.2.10/24 dev veth0 validLifetime 2h0m0s -> 1h0m0s"}},
		{name: "forever", want: []string{
			"~ address 192.0.2.10/24 dev veth0 validLifetime forever -> 1h0m0s",
			"~ address 192.0.2.10/24 dev veth0 preferredLifetime forever -> 30m0s",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner, ValidLifetime: tc.valid, PreferredLifetime: tc.preferred}
			if tc.deprecated {
				st.Flags = []string{"deprecated"}
			}
			r := runDiff(t, planInput{want: want, marks: true, have: have(st)})
			if diff := cmp.Diff(tc.want, lines(r.plan())); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
			if len(tc.want) > 0 && (len(r.ops) != 1 || r.ops[0].kind != opReplace || r.ops[0].a.valid != 3600 || r.ops[0].a.preferred != 1800) {
				t.Fatalf("want one replace with both lifetimes, got %+v", r.ops)
			}
		})
	}
}

func TestLifetimeStale(t *testing.T) {
	for _, tc := range []struct {
		have, want uint32
		stale      bool
	}{
		{lifeForever, lifeForever, false},
		{lifeForever, 100, true},
		{100, lifeForever, true},
		{100, 100, false},
		{101, 100, false}, // rounding slack
		{102, 100, true},
		{50, 100, false},
		{49, 100, true},
		{0, 100, true},
		{0, 1, true},
	} {
		if got := lifetimeStale(tc.have, tc.want); got != tc.stale {
			t.Errorf("lifetimeStale(%d, %d) = %v, want %v", tc.have, tc.want, got, tc.stale)
		}
	}
}

func TestDiffRecreate(t *testing.T) {
	want := targets(t,
		Spec{Link: "veth0", Address: p("192.0.2.10/24"), Label: "veth0:1"},
		Spec{Link: "veth0", Address: p("2001:db8::10/64")},
	)
	r := runDiff(t, planInput{want: want, marks: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner},
		Status{Link: "veth0", Address: p("2001:db8::10/48"), Protocol: owner},
	)})
	if diff := cmp.Diff([]string{
		"± address 192.0.2.10/24 dev veth0 (label veth0 -> veth0:1 cannot change in place)",
		"± address 2001:db8::10/64 dev veth0 (prefix length /48 -> /64 cannot change in place)",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	kinds := []opKind{}
	for i, o := range r.ops {
		kinds = append(kinds, o.kind)
		if o.kind == opAdd && o.after != i { // depends on the delete before it
			t.Fatalf("op %d: after = %d", i, o.after)
		}
	}
	if diff := cmp.Diff([]opKind{opDelete, opAdd, opDelete, opAdd}, kinds); diff != "" {
		t.Fatalf("ops (-want +got):\n%s", diff)
	}
	if r.ops[2].a.bits != 48 {
		t.Fatalf("the IPv6 delete must name the old prefix length: %+v", r.ops[2].a)
	}
	if !r.plan().Changes[0].Disruptive {
		t.Fatal("a recreate is disruptive")
	}

	// Not ours: an error, no write.
	r = runDiff(t, planInput{want: want[:1], marks: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24")},
	)})
	if len(r.ops) != 0 || len(r.errs) != 1 || !strings.Contains(r.errs[0].Error(), "label veth0 -> veth0:1 cannot change in place and the existing address is not ours (protocol 0)") {
		t.Fatalf("ops %+v errs %v", r.ops, r.errs)
	}
}

func TestDiffIPv4PrefixChangeAddsFirst(t *testing.T) {
	want := targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/16")})
	r := runDiff(t, planInput{want: want, marks: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner},
		Status{Link: "veth1", Address: p("192.0.2.10/24"), Protocol: owner}, // another link: not touched
	)})
	if diff := cmp.Diff([]string{
		"+ address 192.0.2.10/16 dev veth0",
		"- address 192.0.2.10/24 dev veth0 (replaced by 192.0.2.10/16 dev veth0)",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if r.ops[0].second || !r.ops[1].second || r.ops[1].after != 1 {
		t.Fatalf("the delete must follow the add and depend on it: %+v", r.ops)
	}
	// An unmarked /24 is left alone.
	r = runDiff(t, planInput{want: want, marks: true, have: have(Status{Link: "veth0", Address: p("192.0.2.10/24")})})
	if diff := cmp.Diff([]string{"+ address 192.0.2.10/16 dev veth0"}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
}

func TestDiffPruneOnlyOurs(t *testing.T) {
	want := targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/24")})
	h := have(
		Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner},
		Status{Link: "veth0", Address: p("198.51.100.9/24"), Protocol: owner},       // stale: ours
		Status{Link: "veth0", Address: p("203.0.113.1/24")},                         // by hand
		Status{Link: "veth0", Address: p("203.0.113.2/32"), Protocol: 99},           // another owner
		Status{Link: "veth0", Address: p("fe80::1/64"), Scope: "link", Protocol: 3}, // kernel link-local
		Status{Link: "veth1", Address: p("2001:db8::9/64"), Protocol: owner},        // stale: ours
	)
	r := runDiff(t, planInput{want: want, marks: true, prune: true, have: h})
	if diff := cmp.Diff([]string{
		"- address 198.51.100.9/24 dev veth0",
		"- address 2001:db8::9/64 dev veth1",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	// Without prune nothing is deleted.
	r = runDiff(t, planInput{want: want, marks: true, have: h})
	if len(r.ops) != 0 {
		t.Fatalf("ops without prune: %+v", r.ops)
	}
	// On a kernel without IFA_PROTO nothing is pruned, with a warning.
	r = runDiff(t, planInput{want: want, marks: false, prune: true, have: h})
	if len(r.ops) != 0 || len(r.warnings) != 1 {
		t.Fatalf("ops %+v warnings %q", r.ops, r.warnings)
	}
}

func TestDiffAdoptsUnmarked(t *testing.T) {
	want := targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/24")}, Spec{Link: "veth0", Address: p("192.0.2.11/24")})
	r := runDiff(t, planInput{want: want, marks: true, remark4: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24")},
		Status{Link: "veth0", Address: p("192.0.2.11/24"), Protocol: 99, Metric: 5},
	)})
	if diff := cmp.Diff([]string{
		"~ address 192.0.2.10/24 dev veth0 protocol 0 -> 78",
		"~ address 192.0.2.11/24 dev veth0 metric 5 -> 0",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if r.ops[1].a.proto != 99 {
		t.Fatalf("another owner's mark must be kept: %+v", r.ops[1].a)
	}
	// Without IFA_PROTO support nothing is adopted; before Linux 6.3 IPv4
	// addresses are not (the kernel would ignore the new mark), IPv6 ones are.
	unmarked := have(Status{Link: "veth0", Address: p("192.0.2.10/24")}, Status{Link: "veth0", Address: p("2001:db8::1/64")})
	want = targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/24")}, Spec{Link: "veth0", Address: p("2001:db8::1/64")})
	r = runDiff(t, planInput{want: want, marks: false, remark4: true, have: unmarked})
	if len(r.ops) != 0 {
		t.Fatalf("ops %+v", r.ops)
	}
	r = runDiff(t, planInput{want: want, marks: true, remark4: false, have: unmarked})
	if diff := cmp.Diff([]string{"~ address 2001:db8::1/64 dev veth0 protocol 0 -> 78"}, lines(r.plan())); diff != "" {
		t.Fatalf("plan before 6.3 (-want +got):\n%s", diff)
	}
}

func TestDiffSecondaries(t *testing.T) {
	// 192.0.2.1 is the primary of 192.0.2.0/24 and stale; .2 is wanted,
	// .3 was added by hand, .4 is ours and stale: all three are secondaries.
	h := have(
		Status{Link: "veth0", Address: p("192.0.2.1/24"), Protocol: owner},
		Status{Link: "veth0", Address: p("192.0.2.2/24"), Protocol: owner, Flags: []string{"secondary"}},
		Status{Link: "veth0", Address: p("192.0.2.3/24"), Flags: []string{"secondary"}, Metric: 7},
		Status{Link: "veth0", Address: p("192.0.2.4/24"), Protocol: owner, Flags: []string{"secondary"}},
		Status{Link: "veth0", Address: p("198.51.100.1/24"), Protocol: owner},
	)
	want := targets(t,
		Spec{Link: "veth0", Address: p("192.0.2.2/24")},
		Spec{Link: "veth0", Address: p("192.0.2.5/24")}, // new, becomes a secondary first
		Spec{Link: "veth0", Address: p("198.51.100.1/24")},
	)
	r := runDiff(t, planInput{want: want, marks: true, prune: true, have: h})
	if diff := cmp.Diff([]string{
		"+ address 192.0.2.5/24 dev veth0",
		"- address 192.0.2.1/24 dev veth0 (deletes the secondaries of 192.0.2.1/24 dev veth0)",
		"- address 192.0.2.4/24 dev veth0",
		"+ address 192.0.2.2/24 dev veth0 (added again: the kernel deleted it with primary 192.0.2.1/24 dev veth0)",
		"+ address 192.0.2.3/24 dev veth0 (added again: the kernel deleted it with primary 192.0.2.1/24 dev veth0)",
		"+ address 192.0.2.5/24 dev veth0 (added again: the kernel deleted it with primary 192.0.2.1/24 dev veth0)",
		"! deleting primary address 192.0.2.1/24 dev veth0 also deletes its secondaries: they are added again; set net.ipv4.conf.veth0.promote_secondaries=1 to keep them",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	var del4 *op
	for i := range r.ops {
		o := &r.ops[i]
		if o.kind == opDelete && o.a.local == netip.MustParseAddr("192.0.2.4") {
			del4 = o
		}
		if o.readd && o.a.local == netip.MustParseAddr("192.0.2.3") && (o.a.proto != 0 || o.a.metric != 7) {
			t.Fatalf("a foreign secondary is added back as it was: %+v", o.a)
		}
	}
	if del4 == nil || !del4.skip || del4.after != 2 {
		t.Fatalf("the delete of .4 is done by the kernel with .1: %+v", del4)
	}
	if !r.lost {
		t.Fatal("lost not reported")
	}

	// With promote_secondaries the kernel keeps them: plain deletes.
	r = runDiff(t, planInput{want: want, marks: true, prune: true, have: h, promote: map[int]bool{2: true}})
	if diff := cmp.Diff([]string{
		"+ address 192.0.2.5/24 dev veth0",
		"- address 192.0.2.1/24 dev veth0",
		"- address 192.0.2.4/24 dev veth0",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan with promote (-want +got):\n%s", diff)
	}
}

func TestPlanRendering(t *testing.T) {
	want := targets(t,
		Spec{Link: "veth0", Address: p("192.0.2.10/24"), Metric: 100},
		Spec{Link: "veth0", Address: p("10.0.0.1/32"), Peer: netip.MustParseAddr("10.0.0.2")},
	)
	r := runDiff(t, planInput{want: want, marks: true, prune: true, have: have(
		Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner},
		Status{Link: "veth0", Address: p("192.0.2.9/24"), Protocol: owner, Flags: []string{"secondary"}},
	)})
	if diff := cmp.Diff([]string{
		"~ address 192.0.2.10/24 dev veth0 metric 0 -> 100",
		"+ address 10.0.0.1 peer 10.0.0.2/32 dev veth0",
		"- address 192.0.2.9/24 dev veth0",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
}

func TestStatusSpecRoundTrip(t *testing.T) {
	for _, s := range []Spec{
		{Link: "veth0", Address: p("192.0.2.10/24"), Label: "veth0:a", Flags: []string{"noprefixroute"}, Broadcast: netip.MustParseAddr("192.0.2.255"), Metric: 9, ValidLifetime: time.Hour, PreferredLifetime: time.Minute},
		{Link: "veth0", Address: p("2001:db8::1/64"), Flags: []string{"nodad", "homeaddress", "mngtmpaddr", "noprefixroute"}},
		{Link: "veth0", Address: p("10.0.0.1/32"), Peer: netip.MustParseAddr("10.0.0.2"), Scope: "link"},
	} {
		s.Normalize()
		w := fromSpec(&s, 2, owner, time.Time{})
		got := w.status().Spec()
		got.Normalize()
		if diff := cmp.Diff(s, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("Spec -> Status -> Spec (-want +got):\n%s", diff)
		}
	}
}

func TestFlagStrings(t *testing.T) {
	if diff := cmp.Diff([]string{"temporary", "nodad", "tentative", "0x1000"}, flagStrings(0x1043, true)); diff != "" {
		t.Fatal(diff)
	}
	if diff := cmp.Diff([]string{"secondary", "permanent"}, flagStrings(0x81, false)); diff != "" {
		t.Fatal(diff)
	}
	if got := flagBits([]string{"secondary", "nodad", "0x1000", "bogus"}); got != 0x1003 {
		t.Fatalf("flagBits = %#x", got)
	}
}

func TestDiffRefresh(t *testing.T) {
	want := targets(t,
		Spec{Link: "veth0", Address: p("192.0.2.10/24"), ValidLifetime: time.Hour, PreferredLifetime: 30 * time.Minute},
		Spec{Link: "veth0", Address: p("192.0.2.11/24")},
	)
	st := []Status{
		{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner, ValidLifetime: 50 * time.Minute, PreferredLifetime: 20 * time.Minute},
		{Link: "veth0", Address: p("192.0.2.11/24"), Protocol: owner},
	}
	if r := runDiff(t, planInput{want: want, marks: true, have: have(st...)}); len(r.ops) != 0 {
		t.Fatalf("without refresh: %v", r.plan())
	}
	r := runDiff(t, planInput{want: want, marks: true, refresh: true, have: have(st...)})
	if diff := cmp.Diff([]string{
		"~ address 192.0.2.10/24 dev veth0 validLifetime 50m0s -> 1h0m0s (refresh)",
		"~ address 192.0.2.10/24 dev veth0 preferredLifetime 20m0s -> 30m0s (refresh)",
	}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if len(r.ops) != 1 || r.ops[0].kind != opReplace || r.ops[0].a.valid != 3600 || r.ops[0].a.preferred != 1800 {
		t.Fatalf("want one replace with both lifetimes, got %+v", r.ops)
	}
}

// now0 is the time the diffs of Specs with ValidUntil are planned at.
var now0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestSecondsLeft(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want uint32
	}{
		{-time.Hour, 0},
		{0, 0},
		{999 * time.Millisecond, 0},
		{time.Second, 1},
		{1999 * time.Millisecond, 1},
		{time.Hour + 500*time.Millisecond, 3600},
		{maxLifetime, 0xFFFFFFFE},
		{200 * 365 * 24 * time.Hour, 0xFFFFFFFE},
	} {
		if got := secondsLeft(now0.Add(tc.d), now0); got != tc.want {
			t.Errorf("secondsLeft(now+%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestLifetimeStaleUntil(t *testing.T) {
	for _, tc := range []struct {
		have, want uint32
		stale      bool
	}{
		{lifeForever, lifeForever, false},
		{lifeForever, 100, true},
		{100, lifeForever, true},
		{100, 100, false},
		{101, 100, false}, // the kernel's rounding
		{102, 100, true},  // the kernel would keep it longer
		{98, 100, false},
		{97, 100, true}, // renewed
		{50, 100, true}, // unlike a relative lifetime, not half
		{0, 0, false},
		{1, 0, false},
		{0, 2, false},
		{0, 3, true},
	} {
		if got := lifetimeStaleUntil(tc.have, tc.want); got != tc.stale {
			t.Errorf("lifetimeStaleUntil(%d, %d) = %v, want %v", tc.have, tc.want, got, tc.stale)
		}
	}
}

func TestDiffUntil(t *testing.T) {
	want := targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/24"),
		ValidUntil: now0.Add(time.Hour + 900*time.Millisecond), PreferredUntil: now0.Add(30*time.Minute + 100*time.Millisecond)})
	r := runDiff(t, planInput{want: want, marks: true, now: now0})
	if diff := cmp.Diff([]string{"+ address 192.0.2.10/24 dev veth0"}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if o := r.ops[0]; o.kind != opAdd || o.a.valid != 3600 || o.a.preferred != 1800 {
		t.Fatalf("want an add with valid 3600 and preferred 1800 (whole seconds left, rounded down), got %+v", o)
	}
	for _, tc := range []struct {
		name             string
		valid, preferred time.Duration
		deprecated       bool
		want             []string
	}{
		{name: "as wanted", valid: time.Hour, preferred: 30 * time.Minute},
		{name: "one more (rounding)", valid: time.Hour + time.Second, preferred: 30*time.Minute + time.Second},
		{name: "two short", valid: time.Hour - 2*time.Second, preferred: 30*time.Minute - 2*time.Second},
		{name: "two more", valid: time.Hour + 2*time.Second, preferred: 30 * time.Minute,
			want: []string{"~ address 192.0.2.10/24 dev veth0 validLifetime 1h0m2s -> 1h0m0s"}},
		{name: "three short (renewed)", valid: time.Hour - 3*time.Second, preferred: 30*time.Minute - 3*time.Second,
			want: []string{
				"~ address 192.0.2.10/24 dev veth0 validLifetime 59m57s -> 1h0m0s",
				"~ address 192.0.2.10/24 dev veth0 preferredLifetime 29m57s -> 30m0s",
			}},
		{name: "preferred ran out", valid: time.Hour, deprecated: true,
			want: []string{"~ address 192.0.2.10/24 dev veth0 preferredLifetime 0s -> 30m0s"}},
		{name: "forever", want: []string{
			"~ address 192.0.2.10/24 dev veth0 validLifetime forever -> 1h0m0s",
			"~ address 192.0.2.10/24 dev veth0 preferredLifetime forever -> 30m0s",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner, ValidLifetime: tc.valid, PreferredLifetime: tc.preferred}
			if tc.deprecated {
				st.Flags = []string{"deprecated"}
			}
			r := runDiff(t, planInput{want: want, marks: true, now: now0, have: have(st)})
			if diff := cmp.Diff(tc.want, lines(r.plan())); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
			if len(tc.want) > 0 && (len(r.ops) != 1 || r.ops[0].kind != opReplace || r.ops[0].a.valid != 3600 || r.ops[0].a.preferred != 1800) {
				t.Fatalf("want one replace with both lifetimes, got %+v", r.ops)
			}
		})
	}
}

// kernelLife is what the kernel reports at t for a lifetime of secs
// seconds written at t0: the seconds written less the whole seconds passed
// (net/ipv4/devinet.c inet_fill_ifaddr, net/ipv6/addrconf.c
// inet6_fill_ifaddr).
func kernelLife(secs uint32, t0, t time.Time) time.Duration {
	passed := uint32(t.Sub(t0) / time.Second)
	if passed >= secs {
		return 0
	}
	return time.Duration(secs-passed) * time.Second
}

// TestDiffUntilPasses replays many passes with the same ValidUntil against
// the kernel's countdown: after the write that sets it, none writes, at any
// fraction of a second of ValidUntil and of the passes; a later ValidUntil
// (a renewal) is one write.
func TestDiffUntilPasses(t *testing.T) {
	for frac := time.Duration(0); frac < time.Second; frac += 50 * time.Millisecond {
		spec := Spec{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"},
			ValidUntil: now0.Add(100*time.Second + frac), PreferredUntil: now0.Add(40*time.Second + frac)}
		want := targets(t, spec)
		r := runDiff(t, planInput{want: want, marks: true, now: now0})
		if len(r.ops) != 1 || r.ops[0].kind != opAdd {
			t.Fatalf("first pass: %+v", r.ops)
		}
		written := r.ops[0].a
		for step := time.Duration(0); step < 95*time.Second; step += 130 * time.Millisecond {
			now := now0.Add(step)
			st := Status{Link: "veth0", Address: p("2001:db8::10/64"), Flags: []string{"nodad"}, Protocol: owner,
				ValidLifetime: kernelLife(written.valid, now0, now), PreferredLifetime: kernelLife(written.preferred, now0, now)}
			if st.PreferredLifetime == 0 {
				st.Flags = append(st.Flags, "deprecated")
			}
			r := runDiff(t, planInput{want: want, marks: true, now: now, have: have(st)})
			if len(r.ops) != 0 {
				t.Fatalf("ValidUntil now+100s+%v, pass at +%v, kernel %v/%v: want no writes, got\n%s",
					frac, step, st.ValidLifetime, st.PreferredLifetime, r.plan())
			}
			// The kernel never keeps the address past ValidUntil.
			if end := now0.Add(time.Duration(written.valid) * time.Second); end.After(spec.ValidUntil) {
				t.Fatalf("written lifetime ends at %v, after ValidUntil %v", end, spec.ValidUntil)
			}
			if step >= 50*time.Second {
				renewed := spec
				renewed.ValidUntil = now.Add(100*time.Second + frac)
				renewed.PreferredUntil = now.Add(40*time.Second + frac)
				r := runDiff(t, planInput{want: targets(t, renewed), marks: true, now: now, have: have(st)})
				if len(r.ops) != 1 || r.ops[0].kind != opReplace {
					t.Fatalf("renewal at +%v: want one replace, got\n%s", step, r.plan())
				}
			}
		}
	}
}

func TestDiffUntilExpired(t *testing.T) {
	expired := Spec{Link: "veth0", Address: p("192.0.2.10/24"), ValidUntil: now0.Add(999 * time.Millisecond)}
	live := Spec{Link: "veth0", Address: p("192.0.2.11/24"), ValidUntil: now0.Add(time.Minute), PreferredUntil: now0.Add(-time.Second)}
	want := targets(t, expired, live)
	warning := "! address 192.0.2.10/24 dev veth0: validUntil 2030-01-02T03:04:05.999Z is past or less than a second away: not added"

	r := runDiff(t, planInput{want: want, marks: true, now: now0})
	if diff := cmp.Diff([]string{"+ address 192.0.2.11/24 dev veth0", warning}, lines(r.plan())); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if a := r.ops[0].a; a.valid != 60 || a.preferred != 0 {
		t.Fatalf("a passed PreferredUntil is a preferred lifetime of 0 (deprecated): %+v", a)
	}

	ours := Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner, ValidLifetime: time.Second, PreferredLifetime: time.Second}
	alive := Status{Link: "veth0", Address: p("192.0.2.11/24"), Protocol: owner, ValidLifetime: time.Minute, Flags: []string{"deprecated"}}
	r = runDiff(t, planInput{want: want, marks: true, now: now0, have: have(ours, alive)})
	if diff := cmp.Diff([]string{"no changes", warning}, lines(r.plan())); diff != "" {
		t.Fatalf("without prune, an expired address is left to the kernel (-want +got):\n%s", diff)
	}
	r = runDiff(t, planInput{want: want, marks: true, prune: true, now: now0, have: have(ours, alive)})
	if diff := cmp.Diff([]string{"- address 192.0.2.10/24 dev veth0", warning}, lines(r.plan())); diff != "" {
		t.Fatalf("with prune, an expired address of ours is deleted (-want +got):\n%s", diff)
	}
	notOurs := ours
	notOurs.Protocol = 0
	r = runDiff(t, planInput{want: want, marks: true, prune: true, now: now0, have: have(notOurs, alive)})
	if diff := cmp.Diff([]string{"no changes", warning}, lines(r.plan())); diff != "" {
		t.Fatalf("an expired address not ours is never deleted (-want +got):\n%s", diff)
	}
}

func TestDiffUntilRefresh(t *testing.T) {
	want := targets(t, Spec{Link: "veth0", Address: p("192.0.2.10/24"), ValidUntil: now0.Add(time.Minute)})
	st := Status{Link: "veth0", Address: p("192.0.2.10/24"), Protocol: owner, ValidLifetime: time.Minute, PreferredLifetime: time.Minute}
	if r := runDiff(t, planInput{want: want, marks: true, now: now0, have: have(st)}); len(r.ops) != 0 {
		t.Fatalf("without refresh: %v", r.plan())
	}
	r := runDiff(t, planInput{want: want, marks: true, refresh: true, now: now0, have: have(st)})
	if len(r.ops) != 1 || r.ops[0].kind != opReplace || r.ops[0].a.valid != 60 {
		t.Fatalf("with refresh, want one replace: %+v", r.ops)
	}
}
