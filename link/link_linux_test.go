package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdnl "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/nstest"
)

// ipLink is a link as "ip -j -d link show" prints it: the oracle.
type ipLink struct {
	Ifindex     int      `json:"ifindex"`
	Ifname      string   `json:"ifname"`
	Flags       []string `json:"flags"`
	MTU         int      `json:"mtu"`
	Operstate   string   `json:"operstate"`
	Txqlen      int      `json:"txqlen"`
	Address     string   `json:"address"`
	Permaddr    string   `json:"permaddr"`
	Master      string   `json:"master"`
	Ifalias     string   `json:"ifalias"`
	Altnames    []string `json:"altnames"`
	Link        string   `json:"link"`
	LinkNetnsid *int     `json:"link_netnsid"`
	Linkinfo    struct {
		InfoKind string `json:"info_kind"`
	} `json:"linkinfo"`
	Stats64 struct {
		Rx ipCounters `json:"rx"`
		Tx ipCounters `json:"tx"`
	} `json:"stats64"`
}

type ipCounters struct {
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
	Errors  uint64 `json:"errors"`
	Dropped uint64 `json:"dropped"`
}

func ipLinks(t *testing.T, n *nstest.NS, args ...string) map[string]ipLink {
	t.Helper()
	var links []ipLink
	n.IPJSON(t, &links, append([]string{"-d", "link", "show"}, args...)...)
	m := make(map[string]ipLink, len(links))
	for _, l := range links {
		m[l.Ifname] = l
	}
	return m
}

func listMap(t *testing.T, n *nstest.NS, opts ...ListOption) map[string]Status {
	t.Helper()
	links, err := List(t.Context(), n.Namespace, opts...)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]Status, len(links))
	for _, l := range links {
		m[l.Name] = l
	}
	return m
}

// checkSpec asserts that both List and ip report every field s manages.
func checkSpec(t *testing.T, s Spec, st Status, ip ipLink) {
	t.Helper()
	if s.Kind != "" {
		if st.Kind != s.Kind || ip.Linkinfo.InfoKind != s.Kind {
			t.Errorf("%s kind: List %q, ip %q, want %q", s.Name, st.Kind, ip.Linkinfo.InfoKind, s.Kind)
		}
		if s.Veth != nil && s.Veth.PeerNetns == "" && (st.Peer != s.Veth.Peer || ip.Link != s.Veth.Peer) {
			t.Errorf("%s peer: List %q, ip %q, want %q", s.Name, st.Peer, ip.Link, s.Veth.Peer)
		}
		m := Marker(netprim.DefaultOwner(), s.Name)
		if !slices.Contains(st.AltNames, m) || !slices.Contains(ip.Altnames, m) || st.OwnedBy != "netprim" {
			t.Errorf("%s marker %s: List %q (owned by %q), ip %q", s.Name, m, st.AltNames, st.OwnedBy, ip.Altnames)
		}
	}
	if s.MTU != 0 && (st.MTU != s.MTU || ip.MTU != s.MTU) {
		t.Errorf("%s mtu: List %d, ip %d, want %d", s.Name, st.MTU, ip.MTU, s.MTU)
	}
	if s.Up != nil {
		ipUp := slices.Contains(ip.Flags, "UP")
		if st.Up != *s.Up || ipUp != *s.Up || slices.Contains(st.Flags, "UP") != *s.Up {
			t.Errorf("%s up: List %v %q, ip flags %q, want %v", s.Name, st.Up, st.Flags, ip.Flags, *s.Up)
		}
	}
	if s.HardwareAddr != "" && (st.HardwareAddr != s.HardwareAddr || ip.Address != s.HardwareAddr) {
		t.Errorf("%s hardwareAddr: List %q, ip %q, want %q", s.Name, st.HardwareAddr, ip.Address, s.HardwareAddr)
	}
	if s.Alias != nil && (st.Alias != *s.Alias || ip.Ifalias != *s.Alias) {
		t.Errorf("%s alias: List %q, ip %q, want %q", s.Name, st.Alias, ip.Ifalias, *s.Alias)
	}
	if s.TxQueueLen != 0 && (st.TxQueueLen != s.TxQueueLen || ip.Txqlen != s.TxQueueLen) {
		t.Errorf("%s txQueueLen: List %d, ip %d, want %d", s.Name, st.TxQueueLen, ip.Txqlen, s.TxQueueLen)
	}
	if s.Master != nil && (st.Master != *s.Master || ip.Master != *s.Master) {
		t.Errorf("%s master: List %q, ip %q, want %q", s.Name, st.Master, ip.Master, *s.Master)
	}
}

