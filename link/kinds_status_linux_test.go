package link

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/nstest"
)

// ipVXLAN reads a vxlan's parameters from "ip -j -d link show" info_data.
func ipVXLAN(l ipKindLink) *VXLAN {
	if l.Linkinfo.InfoKind != "vxlan" {
		return nil
	}
	d := l.Linkinfo.InfoData
	str := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := d[k].(string); ok {
				return s
			}
		}
		return ""
	}
	num := func(k string) int {
		f, _ := d[k].(float64)
		return int(f)
	}
	v := &VXLAN{
		VNI:    uint32(num("id")),
		Remote: str("remote", "remote6"),
		Group:  str("group", "group6"),
		Local:  str("local", "local6"),
		Port:   num("port"),
		Dev:    str("link"),
		TTL:    num("ttl"), // absent with "ttl inherit"
	}
	if b, ok := d["learning"].(bool); ok {
		v.Learning = &b
	}
	return v
}

// ipMACVLAN reads a macvlan's parent and mode as ip shows them.
func ipMACVLAN(l ipKindLink) *MACVLAN {
	if l.Linkinfo.InfoKind != "macvlan" {
		return nil
	}
	mode, _ := l.Linkinfo.InfoData["mode"].(string)
	return &MACVLAN{Parent: l.Link, Mode: mode}
}

// ipVRF reads a vrf's table as ip shows it.
func ipVRF(l ipKindLink) *VRF {
	if l.Linkinfo.InfoKind != "vrf" {
		return nil
	}
	table, _ := l.Linkinfo.InfoData["table"].(float64)
	return &VRF{Table: uint32(table)}
}

