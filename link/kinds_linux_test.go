package link

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// ipKindLink is a link as "ip -j -d link show" prints it, with the
// kind-specific attributes (linkinfo.info_data) kept raw.
type ipKindLink struct {
	Ifindex  int      `json:"ifindex"`
	Ifname   string   `json:"ifname"`
	Link     string   `json:"link"`
	Master   string   `json:"master"`
	Altnames []string `json:"altnames"`
	Linkinfo struct {
		InfoKind string         `json:"info_kind"`
		InfoData map[string]any `json:"info_data"`
	} `json:"linkinfo"`
}

func ipKindLinks(t *testing.T, n *nstest.NS) map[string]ipKindLink {
	t.Helper()
	var links []ipKindLink
	n.IPJSON(t, &links, "-d", "link", "show")
	m := make(map[string]ipKindLink, len(links))
	for _, l := range links {
		m[l.Ifname] = l
	}
	return m
}

// infoData renders the info_data keys of l as "key=value" for comparison.
func infoData(l ipKindLink, keys ...string) string {
	var parts []string
	for _, k := range keys {
		v, ok := l.Linkinfo.InfoData[k]
		if !ok {
			parts = append(parts, k+"=<absent>")
			continue
		}
		b, _ := json.Marshal(v)
		parts = append(parts, k+"="+strings.Trim(string(b), `"`))
	}
	return strings.Join(parts, " ")
}

// applyIdempotent applies want, then checks that a second Apply and a Plan
// find nothing to do and that the second Apply sends no write.
func applyIdempotent(t *testing.T, n *nstest.NS, want []Spec, opts ...netprim.Option) netprim.Plan {
	t.Helper()
	plan, err := Apply(t.Context(), n.Namespace, want, opts...)
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, plan)
	}
	t.Logf("applied:\n%s", plan)
	var writes int64
	again, err := Apply(t.Context(), n.Namespace, want, append(opts, netprim.WithWriteCounter(&writes))...)
	if err != nil || !again.Empty() || writes != 0 {
		t.Fatalf("second Apply: %d writes, err %v, plan:\n%s", writes, err, again)
	}
	if p, err := Plan(t.Context(), n.Namespace, want, opts...); err != nil || !p.Empty() {
		t.Fatalf("Plan after Apply: %v\n%s", err, p)
	}
	return plan
}

// findChange returns the change of plan on object, or fails.
func findChange(t *testing.T, plan netprim.Plan, object string) netprim.Change {
	t.Helper()
	for _, c := range plan.Changes {
		if c.Object == object {
			return c
		}
	}
	t.Fatalf("plan has no change of %s:\n%s", object, plan)
	return netprim.Change{}
}