// checkStatus compares every Status field with ip's view of the link.
func checkStatus(t *testing.T, st Status, ip ipLink) {
	t.Helper()
	got := struct {
		Index                                           int
		Kind, OperState, HardwareAddr, PermAddr, Master string
		Alias                                           string
		MTU, TxQueueLen                                 int
		AltNames, Flags                                 []string
		Carrier                                         bool
	}{st.Index, st.Kind, st.OperState, st.HardwareAddr, st.PermHardwareAddr, st.Master, st.Alias,
		st.MTU, st.TxQueueLen, st.AltNames, st.Flags, st.Carrier}
	ipFlags := slices.DeleteFunc(slices.Clone(ip.Flags), func(f string) bool { return f == "M-DOWN" })
	want := got
	want.Index, want.Kind, want.OperState = ip.Ifindex, ip.Linkinfo.InfoKind, strings.ToLower(ip.Operstate)
	want.HardwareAddr, want.PermAddr, want.Master, want.Alias = ip.Address, ip.Permaddr, ip.Master, ip.Ifalias
	want.MTU, want.TxQueueLen, want.AltNames, want.Flags = ip.MTU, ip.Txqlen, ip.Altnames, ipFlags
	want.Carrier = slices.Contains(ip.Flags, "LOWER_UP")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("link %s: List differs from ip -j -d link (-ip +List):\n%s", st.Name, d)
	}
}

// settledView returns List and ip's view of n at a moment when carrier and
// operational state, which the kernel updates asynchronously, did not
// change around the List.
func settledView(t *testing.T, n *nstest.NS) (map[string]Status, map[string]ipLink) {
	t.Helper()
	dynamic := func(m map[string]ipLink) string {
		var b strings.Builder
		for _, name := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&b, "%s %s %q;", name, m[name].Operstate, m[name].Flags)
		}
		return b.String()
	}
	var (
		st     map[string]Status
		before map[string]ipLink
	)
	nstest.Eventually(t, 30*time.Second, func() error {
		before = ipLinks(t, n)
		st = listMap(t, n)
		if after := ipLinks(t, n); dynamic(before) != dynamic(after) {
			return fmt.Errorf("link state changing: %s -> %s", dynamic(before), dynamic(after))
		}
		return nil
	})
	return st, before
}

func TestRoundTrip(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	n.Run(t, "ip", "link", "add", "br1", "type", "bridge")
	steps := [][]Spec{{
		{Name: "v1", Veth: &Veth{Peer: "v2"}, MTU: 1400, Up: new(true), HardwareAddr: "02:00:5e:10:00:01",
			Alias: new("uplink to rack 1"), TxQueueLen: 500, Master: new("br0")},
		{Name: "v2", MTU: 1400, Up: new(true), HardwareAddr: "02:00:5e:10:00:02", Alias: new("peer"), TxQueueLen: 600},
		{Name: "br0", Up: new(true), Alias: new("bridge")},
		{Name: "i1", Kind: "ifb", MTU: 1300, Up: new(false), TxQueueLen: 64, HardwareAddr: "02:00:5e:10:00:03"},
	}, {
		// every managed field changes
		{Name: "v1", Veth: &Veth{Peer: "v2"}, MTU: 1280, Up: new(false), HardwareAddr: "02:00:5e:10:00:11",
			Alias: new(""), TxQueueLen: 700, Master: new("br1")},
		{Name: "v2", MTU: 1280, Up: new(false), HardwareAddr: "02:00:5e:10:00:12", Alias: new("peer 2"), TxQueueLen: 800},
		{Name: "br0", Up: new(false), Alias: new("")},
		{Name: "i1", Kind: "ifb", MTU: 1500, Up: new(true), TxQueueLen: 32},
	}, {
		{Name: "v1", Up: new(true), Master: new("")},
	}}
	for i, want := range steps {
		var writes int64
		plan, err := Apply(t.Context(), n.Namespace, want, netprim.WithWriteCounter(&writes))
		if err != nil {
			t.Fatalf("step %d: Apply: %v\n%s", i, err, plan)
		}
		t.Logf("step %d (%d writes):\n%s", i, writes, plan)
		if plan.Empty() || writes == 0 {
			t.Fatalf("step %d: nothing changed", i)
		}
		st, ip := settledView(t, n)
		for _, s := range want {
			checkSpec(t, s, st[s.Name], ip[s.Name])
		}
		for name, l := range st {
			checkStatus(t, l, ip[name])
		}
		writes = 0
		plan, err = Apply(t.Context(), n.Namespace, want, netprim.WithWriteCounter(&writes))
		if err != nil || !plan.Empty() || writes != 0 {
			t.Fatalf("step %d: second Apply: %d writes, err %v, plan:\n%s", i, writes, err, plan)
		}
		if p, err := Plan(t.Context(), n.Namespace, want); err != nil || !p.Empty() {
			t.Fatalf("step %d: Plan after Apply: %v\n%s", i, err, p)
		}
	}
}