// roundTrip applies want, lists the links, and compares each wanted link's
// kind parameters as List reports them with expect(normalized spec) and
// with what ip reports. It returns the listed links by name.
func roundTrip(t *testing.T, n *nstest.NS, want []Spec, expect func(Spec) Spec) map[string]Status {
	t.Helper()
	applyIdempotent(t, n, want)
	got := listMap(t, n, WithoutEthtool())
	ip := ipKindLinks(t, n)
	for _, s := range want {
		if s.Kind == "" && s.VXLAN == nil && s.MACVLAN == nil && s.VRF == nil {
			continue
		}
		s.Normalize()
		exp := expect(s)
		st, ok := got[s.Name]
		if !ok {
			t.Errorf("%s: not listed", s.Name)
			continue
		}
		if st.Kind != exp.Kind {
			t.Errorf("%s: listed kind %q, want %q", s.Name, st.Kind, exp.Kind)
		}
		if diff := cmp.Diff(exp.VXLAN, st.VXLAN); diff != "" {
			t.Errorf("%s: Status.VXLAN (-spec +listed):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(ipVXLAN(ip[s.Name]), st.VXLAN); diff != "" {
			t.Errorf("%s: Status.VXLAN (-ip +listed):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(exp.MACVLAN, st.MACVLAN); diff != "" {
			t.Errorf("%s: Status.MACVLAN (-spec +listed):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(ipMACVLAN(ip[s.Name]), st.MACVLAN); diff != "" {
			t.Errorf("%s: Status.MACVLAN (-ip +listed):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(exp.VRF, st.VRF); diff != "" {
			t.Errorf("%s: Status.VRF (-spec +listed):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(ipVRF(ip[s.Name]), st.VRF); diff != "" {
			t.Errorf("%s: Status.VRF (-ip +listed):\n%s", s.Name, diff)
		}
	}
	return got
}

// asIs expects the normalized spec back unchanged.
func asIs(s Spec) Spec { return s }

func TestStatusVXLAN(t *testing.T) {
	n := nstest.New(t)
	// Non-canonical address spellings: the Status has Normalize's form.
	full := []Spec{
		{Name: "u0", Veth: &Veth{Peer: "u1"}, Up: new(true)},
		{Name: "vx4", VXLAN: &VXLAN{VNI: 42, Remote: "192.0.2.1", Local: "192.0.2.2", Port: 4789, Dev: "u0", TTL: 64, Learning: new(false)}},
		{Name: "vxg", VXLAN: &VXLAN{VNI: 43, Group: "239.1.1.1", Local: "192.0.2.3", Port: 4790, Dev: "u1", TTL: 1, Learning: new(true)}},
		{Name: "vx6", VXLAN: &VXLAN{VNI: MaxVNI, Remote: "2001:0DB8::0001", Local: "2001:db8:0::2", Port: 65535, TTL: 255, Learning: new(false)}},
		{Name: "vxg6", Kind: "vxlan", VXLAN: &VXLAN{VNI: 1, Group: "FF05::1:3", Port: 8472, Dev: "u0", TTL: 2, Learning: new(true)}},
	}
	st := roundTrip(t, n, full, asIs)

	// Fields left unmanaged are listed with the kernel's defaults: port
	// 8472, TTL 0 ("auto"), learning on; the Status of a vxlan created
	// from the minimal spec is the spec with those filled in.
	minimal := []Spec{{Name: "vxd", VXLAN: &VXLAN{VNI: 7, Remote: "198.51.100.7"}}}
	roundTrip(t, n, minimal, func(s Spec) Spec {
		v := *s.VXLAN
		v.Port, v.Learning = 8472, new(true)
		s.VXLAN = &v
		return s
	})

	// The vxlan sub-structure is the vxlan's alone.
	if u := st["u0"]; u.VXLAN != nil || u.MACVLAN != nil || u.VRF != nil {
		t.Errorf("veth u0 has kind parameters: %+v %+v %+v", u.VXLAN, u.MACVLAN, u.VRF)
	}
}

func TestStatusMACVLAN(t *testing.T) {
	n := nstest.New(t)
	// One parent per macvlan: passthru takes its parent for itself.
	var want []Spec
	for i, mode := range []string{"private", "vepa", "bridge", "passthru", "source", ""} {
		p := "p" + itoa(i)
		want = append(want,
			Spec{Name: p, Veth: &Veth{Peer: "q" + itoa(i)}, Up: new(true)},
			Spec{Name: "mv" + itoa(i), MACVLAN: &MACVLAN{Parent: p, Mode: mode}},
		)
	}
	// Listed after its parent's peer, in upper case: Normalize's form.
	want = append(want, Spec{Name: "mvq", Kind: "macvlan", MACVLAN: &MACVLAN{Parent: "q0", Mode: "BRIDGE"}})
	roundTrip(t, n, want, func(s Spec) Spec {
		if s.MACVLAN != nil && s.MACVLAN.Mode == "" {
			m := *s.MACVLAN
			m.Mode = "vepa" // the kernel's default
			s.MACVLAN = &m
		}
		return s
	})
}

func TestStatusVRF(t *testing.T) {
	nstest.RequireModules(t, "vrf")
	n := nstest.New(t)
	st := roundTrip(t, n, []Spec{
		{Name: "vrf0", VRF: &VRF{Table: 10}, Up: new(true)},
		{Name: "vrf1", Kind: "vrf", VRF: &VRF{Table: 4000000000}},
		{Name: "v0", Veth: &Veth{Peer: "v1"}, Master: new("vrf1")},
	}, asIs)
	if st["v0"].Master != "vrf1" || st["v0"].VRF != nil {
		t.Errorf("v0: master %q, vrf %+v", st["v0"].Master, st["v0"].VRF)
	}
	// Status.Spec of a vrf and its port changes nothing.
	specZeroWrites(t, n, st["vrf0"], st["vrf1"], st["v0"])
}

// specZeroWrites checks that Apply of each link's Status.Spec, alone,
// and of all of them together, finds nothing to change and sends no write.
func specZeroWrites(t *testing.T, n *nstest.NS, links ...Status) {
	t.Helper()
	for _, l := range links {
		var writes int64
		plan, err := Apply(t.Context(), n.Namespace, []Spec{l.Spec()}, netprim.WithWriteCounter(&writes))
		if err != nil || !plan.Empty() || writes != 0 {
			t.Errorf("Apply(%s.Spec()) = %d writes, err %v, plan:\n%s\nspec: %+v", l.Name, writes, err, plan, l.Spec())
		}
	}
	var writes int64
	plan, err := Apply(t.Context(), n.Namespace, Specs(links), netprim.WithWriteCounter(&writes))
	if err != nil || !plan.Empty() || writes != 0 {
		t.Errorf("Apply(Specs(links)) = %d writes, err %v, plan:\n%s", writes, err, plan)
	}
}

// statusNS builds a namespace with every kind link can create on the host
// kernel, in part with ip and in part with Apply: a veth pair with every
// attribute set, one on a bridge, vxlans and macvlans on the veths.
func statusNS(t *testing.T) *nstest.NS {
	t.Helper()
	n := nstest.New(t)
	n.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	n.Run(t, "ip", "link", "set", "br0", "up")
	n.Run(t, "ip", "link", "add", "b0", "mtu", "1400", "type", "veth", "peer", "name", "b1")
	n.Run(t, "ip", "link", "set", "b0", "master", "br0", "alias", "bridge port", "up")
	n.Run(t, "ip", "link", "add", "vxip", "type", "vxlan", "id", "100", "group", "239.0.0.9", "dev", "b1", "dstport", "4789", "ttl", "3", "nolearning")
	n.Run(t, "ip", "link", "add", "mvip", "link", "b1", "type", "macvlan", "mode", "source")
	applyIdempotent(t, n, []Spec{
		{Name: "a0", Veth: &Veth{Peer: "a1"}, MTU: 9000, Up: new(true), HardwareAddr: "02:00:5e:00:00:a0", Alias: new("uplink"), TxQueueLen: 64},
		{Name: "vx0", VXLAN: &VXLAN{VNI: 5, Remote: "2001:db8::5", Dev: "a0", TTL: 9}, Up: new(true), MTU: 1280},
		{Name: "mv0", MACVLAN: &MACVLAN{Parent: "a1", Mode: "bridge"}, Up: new(true)},
	})
	return n
}

// TestStatusSpecZeroWrites: Apply of Status.Spec, per link and for the
// whole namespace, makes no write: veth (both ends, one on a bridge),
// vxlan, macvlan, the bridge and loopback, created by Apply or by ip.
func TestStatusSpecZeroWrites(t *testing.T) {
	n := statusNS(t)
	links, err := List(t.Context(), n.Namespace, WithoutEthtool())
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]Status, len(links))
	for _, l := range links {
		byName[l.Name] = l
	}
	// The Specs name what they reproduce.
	for name, want := range map[string]string{
		"lo": "", "br0": "", "b0": "veth", "b1": "veth", "a0": "veth", "a1": "veth",
		"vxip": "vxlan", "vx0": "vxlan", "mvip": "macvlan", "mv0": "macvlan",
	} {
		l, ok := byName[name]
		if !ok {
			t.Fatalf("%s not listed", name)
		}
		if s := l.Spec(); s.Kind != want {
			t.Errorf("%s.Spec().Kind = %q, want %q", name, s.Kind, want)
		}
	}
	if s := byName["b0"].Spec(); s.Master == nil || *s.Master != "br0" || s.Alias == nil || *s.Alias != "bridge port" || s.MTU != 1400 {
		t.Errorf("b0.Spec() = %+v, want master br0, alias, mtu 1400", s)
	}
	specZeroWrites(t, n, links...)
}

// TestStatusSpecRepairs: Apply of the Specs listed earlier undoes drift
// of every attribute the Spec manages and of in-place kind parameters.
func TestStatusSpecRepairs(t *testing.T) {
	n := statusNS(t)
	links, err := List(t.Context(), n.Namespace, WithoutEthtool())
	if err != nil {
		t.Fatal(err)
	}
	before := ipKindLinks(t, n)
	beforeLinks := ipLinks(t, n)
	n.Run(t, "ip", "link", "set", "a0", "mtu", "1500", "txqueuelen", "100", "address", "02:00:5e:00:00:ff", "alias", "drift")
	n.Run(t, "ip", "link", "set", "b0", "nomaster", "down")
	n.Run(t, "ip", "link", "set", "b1", "up")
	n.Run(t, "ip", "link", "set", "vx0", "type", "vxlan", "ttl", "77", "nolearning")
	n.Run(t, "ip", "link", "set", "mv0", "type", "macvlan", "mode", "private")
	plan, err := Apply(t.Context(), n.Namespace, Specs(links))
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, plan)
	}
	t.Logf("repaired:\n%s", plan)
	after := ipKindLinks(t, n)
	afterLinks := ipLinks(t, n)
	for _, name := range []string{"a0", "b0", "b1", "vx0", "mv0"} {
		b, a := beforeLinks[name], afterLinks[name]
		if slices.Contains(b.Flags, "UP") != slices.Contains(a.Flags, "UP") {
			t.Errorf("%s: flags %q, before %q", name, a.Flags, b.Flags)
		}
		// Counters, carrier and operational state are not the Spec's.
		for _, l := range []*ipLink{&b, &a} {
			l.Stats64, l.Operstate, l.Flags = a.Stats64, "", nil
		}
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("%s not repaired (-before +after):\n%s", name, diff)
		}
		if diff := cmp.Diff(before[name].Linkinfo.InfoData, after[name].Linkinfo.InfoData); diff != "" {
			t.Errorf("%s info_data not repaired (-before +after):\n%s", name, diff)
		}
	}
	applyIdempotent(t, n, Specs(links))
}