func TestVXLAN(t *testing.T) {
	n := nstest.New(t)
	underlay := []Spec{
		{Name: "u0", Veth: &Veth{Peer: "u1"}, Up: new(true)},
	}
	steps := []struct {
		vxlan []Spec
		check map[string]string // link -> info_data rendering
	}{{
		vxlan: []Spec{
			{Name: "vx0", VXLAN: &VXLAN{VNI: 42, Remote: "192.0.2.1", Local: "192.0.2.2", Port: 4789, Dev: "u0", TTL: 64, Learning: new(false)}, Up: new(true)},
			{Name: "vx1", Kind: "vxlan", VXLAN: &VXLAN{VNI: 43, Group: "239.1.1.1", Dev: "u0", Port: 4790}},
			{Name: "vx2", VXLAN: &VXLAN{VNI: 44, Remote: "2001:db8::1", Local: "2001:db8::2", Learning: new(true)}},
		},
		check: map[string]string{
			"vx0": "id=42 remote=192.0.2.1 local=192.0.2.2 port=4789 link=u0 ttl=64 learning=false",
			"vx1": "id=43 group=239.1.1.1 port=4790 link=u0 learning=true",
			"vx2": "id=44 remote6=2001:db8::1 local6=2001:db8::2 learning=true",
		},
	}, {
		// every field of vx0 changes; vx1 only its group, vx2 its vni
		vxlan: []Spec{
			{Name: "vx0", VXLAN: &VXLAN{VNI: 420, Remote: "192.0.2.9", Local: "192.0.2.8", Port: 8472, Dev: "u1", TTL: 10, Learning: new(true)}, Up: new(true)},
			{Name: "vx1", Kind: "vxlan", VXLAN: &VXLAN{VNI: 43, Group: "239.1.1.2", Dev: "u0", Port: 4790}},
			{Name: "vx2", VXLAN: &VXLAN{VNI: 45, Remote: "2001:db8::1", Local: "2001:db8::2", Learning: new(true)}},
		},
		check: map[string]string{
			"vx0": "id=420 remote=192.0.2.9 local=192.0.2.8 port=8472 link=u1 ttl=10 learning=true",
			"vx1": "id=43 group=239.1.1.2 port=4790 link=u0 learning=true",
			"vx2": "id=45 remote6=2001:db8::1 local6=2001:db8::2 learning=true",
		},
	}}
	for i, step := range steps {
		before := ipKindLinks(t, n)
		plan := applyIdempotent(t, n, append(underlay, step.vxlan...))
		ip := ipKindLinks(t, n)
		for _, s := range step.vxlan {
			l := ip[s.Name]
			if l.Linkinfo.InfoKind != "vxlan" {
				t.Errorf("step %d: %s kind %q", i, s.Name, l.Linkinfo.InfoKind)
			}
			keys := []string{"id"}
			for _, kv := range strings.Fields(step.check[s.Name])[1:] {
				keys = append(keys, strings.SplitN(kv, "=", 2)[0])
			}
			if got := infoData(l, keys...); got != step.check[s.Name] {
				t.Errorf("step %d: %s info_data:\n got %s\nwant %s", i, s.Name, got, step.check[s.Name])
			}
			if !strings.Contains(strings.Join(l.Altnames, " "), Marker(netprim.DefaultOwner(), s.Name)) {
				t.Errorf("step %d: %s lacks the marker: %q", i, s.Name, l.Altnames)
			}
			if i > 0 {
				// Every vxlan change is a recreate: new index, disruptive.
				c := findChange(t, plan, s.Name)
				if c.Action != netprim.Recreate || !c.Disruptive || l.Ifindex == before[s.Name].Ifindex {
					t.Errorf("step %d: %s: change %+v, index %d -> %d; want a recreate", i, s.Name, c, before[s.Name].Ifindex, l.Ifindex)
				}
			}
		}
	}
	// TTL, learning, and the remote and local addresses change in place:
	// same index, one write per field.
	before := ipKindLinks(t, n)
	inPlace := append(underlay,
		Spec{Name: "vx0", VXLAN: &VXLAN{VNI: 420, Remote: "192.0.2.10", Local: "192.0.2.7", Port: 8472, Dev: "u1", TTL: 20, Learning: new(false)}, Up: new(true)},
		Spec{Name: "vx2", VXLAN: &VXLAN{VNI: 45, Remote: "2001:db8::10", Local: "2001:db8::2", Learning: new(true)}},
	)
	var writes int64
	plan, err := Apply(t.Context(), n.Namespace, inPlace, netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Fatalf("in-place Apply: %v\n%s", err, plan)
	}
	var got []string
	for _, c := range plan.Changes {
		if c.Action != netprim.Modify || c.Disruptive {
			t.Errorf("in-place change %+v", c)
		}
		got = append(got, c.Object+" "+c.Field+" "+c.From+" -> "+c.To)
	}
	wantChanges := []string{
		"vx0 vxlan.remote 192.0.2.9 -> 192.0.2.10",
		"vx0 vxlan.local 192.0.2.8 -> 192.0.2.7",
		"vx0 vxlan.ttl 10 -> 20",
		"vx0 vxlan.learning true -> false",
		"vx2 vxlan.remote 2001:db8::1 -> 2001:db8::10",
	}
	if strings.Join(got, "\n") != strings.Join(wantChanges, "\n") || writes != int64(len(wantChanges)) {
		t.Errorf("in-place plan (%d writes):\n%s\nwant:\n%s", writes, strings.Join(got, "\n"), strings.Join(wantChanges, "\n"))
	}
	applyIdempotent(t, n, inPlace)
	ip := ipKindLinks(t, n)
	for name, want := range map[string]string{
		"vx0": "id=420 remote=192.0.2.10 local=192.0.2.7 port=8472 link=u1 ttl=20 learning=false",
		"vx2": "id=45 remote6=2001:db8::10 local6=2001:db8::2 learning=true",
	} {
		keys := []string{"id"}
		for _, kv := range strings.Fields(want)[1:] {
			keys = append(keys, strings.SplitN(kv, "=", 2)[0])
		}
		if got := infoData(ip[name], keys...); got != want {
			t.Errorf("in place: %s info_data:\n got %s\nwant %s", name, got, want)
		}
		if ip[name].Ifindex != before[name].Ifindex {
			t.Errorf("in place: %s recreated (index %d -> %d)", name, before[name].Ifindex, ip[name].Ifindex)
		}
	}

	// The Plan of a VNI change says recreate and why.
	p, err := Plan(t.Context(), n.Namespace, []Spec{{Name: "vx2", VXLAN: &VXLAN{VNI: 46, Remote: "2001:db8::10", Local: "2001:db8::2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := findChange(t, p, "vx2"); c.Action != netprim.Recreate || !strings.Contains(c.Reason, "vni 45 -> 46") {
		t.Errorf("Plan of a vni change: %+v", c)
	}
}

func TestMACVLAN(t *testing.T) {
	n := nstest.New(t)
	base := []Spec{{Name: "p0", Veth: &Veth{Peer: "p1"}, Up: new(true)}}
	mv := func(parent, mode string) []Spec {
		return append(base[:1:1],
			Spec{Name: "mv0", MACVLAN: &MACVLAN{Parent: parent, Mode: mode}, Up: new(true)},
			Spec{Name: "mv1", Kind: "macvlan", MACVLAN: &MACVLAN{Parent: "p1"}},
		)
	}
	check := func(step, parent, mode string) {
		t.Helper()
		ip := ipKindLinks(t, n)
		l := ip["mv0"]
		if l.Linkinfo.InfoKind != "macvlan" || l.Link != parent || infoData(l, "mode") != "mode="+mode {
			t.Errorf("%s: mv0 kind %q link %q %s, want macvlan on %s mode %s", step, l.Linkinfo.InfoKind, l.Link, infoData(l, "mode"), parent, mode)
		}
		if l := ip["mv1"]; l.Link != "p1" || infoData(l, "mode") != "mode=vepa" {
			t.Errorf("%s: mv1 link %q %s, want p1 vepa (the default)", step, l.Link, infoData(l, "mode"))
		}
	}
	applyIdempotent(t, n, mv("p0", "bridge"))
	check("create", "p0", "bridge")

	// Mode bridge -> private is made in place: same index, one write.
	idx := ipKindLinks(t, n)["mv0"].Ifindex
	var writes int64
	plan, err := Apply(t.Context(), n.Namespace, mv("p0", "private"), netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Fatal(err)
	}
	if c := findChange(t, plan, "mv0"); c.Action != netprim.Modify || c.Field != "macvlan.mode" || c.From != "bridge" || c.To != "private" || writes != 1 {
		t.Errorf("mode change: %+v with %d writes, want one in-place modify\n%s", c, writes, plan)
	}
	applyIdempotent(t, n, mv("p0", "private"))
	check("mode private", "p0", "private")
	if got := ipKindLinks(t, n)["mv0"].Ifindex; got != idx {
		t.Errorf("in-place mode change recreated mv0: index %d -> %d", idx, got)
	}

	// To passthru and to another parent are recreations.
	for _, step := range []struct{ parent, mode, reason string }{
		{"p0", "passthru", "macvlan mode private -> passthru"},
		{"p1", "vepa", "macvlan parent p0 -> p1"},
	} {
		plan := applyIdempotent(t, n, mv(step.parent, step.mode))
		if c := findChange(t, plan, "mv0"); c.Action != netprim.Recreate || !c.Disruptive || !strings.Contains(c.Reason, step.reason) {
			t.Errorf("%s/%s: %+v, want a recreate because %q", step.parent, step.mode, c, step.reason)
		}
		check(step.parent+"/"+step.mode, step.parent, step.mode)
	}
}

// TestLowerMissing: a macvlan or vxlan on a link that does not exist is an
// error naming the field, and nothing is created.
func TestLowerMissing(t *testing.T) {
	n := nstest.New(t)
	want := []Spec{
		{Name: "mv0", MACVLAN: &MACVLAN{Parent: "nope0"}},
		{Name: "vx0", VXLAN: &VXLAN{VNI: 1, Dev: "nope1"}},
		{Name: "ok0", Veth: &Veth{Peer: "ok1"}},
	}
	if _, err := Plan(t.Context(), n.Namespace, want); err == nil {
		t.Fatal("Plan: no error")
	}
	plan, err := Apply(t.Context(), n.Namespace, want)
	for _, msg := range []string{"link mv0: macvlan.parent: ", "link nope0 does not exist", "link vx0: vxlan.dev: ", "link nope1 does not exist"} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Apply error %v, want one containing %q", err, msg)
		}
	}
	if !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("error does not wrap ErrNotFound: %v", err)
	}
	ip := ipKindLinks(t, n)
	if _, ok := ip["mv0"]; ok {
		t.Error("mv0 was created")
	}
	if _, ok := ip["vx0"]; ok {
		t.Error("vx0 was created")
	}
	if _, ok := ip["ok0"]; !ok || len(plan.Changes) != 1 {
		t.Errorf("the independent veth was not created alone:\n%s", plan)
	}
}