func TestPlanMatchesApply(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	n.Run(t, "ip", "link", "add", "e1", "type", "veth", "peer", "name", "e2")
	want := []Spec{
		{Name: "v1", Veth: &Veth{Peer: "v2"}, MTU: 1400, Up: new(true), Master: new("br0"), Alias: new("x")},
		{Name: "e1", MTU: 1450, Up: new(true), TxQueueLen: 10},
		{Name: "br0", Up: new(true)},
	}
	plan, err := Plan(t.Context(), n.Namespace, want)
	if err != nil {
		t.Fatal(err)
	}
	if ip := ipLinks(t, n); ip["v1"].Ifname != "" || ip["e1"].MTU != 1500 {
		t.Fatal("Plan changed the kernel")
	}
	applied, err := Apply(t.Context(), n.Namespace, want)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(plan.String(), applied.String()); d != "" {
		t.Errorf("Plan and Apply differ (-plan +apply):\n%s", d)
	}
	wantLines := []string{
		"+ link v1 (veth peer v2, mtu 1400)",
		"~ link v1 alias none -> x",
		"~ link v1 master none -> br0",
		"~ link v1 up false -> true",
		"~ link e1 mtu 1500 -> 1450",
		"~ link e1 txQueueLen 1000 -> 10",
		"~ link e1 up false -> true",
		"~ link br0 up false -> true",
	}
	if d := cmp.Diff(strings.Join(wantLines, "\n"), applied.String()); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

// TestPlanPartialFailureKernel: a link named in want that does not exist makes
// Plan return an error for it and the changes of the other links, and
// Apply then does exactly what Plan said.
func TestPlanPartialFailureKernel(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "veth1", "type", "veth", "peer", "name", "veth2")
	want := []Spec{{Name: "nope0", MTU: 1400}, {Name: "veth1", MTU: 1300}}
	const wantPlan = "~ link veth1 mtu 1500 -> 1300"
	check := func(what string, p netprim.Plan, err error) {
		t.Helper()
		if p.String() != wantPlan {
			t.Errorf("%s: plan %q, want %q", what, p, wantPlan)
		}
		if !errors.Is(err, netprim.ErrNotFound) || !strings.Contains(err.Error(), "link nope0") || strings.Contains(err.Error(), "veth1") {
			t.Errorf("%s: error %v, want one wrapping ErrNotFound for nope0 only", what, err)
		}
	}
	planned, planErr := Plan(t.Context(), n.Namespace, want)
	check("Plan", planned, planErr)
	if ip := ipLinks(t, n); ip["veth1"].MTU != 1500 {
		t.Fatalf("Plan changed the kernel: veth1 mtu %d", ip["veth1"].MTU)
	}
	var writes int64
	applied, applyErr := Apply(t.Context(), n.Namespace, want, netprim.WithWriteCounter(&writes))
	check("Apply", applied, applyErr)
	if planErr != nil && applyErr != nil && planErr.Error() != applyErr.Error() {
		t.Errorf("errors differ:\nPlan:  %v\nApply: %v", planErr, applyErr)
	}
	if writes != 1 {
		t.Errorf("Apply sent %d write requests, want 1", writes)
	}
	ip := ipLinks(t, n)
	if ip["veth1"].MTU != 1300 || ip["veth2"].MTU != 1500 {
		t.Errorf("after Apply: veth1 mtu %d (want 1300), veth2 mtu %d (want 1500)", ip["veth1"].MTU, ip["veth2"].MTU)
	}
	if _, ok := ip["nope0"]; ok {
		t.Error("nope0 was created")
	}
	again, err := Plan(t.Context(), n.Namespace, want)
	if !again.Empty() || !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("Plan after Apply: %q, %v; want no changes and the error for nope0", again, err)
	}
}