// TestStatusSpecReproduces: the Specs listed in one namespace, applied in
// another, make links that List describes with the same Specs and ip with
// the same kind parameters.
func TestStatusSpecReproduces(t *testing.T) {
	src := statusNS(t)
	links, err := List(t.Context(), src.Namespace, WithoutEthtool())
	if err != nil {
		t.Fatal(err)
	}
	dst := nstest.New(t)
	dst.Run(t, "ip", "link", "add", "br0", "type", "bridge") // bridges are package bridge's
	plan, err := Apply(t.Context(), dst.Namespace, Specs(links))
	if err != nil {
		t.Fatalf("Apply in a new namespace: %v\n%s", err, plan)
	}
	copies, err := List(t.Context(), dst.Namespace, WithoutEthtool())
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]Spec, len(copies))
	for _, l := range copies {
		got[l.Name] = l.Spec()
	}
	for _, l := range links {
		if diff := cmp.Diff(l.Spec(), got[l.Name]); diff != "" {
			t.Errorf("%s (-source +copy):\n%s", l.Name, diff)
		}
	}
	srcIP, dstIP := ipKindLinks(t, src), ipKindLinks(t, dst)
	for _, name := range []string{"vxip", "vx0", "mvip", "mv0"} {
		if diff := cmp.Diff(srcIP[name].Linkinfo.InfoData, dstIP[name].Linkinfo.InfoData); diff != "" {
			t.Errorf("%s info_data (-source +copy):\n%s", name, diff)
		}
	}
}