// TestMACVLANOnLinkCreatedTogether: the parent is created in the same
// Apply, even when listed after the macvlan.
func TestMACVLANOnLinkCreatedTogether(t *testing.T) {
	n := nstest.New(t)
	applyIdempotent(t, n, []Spec{
		{Name: "mv0", MACVLAN: &MACVLAN{Parent: "p1", Mode: "bridge"}},
		{Name: "vx0", VXLAN: &VXLAN{VNI: 9, Dev: "p0"}},
		{Name: "p0", Veth: &Veth{Peer: "p1"}},
	})
	ip := ipKindLinks(t, n)
	if ip["mv0"].Link != "p1" || infoData(ip["vx0"], "link") != "link=p0" {
		t.Errorf("mv0 on %q, vx0 %s", ip["mv0"].Link, infoData(ip["vx0"], "link"))
	}
}

func TestDummy(t *testing.T) {
	nstest.RequireModules(t, "dummy")
	n := nstest.New(t)
	applyIdempotent(t, n, []Spec{
		{Name: "d0", Kind: "dummy", MTU: 9000, Up: new(true)},
		{Name: "d1", Kind: "dummy", HardwareAddr: "02:00:5e:00:00:d1"},
	})
	ip := ipLinks(t, n)
	for _, name := range []string{"d0", "d1"} {
		if ip[name].Linkinfo.InfoKind != "dummy" || !strings.Contains(strings.Join(ip[name].Altnames, " "), Marker(netprim.DefaultOwner(), name)) {
			t.Errorf("%s: kind %q altnames %q", name, ip[name].Linkinfo.InfoKind, ip[name].Altnames)
		}
	}
	if ip["d0"].MTU != 9000 || ip["d1"].Address != "02:00:5e:00:00:d1" {
		t.Errorf("d0 mtu %d, d1 address %s", ip["d0"].MTU, ip["d1"].Address)
	}
	// Pruning deletes the owned dummy that is no longer wanted.
	applyIdempotent(t, n, []Spec{{Name: "d0", Kind: "dummy", MTU: 9000, Up: new(true)}}, netprim.WithPrune())
	if _, ok := ipLinks(t, n)["d1"]; ok {
		t.Error("d1 not pruned")
	}
}

