package selector

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
)

// TestVethInNamespace lists a veth pair in a fresh namespace with
// link.List and checks what selectors see, against ip(8) and ethtool(8).
func TestVethInNamespace(t *testing.T) {
	n := nstest.New(t)
	nstest.Veth(t, n, "va", n, "vb")

	// The kernel's view, through tools written elsewhere.
	var ipLinks []struct {
		Name     string `json:"ifname"`
		LinkInfo struct {
			Kind string `json:"info_kind"`
		} `json:"linkinfo"`
	}
	n.IPJSON(t, &ipLinks, "-d", "link", "show", "dev", "va")
	if len(ipLinks) != 1 || ipLinks[0].LinkInfo.Kind != "veth" {
		t.Fatalf("ip -d link show va: %+v, want kind veth", ipLinks)
	}
	if out, err := n.Exec("ethtool", "-i", "va"); err == nil {
		info := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				info[k] = strings.TrimSpace(v)
			}
		}
		if info["driver"] != "veth" || info["bus-info"] != "" {
			t.Errorf("ethtool -i va: driver %q bus-info %q, want veth and none", info["driver"], info["bus-info"])
		}
	} else {
		t.Logf("ethtool -i not checked: %v", err)
	}

	links, err := link.List(context.Background(), n.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	var va link.Status
	for _, l := range links {
		if l.Name == "va" {
			va = l
		}
	}
	if va.Name == "" {
		t.Fatalf("va not listed: %+v", links)
	}
	if va.Driver != "veth" || va.BusInfo != "" || va.PCIID != "" {
		t.Errorf("va: driver %q bus %q pciID %q, want veth and no bus", va.Driver, va.BusInfo, va.PCIID)
	}
	if IsPhysical(va) {
		t.Errorf("IsPhysical(va) = true (%s)", physicalReason(va))
	}

	yes, no := true, false
	got, err := Selector{Driver: "veth"}.Match(links)
	if err != nil || len(got) != 2 || got[0].Name != "va" && got[1].Name != "va" {
		t.Errorf("driver veth: %v %v, want va and vb", names(got), err)
	}
	if _, err := (Selector{Driver: "veth"}).MatchOne(links); !errors.Is(err, ErrAmbiguous) ||
		!strings.Contains(err.Error(), "va") || !strings.Contains(err.Error(), "vb") {
		t.Errorf("MatchOne(driver veth) = %v, want ambiguous naming va and vb", err)
	}
	one, err := Selector{Driver: "veth", HardwareAddr: va.HardwareAddr}.MatchOne(links)
	if err != nil || one.Name != "va" {
		t.Errorf("MatchOne(driver veth, address of va) = %s, %v", one.Name, err)
	}
	found, err := Find(context.Background(), n.Namespace, Selector{Driver: "veth", HardwareAddr: strings.ToUpper(va.HardwareAddr)})
	if err != nil || found.Name != "va" || found.Index != va.Index {
		t.Errorf("Find(driver veth, address of va in upper case) = %s, %v", found.Name, err)
	}
	if _, err := Find(context.Background(), n.Namespace, Selector{BusPath: "0*"}); !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("Find(busPath 0*) = %v, want ErrNotFound", err)
	}
	if _, err := (Selector{BusPath: "0*"}).MatchOne(links); !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("MatchOne(busPath 0*) = %v, want ErrNotFound", err)
	}
	if got, _ := (Selector{Physical: &yes}).Match(links); len(got) != 0 {
		t.Errorf("physical: true matched %v in a namespace with only lo and a veth pair", names(got))
	}
	if got, _ := (Selector{Physical: &no, Driver: "veth"}).Match(links); len(got) != 2 {
		t.Errorf("physical: false, driver veth matched %v", names(got))
	}
	for _, e := range (Selector{Driver: "e1000e"}).Explain(links) {
		if e.Link == "va" && (e.Matched || e.Fields[0].Reason != "driver veth != e1000e") {
			t.Errorf("Explain: %s", e)
		}
	}
}
