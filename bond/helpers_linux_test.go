package bond

import (
	"slices"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/applytest"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
)

// ipLink is a link as "ip -j -d link show" prints it.
type ipLink struct {
	Ifindex   int      `json:"ifindex"`
	Ifname    string   `json:"ifname"`
	AltNames  []string `json:"altnames"`
	Flags     []string `json:"flags"`
	Master    string   `json:"master"`
	Operstate string   `json:"operstate"`
	MTU       int      `json:"mtu"`
	Address   string   `json:"address"`
	Linkinfo  struct {
		InfoKind      string         `json:"info_kind"`
		InfoData      map[string]any `json:"info_data"`
		InfoSlaveKind string         `json:"info_slave_kind"`
		InfoSlaveData map[string]any `json:"info_slave_data"`
	} `json:"linkinfo"`
}

// configured returns links without what the kernel changes on its own, after
// a while: operational state and carrier, a member's link state and failure
// count, the active member and 802.3ad aggregator. A comparison of links
// before and after an Apply that must change nothing compares these.
func configured(links map[string]ipLink) map[string]ipLink {
	out := make(map[string]ipLink, len(links))
	for name, l := range links {
		l.Operstate = ""
		l.Flags = slices.DeleteFunc(slices.Clone(l.Flags), func(f string) bool {
			return f == "NO-CARRIER" || f == "LOWER_UP" || f == "M-DOWN"
		})
		l.Linkinfo.InfoData = without(l.Linkinfo.InfoData, "active_slave", "ad_info")
		l.Linkinfo.InfoSlaveData = without(l.Linkinfo.InfoSlaveData, "state", "mii_status", "link_failure_count",
			"ad_aggregator_id", "ad_actor_oper_port_state", "ad_actor_oper_port_state_str",
			"ad_partner_oper_port_state", "ad_partner_oper_port_state_str")
		out[name] = l
	}
	return out
}

func without(m map[string]any, keys ...string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// ipLinks returns the links of n as ip reports them, by name.
func ipLinks(t testing.TB, n *nstest.NS) map[string]ipLink {
	t.Helper()
	var links []ipLink
	n.IPJSON(t, &links, "-d", "link", "show")
	m := make(map[string]ipLink, len(links))
	for _, l := range links {
		m[l.Ifname] = l
	}
	return m
}

// dummies adds dummy links, down, to n.
func dummies(t testing.TB, n *nstest.NS, names ...string) {
	t.Helper()
	h, err := nl.Handle(n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, name := range names {
		if err := h.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
			t.Fatalf("add dummy %s: %v", name, err)
		}
	}
}

// mustApply applies want and fails the test on error; it returns the
// number of write requests.
func mustApply(t testing.TB, ns *netprim.Namespace, want []Spec, opts ...netprim.Option) (netprim.Plan, int64) {
	t.Helper()
	return applytest.Apply(t, ns, Apply, want, opts...)
}

// wantState checks with ip that n has exactly the bonds of want, each
// marked as owned, in its mode, up or down as wanted and with its members
// and no other link enslaved, and that every other link has no master.
func wantState(t testing.TB, n *nstest.NS, want []Spec) {
	t.Helper()
	links := ipLinks(t, n)
	master := map[string]string{} // member -> wanted bond
	for _, s := range want {
		l, ok := links[s.Name]
		if !ok || l.Linkinfo.InfoKind != "bond" {
			t.Errorf("ip: %s exists %v with kind %q, want a bond", s.Name, ok, l.Linkinfo.InfoKind)
			continue
		}
		if m := link.Marker(netprim.DefaultOwner(), s.Name); !slices.Contains(l.AltNames, m) {
			t.Errorf("ip: %s altnames %v, want the ownership marker %s", s.Name, l.AltNames, m)
		}
		if got := l.Linkinfo.InfoData["mode"]; got != s.Mode {
			t.Errorf("ip: %s mode %v, want %s", s.Name, got, s.Mode)
		}
		if up := slices.Contains(l.Flags, "UP"); s.Up != nil && up != *s.Up {
			t.Errorf("ip: %s flags %v, want up=%v", s.Name, l.Flags, *s.Up)
		}
		for _, m := range s.Members {
			master[m] = s.Name
		}
	}
	wanted := make(map[string]bool, len(want))
	for _, s := range want {
		wanted[s.Name] = true
	}
	for name, l := range links {
		if l.Linkinfo.InfoKind == "bond" && !wanted[name] {
			t.Errorf("ip: bond %s (altnames %v) is not wanted", name, l.AltNames)
		}
		if l.Master != master[name] {
			t.Errorf("ip: %s master %q, want %q", name, l.Master, master[name])
		}
		if master[name] != "" && !slices.Contains(l.Flags, "SLAVE") {
			t.Errorf("ip: %s flags %v, want SLAVE", name, l.Flags)
		}
	}
	for m := range master {
		if _, ok := links[m]; !ok {
			t.Errorf("ip: member %s does not exist", m)
		}
	}
}