// linkEvents subscribes to link notifications in n.
type linkEvents struct {
	c *mdnl.Conn
}

func subscribe(t *testing.T, n *nstest.NS) *linkEvents {
	t.Helper()
	c, err := nl.Dial(n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.JoinGroup(unix.RTNLGRP_LINK); err != nil {
		t.Fatal(err)
	}
	return &linkEvents{c: c}
}

// until reads notifications up to the one that shows lo with alias
// sentinel and returns those that came before it, rendered.
func (e *linkEvents) until(t *testing.T, sentinel string) []string {
	t.Helper()
	var before []string
	if err := e.c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		msgs, err := e.c.Receive()
		if err != nil {
			t.Fatalf("receive link events: %v (before: %q)", err, before)
		}
		for _, m := range msgs {
			if len(m.Data) < unix.SizeofIfInfomsg {
				continue
			}
			index := int32(binary.NativeEndian.Uint32(m.Data[4:8]))
			var name, alias string
			ad, err := mdnl.NewAttributeDecoder(m.Data[unix.SizeofIfInfomsg:])
			if err != nil {
				t.Fatal(err)
			}
			for ad.Next() {
				switch ad.Type() {
				case unix.IFLA_IFNAME:
					name = ad.String()
				case unix.IFLA_IFALIAS:
					alias = ad.String()
				}
			}
			if name == "lo" && alias == sentinel {
				return before
			}
			before = append(before, fmt.Sprintf("type %d index %d name %s", m.Header.Type, index, name))
		}
	}
}