func TestVRF(t *testing.T) {
	nstest.RequireModules(t, "vrf")
	n := nstest.New(t)
	want := func(table uint32) []Spec {
		return []Spec{
			{Name: "vrf0", VRF: &VRF{Table: table}, Up: new(true)},
			{Name: "v0", Veth: &Veth{Peer: "v1"}, Master: new("vrf0"), Up: new(true)},
			{Name: "v1", Master: new("vrf0")},
		}
	}
	check := func(table int) {
		t.Helper()
		ip := ipKindLinks(t, n)
		if l := ip["vrf0"]; l.Linkinfo.InfoKind != "vrf" || infoData(l, "table") != "table="+itoa(table) {
			t.Errorf("vrf0 kind %q %s, want vrf table %d", l.Linkinfo.InfoKind, infoData(l, "table"), table)
		}
		for _, p := range []string{"v0", "v1"} {
			if ip[p].Master != "vrf0" {
				t.Errorf("%s master %q, want vrf0", p, ip[p].Master)
			}
		}
	}
	applyIdempotent(t, n, want(10))
	check(10)
	plan := applyIdempotent(t, n, want(20))
	if c := findChange(t, plan, "vrf0"); c.Action != netprim.Recreate || !strings.Contains(c.Reason, "vrf table 10 -> 20") {
		t.Errorf("table change: %+v, want a recreate", c)
	}
	check(20)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestCreateBatchErrors: creations are sent in batches, yet a link the
// kernel refuses, or whose marker it refuses, fails alone with its own
// error; the others of the batch are created and marked.
func TestCreateBatchErrors(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "taken", "type", "veth", "peer", "name", "other")
	// Another link already holds the marker x2 would get.
	n.Run(t, "ip", "link", "property", "add", "dev", "other", "altname", Marker(netprim.DefaultOwner(), "x2"))
	var want []Spec
	for _, s := range []struct{ name, peer string }{{"x0", "y0"}, {"x1", "taken"}, {"x2", "y2"}, {"x3", "y3"}} {
		want = append(want, Spec{Name: s.name, Veth: &Veth{Peer: s.peer}, MTU: 1400, Up: new(true)})
	}
	plan, err := Apply(t.Context(), n.Namespace, want)
	if err == nil {
		t.Fatalf("no error:\n%s", plan)
	}
	for _, msg := range []string{"add link x1: ", "file exists", "add link x2: marking it as owned (netprim.x2) failed, so it was deleted again"} {
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("error %q lacks %q", err, msg)
		}
	}
	if strings.Contains(err.Error(), "x0") || strings.Contains(err.Error(), "x3") {
		t.Errorf("error names links that were created: %v", err)
	}
	ip := ipLinks(t, n)
	for _, name := range []string{"x0", "x3"} {
		l := ip[name]
		if l.Ifname == "" || l.MTU != 1400 || !strings.Contains(strings.Join(l.Altnames, " "), Marker(netprim.DefaultOwner(), name)) {
			t.Errorf("%s not created as wanted: %+v", name, l)
		}
		if c := findChange(t, plan, name); c.Action != netprim.Add {
			t.Errorf("%s: %+v", name, c)
		}
	}
	for _, name := range []string{"x1", "x2", "y2"} {
		if _, ok := ip[name]; ok {
			t.Errorf("%s exists", name)
		}
	}
}

// TestKindParamsInvalidChangesNothing: one invalid kind spec fails the
// whole Apply before any write, naming the field.
func TestKindParamsInvalidChangesNothing(t *testing.T) {
	n := nstest.New(t)
	before := ipLinks(t, n)
	var writes int64
	for _, bad := range []Spec{
		{Name: "vx0", VXLAN: &VXLAN{VNI: 0, Remote: "192.0.2.1"}},
		{Name: "vx0", VXLAN: &VXLAN{VNI: 1, Remote: "192.0.2.1", Group: "239.0.0.1"}},
		{Name: "mv0", MACVLAN: &MACVLAN{Parent: "p0", Mode: "hub"}},
		{Name: "vrf0", Kind: "vrf"},
	} {
		want := []Spec{{Name: "p0", Veth: &Veth{Peer: "p1"}}, bad}
		_, err := Apply(t.Context(), n.Namespace, want, netprim.WithWriteCounter(&writes))
		if !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), "link: spec[1].") {
			t.Errorf("%s: error %v, want an invalid spec[1]", bad.Name, err)
		}
	}
	if after := ipLinks(t, n); writes != 0 || len(after) != len(before) {
		t.Errorf("%d writes, links %d -> %d", writes, len(before), len(after))
	}
}
