package wireguard

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

func linkNames(t *testing.T, n *nstest.NS) []string {
	t.Helper()
	var links []struct {
		IfName   string `json:"ifname"`
		LinkInfo struct {
			Kind string `json:"info_kind"`
		} `json:"linkinfo"`
	}
	n.IPJSON(t, &links, "-d", "link", "show")
	var names []string
	for _, l := range links {
		names = append(names, l.IfName+":"+l.LinkInfo.Kind)
	}
	return names
}

// TestKernelBackend runs where the kernel has the wireguard module.
func TestKernelBackend(t *testing.T) {
	n := nstest.New(t)
	s := goodSpec()
	s.Name = uniqueName(t)
	s.Peers[1].Endpoint = "192.0.2.3:51820"
	ctx := context.Background()
	d, _, err := Apply(ctx, n.Namespace, s, WithBackend(BackendKernel))
	if errors.Is(err, netprim.ErrUnsupported) {
		t.Skipf("kernel lacks the wireguard module (%v); the userspace backend is tested instead", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Delete(ctx)
	var writes int64
	if plan, err := d.Apply(ctx, s, netprim.WithWriteCounter(&writes)); err != nil || writes != 0 || !plan.Empty() {
		t.Fatalf("second apply: %d writes, %v, %v", writes, plan, err)
	}
	st, err := d.Status(ctx)
	if err != nil || st.Backend != BackendKernel || len(st.Peers) != 2 {
		t.Fatalf("status %+v %v", st, err)
	}
	if got := linkNames(t, n); !strings.Contains(strings.Join(got, " "), s.Name+":wireguard") {
		t.Fatalf("ip link: %v", got)
	}
	list, err := List(ctx, n.Namespace)
	if err != nil || len(list) != 1 || list[0].PublicKey != st.PublicKey {
		t.Fatalf("List: %+v %v", list, err)
	}
}

func TestAutoBackend(t *testing.T) {
	n := nstest.New(t)
	s := goodSpec()
	s.Name = uniqueName(t)
	s.Peers[1].Endpoint = "192.0.2.3:51820"
	ctx := context.Background()
	pre, err := Plan(ctx, n.Namespace, s)
	if err != nil {
		t.Fatal(err)
	}
	d, plan, err := Apply(ctx, n.Namespace, s)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Delete(ctx)
	// The plan of a new device lists the same device and peer changes.
	if len(pre.Changes) != len(plan.Changes) {
		t.Fatalf("Plan:\n%s\nApply:\n%s", pre, plan)
	}
	if _, err := Plan(ctx, n.Namespace, s); err != nil && d.Backend() == BackendKernel || err == nil && d.Backend() == BackendUserspace {
		t.Fatalf("Plan of an existing %s device: %v", d.Backend(), err)
	}
	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := strings.Join(linkNames(t, n), " ")
	want := BackendUserspace
	if strings.Contains(kinds, s.Name+":wireguard") {
		want = BackendKernel
	} else if !strings.Contains(kinds, s.Name+":tun") {
		t.Fatalf("no link %s: %s", s.Name, kinds)
	}
	if st.Backend != want || d.Backend() != want {
		t.Fatalf("backend %s, link says %s\n%s", st.Backend, want, plan)
	}
	if st.PublicKey != s.PrivateKey.PublicKey() || len(st.Peers) != 2 || st.MTU != DefaultMTU || !st.Up {
		t.Fatalf("status %+v", st)
	}
	// List shows kernel devices only: a userspace device is read through
	// its handle.
	if list, err := List(ctx, n.Namespace); err != nil || len(list) != 0 && want == BackendUserspace {
		t.Fatalf("List: %+v %v", list, err)
	}
	// The UDP socket is in the namespace.
	if out := string(n.Run(t, "ss", "-Hunl")); !strings.Contains(out, ":51820") {
		t.Fatalf("ss -unl in the namespace: %q", out)
	}
	// Conflicts: a second device of that name, a userspace device over a
	// kernel one.
	if _, _, err := Apply(ctx, n.Namespace, s, WithBackend(BackendUserspace)); !errors.Is(err, netprim.ErrConflict) {
		t.Fatalf("second userspace device: %v", err)
	}
	// MTU change on the link.
	s.MTU = 1380
	var writes int64
	if plan, err := d.Apply(ctx, s, netprim.WithWriteCounter(&writes)); err != nil || writes != 1 || len(plan.Changes) != 1 || plan.Changes[0].Field != "mtu" {
		t.Fatalf("mtu: %d writes, %v, %v", writes, plan, err)
	}
	var links []struct {
		MTU int `json:"mtu"`
	}
	n.IPJSON(t, &links, "link", "show", "dev", s.Name)
	if len(links) != 1 || links[0].MTU != 1380 {
		t.Fatalf("ip link: %+v", links)
	}
	// Plan reports nothing left to do.
	if p, err := d.Plan(ctx, s); err != nil || !p.Empty() {
		t.Fatalf("plan after apply: %v %v", p, err)
	}
	// Wrong name through a handle.
	s2 := s
	s2.Name = "other"
	if _, err := d.Apply(ctx, s2); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Fatalf("other name: %v", err)
	}
}

func TestUserspaceCloseRemovesLink(t *testing.T) {
	n := nstest.New(t)
	s := goodSpec()
	s.Name = uniqueName(t)
	s.Peers[1].Endpoint = "192.0.2.3:51820"
	ctx := context.Background()
	d, _, err := Apply(ctx, n.Namespace, s, WithBackend(BackendUserspace))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(linkNames(t, n), " "); !strings.Contains(got, s.Name+":tun") {
		t.Fatalf("links %s", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	nstest.Eventually(t, 5e9, func() error {
		if got := strings.Join(linkNames(t, n), " "); strings.Contains(got, s.Name) {
			return errors.New("link still there: " + got)
		}
		return nil
	})
	if _, err := d.Status(ctx); err == nil {
		t.Fatal("status on a closed handle")
	}
	if err := d.Close(); err != nil {
		t.Fatal("second close:", err)
	}
}

// TestBadInputNothingApplied: invalid specs fail before anything is
// created.
func TestBadInputNothingApplied(t *testing.T) {
	n := nstest.New(t)
	before := linkNames(t, n)
	for name, edit := range map[string]func(*Spec){
		"malformed key": func(s *Spec) { s.PrivateKey = PrivateKey{} },
		"duplicate":     func(s *Spec) { s.Peers[1].PublicKey = s.Peers[0].PublicKey },
		"overlap":       func(s *Spec) { s.Peers[1].AllowedIPs = s.Peers[0].AllowedIPs },
		"port":          func(s *Spec) { s.ListenPort = 70000 },
		"endpoint port": func(s *Spec) { s.Peers[1].Endpoint = "192.0.2.3:0" },
	} {
		s := goodSpec()
		s.Name = uniqueName(t)
		edit(&s)
		var writes int64
		d, _, err := Apply(context.Background(), n.Namespace, s, WithBackend(BackendUserspace), netprim.WithWriteCounter(&writes))
		if err == nil {
			d.Close()
			t.Fatalf("%s: accepted", name)
		}
		if writes != 0 {
			t.Fatalf("%s: %d writes", name, writes)
		}
		assertNoSecrets(t, err.Error(), s.PrivateKey)
	}
	if after := linkNames(t, n); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("links changed: %v -> %v", before, after)
	}
}

func TestApplyRouting(t *testing.T) {
	n := nstest.New(t)
	s := goodSpec()
	s.Name = uniqueName(t)
	s.Peers[1].Endpoint = "192.0.2.3:51820"
	s.FirewallMark = MarkDevice
	ctx := context.Background()
	d, _, err := Apply(ctx, n.Namespace, s, WithBackend(BackendUserspace))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := Routing{Link: s.Name, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("fd00::/64")}}
	if _, err := ApplyRouting(ctx, n.Namespace, r); err != nil {
		t.Fatal(err)
	}
	for _, fam := range []string{"-4", "-6"} {
		var rules []struct {
			Priority int    `json:"priority"`
			FwMark   string `json:"fwmark"`
			FwMask   string `json:"fwmask"`
			Table    string `json:"table"`
		}
		n.IPJSON(t, &rules, fam, "rule", "show")
		found := false
		for _, r := range rules {
			if r.Priority == 32500 && r.FwMark == "0x40" && r.FwMask == "0x60" && r.Table == "180" {
				found = true
			}
		}
		if !found {
			t.Fatalf("ip %s rule: no fwmark 0x40/0x60 lookup 180 priority 32500: %+v", fam, rules)
		}
		var routes []struct {
			Dst string `json:"dst"`
			Dev string `json:"dev"`
		}
		n.IPJSON(t, &routes, fam, "route", "show", "table", "180")
		if len(routes) != 1 || routes[0].Dev != s.Name {
			t.Fatalf("ip %s route show table 180: %+v", fam, routes)
		}
	}
	var writes int64
	if p, err := ApplyRouting(ctx, n.Namespace, r, netprim.WithWriteCounter(&writes)); err != nil || writes != 0 {
		t.Fatalf("second ApplyRouting: %d writes, %v, %v", writes, p, err)
	}
	st, _ := d.Status(ctx)
	if st.FirewallMark != MarkDevice {
		t.Fatalf("fwmark %x", st.FirewallMark)
	}
}