// TestIdempotentNoEvents proves that a second Apply sends no write: the
// write counter stays zero and a netlink subscription in the namespace sees
// no link event between the Apply and a sentinel change made after it.
func TestIdempotentNoEvents(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	want := []Spec{{Name: "br0", Up: new(true), MTU: 1400, Alias: new("b")}}
	for i := range 5 {
		want = append(want,
			Spec{Name: fmt.Sprintf("v%d", i), Veth: &Veth{Peer: fmt.Sprintf("p%d", i)}, MTU: 1400, Up: new(true),
				HardwareAddr: fmt.Sprintf("02:00:5e:00:01:%02x", i), Alias: new("v"), TxQueueLen: 100, Master: new("br0")},
			Spec{Name: fmt.Sprintf("p%d", i), Up: new(true), MTU: 1400})
	}
	want = append(want, Spec{Name: "i0", Kind: "ifb", Up: new(true)})
	if _, err := Apply(t.Context(), n.Namespace, want, netprim.WithPrune()); err != nil {
		t.Fatal(err)
	}
	// Carrier and operational state follow asynchronously (linkwatch):
	// wait until every link is fully up, so their events are behind us.
	nstest.Eventually(t, 30*time.Second, func() error {
		for name, l := range ipLinks(t, n) {
			if name != "lo" && l.Operstate != "UP" && l.Operstate != "UNKNOWN" {
				return fmt.Errorf("%s is %s", name, l.Operstate)
			}
		}
		return nil
	})
	ev := subscribe(t, n)
	// The kernel reports some changes later (linkwatch batches events for
	// up to a second): wait for a quiet round longer than that.
	for i := 0; ; i++ {
		sentinel := fmt.Sprintf("settled%d", i)
		n.Run(t, "ip", "link", "set", "lo", "alias", sentinel)
		before := ev.until(t, sentinel)
		if i > 0 && len(before) == 0 {
			break
		}
		if len(before) > 0 {
			t.Logf("events before the second Apply (from the first): %q", before)
		}
		if i == 20 {
			t.Fatalf("link events still arriving after %d rounds", i)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	var writes int64
	plan, err := Apply(t.Context(), n.Namespace, want, netprim.WithPrune(), netprim.WithWriteCounter(&writes))
	if err != nil || !plan.Empty() || writes != 0 {
		t.Fatalf("second Apply: %d writes, err %v, plan:\n%s", writes, err, plan)
	}
	n.Run(t, "ip", "link", "set", "lo", "alias", "sentinel")
	if events := ev.until(t, "sentinel"); len(events) > 0 {
		t.Fatalf("second Apply caused link events: %q", events)
	}
}

func TestOwnershipPrune(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "f1", "type", "veth", "peer", "name", "f2")
	n.Run(t, "ip", "link", "add", "f3", "type", "ifb")
	n.Run(t, "ip", "link", "add", "o1", "type", "ifb")
	n.Run(t, "ip", "link", "property", "add", "dev", "o1", "altname", "acme.o1") // another owner's link
	n.Run(t, "ip", "link", "add", "br9", "type", "bridge")
	n.Run(t, "ip", "link", "property", "add", "dev", "br9", "altname", "netprim.br9") // ours, but a package kind
	want := []Spec{
		{Name: "v1", Veth: &Veth{Peer: "v2"}},
		{Name: "s1", Veth: &Veth{Peer: "s2"}},
		{Name: "i1", Kind: "ifb"},
		{Name: "f1", MTU: 1400}, // not ours, managed
	}
	if _, err := Apply(t.Context(), n.Namespace, want, netprim.WithPrune()); err != nil {
		t.Fatal(err)
	}
	st := listMap(t, n)
	for name, owner := range map[string]string{"v1": "netprim", "v2": "", "s1": "netprim", "i1": "netprim", "f1": "", "f3": "", "o1": "acme"} {
		if st[name].OwnedBy != owner {
			t.Errorf("%s owned by %q, want %q", name, st[name].OwnedBy, owner)
		}
	}
	// s1 and i1 become stale; f1 leaves the spec; a foreign ifb is wanted
	// with another kind.
	want = []Spec{{Name: "v1", Veth: &Veth{Peer: "v2"}}}
	plan, err := Apply(t.Context(), n.Namespace, want, netprim.WithPrune())
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.String(); got != "- link s1\n- link i1" {
		t.Errorf("prune plan:\n%s", got)
	}
	ip := ipLinks(t, n)
	for _, name := range []string{"v1", "v2", "f1", "f2", "f3", "o1", "br9"} {
		if ip[name].Ifname == "" {
			t.Errorf("%s was deleted", name)
		}
	}
	for _, name := range []string{"s1", "s2", "i1"} {
		if ip[name].Ifname != "" {
			t.Errorf("stale owned link %s survived", name)
		}
	}
	if ip["f1"].MTU != 1400 {
		t.Errorf("f1 mtu %d: foreign link's attributes not managed", ip["f1"].MTU)
	}
	// A foreign link is never replaced, even when the spec wants another kind.
	_, err = Apply(t.Context(), n.Namespace, []Spec{{Name: "f3", Veth: &Veth{Peer: "f4"}}, {Name: "v1", MTU: 1300}}, netprim.WithPrune())
	if err == nil || !strings.Contains(err.Error(), "exists as kind ifb and is not owned by netprim") {
		t.Fatalf("foreign link of another kind: err %v", err)
	}
	ip = ipLinks(t, n)
	if ip["f3"].Linkinfo.InfoKind != "ifb" || ip["v1"].MTU != 1300 {
		t.Errorf("f3 %+v, v1 mtu %d: the bad link must not stop the others", ip["f3"].Linkinfo, ip["v1"].MTU)
	}
	// Another owner prunes only its own links.
	acme := netprim.WithOwner(netprim.Owner{ID: 90, Name: "acme"})
	plan, err = Apply(t.Context(), n.Namespace, nil, netprim.WithPrune(), acme)
	if err != nil || plan.String() != "- link o1" {
		t.Fatalf("acme prune: %v\n%s", err, plan)
	}
	// An owned link recreated when its kind changes.
	if _, err := Apply(t.Context(), n.Namespace, []Spec{{Name: "v1", Kind: "ifb"}}); err != nil {
		t.Fatal(err)
	}
	if ip := ipLinks(t, n); ip["v1"].Linkinfo.InfoKind != "ifb" || ip["v2"].Ifname != "" {
		t.Errorf("v1 not recreated as ifb: %+v", ip["v1"])
	}
}

func TestVethPeerNetns(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	want := []Spec{{Name: "x1", Veth: &Veth{Peer: "x1", PeerNetns: b.Path}, MTU: 1400, Up: new(true)}}
	if _, err := Apply(t.Context(), a.Namespace, want); err != nil {
		t.Fatal(err)
	}
	ipA, ipB := ipLinks(t, a), ipLinks(t, b)
	if ipA["x1"].LinkNetnsid == nil || ipA["x1"].Linkinfo.InfoKind != "veth" || ipB["x1"].Linkinfo.InfoKind != "veth" {
		t.Fatalf("peer not in the other namespace: a %+v, b %+v", ipA["x1"], ipB["x1"])
	}
	if ipB["x1"].MTU != 1400 {
		t.Errorf("peer mtu %d, want 1400", ipB["x1"].MTU)
	}
	// The peer in b is managed by a spec without kind, in b.
	if _, err := Apply(t.Context(), b.Namespace, []Spec{{Name: "x1", Up: new(true)}}); err != nil {
		t.Fatal(err)
	}
	var writes int64
	plan, err := Apply(t.Context(), a.Namespace, want, netprim.WithWriteCounter(&writes))
	if err != nil || writes != 0 {
		t.Fatalf("second Apply: %d writes, %v\n%s", writes, err, plan)
	}
	// Another peer name: the owned pair is recreated.
	want2 := []Spec{{Name: "x1", Veth: &Veth{Peer: "y1", PeerNetns: b.Path}}}
	plan, err = Apply(t.Context(), a.Namespace, want2)
	if err != nil {
		t.Fatal(err)
	}
	if plan.String() != "± link x1 (veth peer x1 netns "+b.Path+" -> y1 netns "+b.Path+"; veth peer y1 netns "+b.Path+")" {
		t.Errorf("recreate plan:\n%s", plan)
	}
	if ipB := ipLinks(t, b); ipB["y1"].Ifname == "" || ipB["x1"].Ifname != "" {
		t.Errorf("peer not renamed by recreation: %v", ipB)
	}
	// Peer namespace that does not exist: a clear error, nothing deleted.
	_, err = Apply(t.Context(), a.Namespace, []Spec{{Name: "x1", Veth: &Veth{Peer: "y1", PeerNetns: "nstest-does-not-exist"}}})
	if !errors.Is(err, netprim.ErrNotFound) {
		t.Fatalf("missing peer netns: err %v", err)
	}
	if ipLinks(t, a)["x1"].Ifname == "" {
		t.Error("x1 deleted although its new peer namespace does not exist")
	}
}

func TestListEthtoolAndStats(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	if _, err := Apply(t.Context(), a.Namespace, []Spec{{Name: "x1", Veth: &Veth{Peer: "x2", PeerNetns: b.Path}, Up: new(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(t.Context(), b.Namespace, []Spec{{Name: "x2", Up: new(true)}}); err != nil {
		t.Fatal(err)
	}
	a.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "x1")
	b.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "x2")
	a.Run(t, "ping", "-c", "3", "-i", "0.2", "-W", "5", "192.0.2.2")

	st := listMap(t, a)
	x1 := st["x1"]
	var ip []ipLink
	a.IPJSON(t, &ip, "-s", "link", "show", "x1") // read after List: counters only grow
	c := ip[0].Stats64
	for _, f := range []struct {
		name       string
		got, after uint64
		min        uint64
	}{
		{"rxPackets", x1.Stats.RxPackets, c.Rx.Packets, 3}, {"txPackets", x1.Stats.TxPackets, c.Tx.Packets, 3},
		{"rxBytes", x1.Stats.RxBytes, c.Rx.Bytes, 3 * 84}, {"txBytes", x1.Stats.TxBytes, c.Tx.Bytes, 3 * 84},
		{"rxErrors", x1.Stats.RxErrors, c.Rx.Errors, 0}, {"txErrors", x1.Stats.TxErrors, c.Tx.Errors, 0},
		{"rxDropped", x1.Stats.RxDropped, c.Rx.Dropped, 0}, {"txDropped", x1.Stats.TxDropped, c.Tx.Dropped, 0},
	} {
		if f.got < f.min || f.got > f.after {
			t.Errorf("%s = %d, want between %d and ip's later %d", f.name, f.got, f.min, f.after)
		}
	}
	// veth reports driver "veth" and 10000 Mb/s full duplex (drivers/net/veth.c).
	if x1.Driver != "veth" || x1.Speed != 10000 || x1.Duplex != "full" || x1.BusInfo != "" || x1.PCIID != "" {
		t.Errorf("ethtool facts of x1: driver %q speed %d duplex %q bus %q pci %q", x1.Driver, x1.Speed, x1.Duplex, x1.BusInfo, x1.PCIID)
	}
	if x1.ParentNetnsID < 0 || x1.Peer != "" || x1.ParentIndex == 0 {
		t.Errorf("x1 peer: index %d netnsid %d name %q", x1.ParentIndex, x1.ParentNetnsID, x1.Peer)
	}
	// Cross-check with the ethtool program, run inside the namespace.
	if _, err := exec.LookPath("ethtool"); err == nil {
		for name, l := range st {
			out, err := a.Exec("ethtool", "-i", name)
			driver := ""
			if err == nil {
				for _, line := range strings.Split(string(out), "\n") {
					if v, ok := strings.CutPrefix(line, "driver: "); ok {
						driver = v
					}
				}
			}
			if l.Driver != driver {
				t.Errorf("%s driver: List %q, ethtool -i %q", name, l.Driver, driver)
			}
		}
		out := a.Run(t, "ethtool", "x1")
		if !strings.Contains(string(out), "Speed: 10000Mb/s") || !strings.Contains(string(out), "Duplex: Full") {
			t.Errorf("ethtool x1 disagrees with List:\n%s", out)
		}
	} else {
		t.Log("ethtool program not installed: driver cross-check against it not run")
	}
	noEth := listMap(t, a, WithoutEthtool())
	if l := noEth["x1"]; l.Driver != "" || l.Speed != 0 || l.Name != "x1" {
		t.Errorf("WithoutEthtool: %+v", l)
	}
}

func TestApplyErrors(t *testing.T) {
	n := nstest.New(t)
	t.Run("unknown kind", func(t *testing.T) {
		_, err := Apply(t.Context(), n.Namespace, []Spec{{Name: "k0", Kind: "nosuchkind"}})
		if !errors.Is(err, netprim.ErrUnsupported) || !strings.Contains(err.Error(), "kernel lacks link kind nosuchkind: modprobe nosuchkind") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("missing link", func(t *testing.T) {
		_, err := Apply(t.Context(), n.Namespace, []Spec{{Name: "eth9", MTU: 1400}})
		if !errors.Is(err, netprim.ErrNotFound) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("invalid spec leaves the kernel untouched", func(t *testing.T) {
		before := ipLinks(t, n)
		_, err := Apply(t.Context(), n.Namespace, []Spec{{Name: "ok0", Kind: "ifb"}, {Name: "bad", MTU: 70000}})
		if !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), "link: spec[1].mtu: 70000 out of range 68..65535") {
			t.Fatalf("err %v", err)
		}
		if d := cmp.Diff(before, ipLinks(t, n)); d != "" {
			t.Errorf("kernel changed:\n%s", d)
		}
	})
	t.Run("kernel refuses a value", func(t *testing.T) {
		n.Run(t, "ip", "link", "add", "ifb7", "type", "ifb")
		// ifb cannot change its address: one error, the other link done.
		_, err := Apply(t.Context(), n.Namespace, []Spec{{Name: "ifb7", HardwareAddr: "02:00:00:00:00:07"}, {Name: "lo", MTU: 65535}})
		if !errors.Is(err, netprim.ErrUnsupported) || !strings.Contains(err.Error(), "set link ifb7 hardwareAddr") {
			t.Fatalf("err %v", err)
		}
		if ip := ipLinks(t, n); ip["lo"].MTU != 65535 {
			t.Errorf("lo mtu %d: the good link was not changed", ip["lo"].MTU)
		}
	})
}

// countdownCtx is cancelled by the k-th call of its Err method.
type countdownCtx struct {
	context.Context
	left   atomic.Int64
	cancel context.CancelFunc
}

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) < 0 {
		c.cancel()
	}
	return c.Context.Err()
}

func cancelAfter(parent context.Context, k int64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	c := &countdownCtx{Context: ctx, cancel: cancel}
	c.left.Store(k)
	return c, cancel
}

// TestCancel cancels Apply of many links at random moments, then applies
// again: Apply always converges and no owned link is left that is not
// wanted, and no created link is left without its marker.
func TestCancel(t *testing.T) {
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	specs := func(prefix string, count int) []Spec {
		want := []Spec{{Name: "br0", Up: new(true)}}
		for i := range count {
			want = append(want, Spec{Name: fmt.Sprintf("%s%d", prefix, i), Veth: &Veth{Peer: fmt.Sprintf("%sp%d", prefix, i)},
				MTU: 1400, Up: new(true), Alias: new("c"), Master: new("br0")})
		}
		return want
	}
	sets := [][]Spec{specs("a", 15), specs("b", 15)}
	start := time.Now()
	if _, err := Apply(t.Context(), n.Namespace, sets[0], netprim.WithPrune()); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	interrupted := 0
	for i := range 12 {
		want := sets[(i+1)%2]
		var ctx context.Context
		var cancel context.CancelFunc
		if i%2 == 0 {
			// Cancelled when Apply checks ctx for the k-th time: a random
			// point between two requests.
			ctx, cancel = cancelAfter(t.Context(), rng.Int64N(130))
		} else {
			ctx, cancel = context.WithTimeout(t.Context(), time.Duration(rng.Int64N(int64(3*full)+1)))
		}
		_, err := Apply(ctx, n.Namespace, want, netprim.WithPrune())
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Fatalf("round %d: %v", i, err)
			}
			interrupted++
		}
		// No created link without its marker: every a*/b* link that is
		// not a peer is marked.
		for name, l := range ipLinks(t, n) {
			if (name[0] == 'a' || name[0] == 'b') && name[1] >= '0' && name[1] <= '9' && !slices.Contains(l.Altnames, "netprim."+name) {
				t.Fatalf("round %d: %s left without marker: %q", i, name, l.Altnames)
			}
		}
		if _, err := Apply(t.Context(), n.Namespace, want, netprim.WithPrune()); err != nil {
			t.Fatalf("round %d: re-apply: %v", i, err)
		}
		var writes int64
		if plan, err := Apply(t.Context(), n.Namespace, want, netprim.WithPrune(), netprim.WithWriteCounter(&writes)); err != nil || writes != 0 {
			t.Fatalf("round %d: not converged: %d writes, %v\n%s", i, writes, err, plan)
		}
		ip := ipLinks(t, n)
		wanted := make(map[string]bool)
		for _, s := range want {
			wanted[s.Name] = true
		}
		for name, l := range ip {
			if slices.Contains(l.Altnames, "netprim."+name) && !wanted[name] {
				t.Fatalf("round %d: orphaned owned link %s", i, name)
			}
		}
		for _, s := range want {
			if ip[s.Name].Ifname == "" {
				t.Fatalf("round %d: wanted link %s missing", i, s.Name)
			}
		}
	}
	t.Logf("%d of 12 Applies interrupted (full Apply %v)", interrupted, full)
}
