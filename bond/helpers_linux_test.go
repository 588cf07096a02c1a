package bond

import (
	"context"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/netprim/netprim/nstest"
)

// ipLink is a link as "ip -j -d link show" prints it.
type ipLink struct {
	Ifindex   int      `json:"ifindex"`
	Ifname    string   `json:"ifname"`
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
	var writes int64
	p, err := Apply(context.Background(), ns, want, append(opts, netprim.WithWriteCounter(&writes))...)
	if err != nil {
		t.Fatalf("Apply: %v\nplan so far:\n%s", err, p)
	}
	return p, writes
}
