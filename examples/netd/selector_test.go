//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// TestSelectorHardwareAddr runs netd on a configuration that picks its
// NIC by deviceSelector.hardwareAddr, with a static address and DHCP: of
// two veths with set MAC addresses the selected one gets the address and
// the lease from dnsmasq behind it; the other gets nothing.
func TestSelectorHardwareAddr(t *testing.T) {
	needRoot(t)
	node, srv, other := nstest.New(t), nstest.New(t), nstest.New(t)
	nstest.Veth(t, node, "ens5", srv, "srv0")
	nstest.Veth(t, node, "ens6", other, "eth0")
	node.Run(t, "ip", "link", "set", "ens5", "address", "02:5e:1e:c7:00:01")
	node.Run(t, "ip", "link", "set", "ens6", "address", "02:5e:1e:c7:00:02")
	srv.Run(t, "ip", "addr", "add", "192.168.7.1/24", "dev", "srv0")
	startDnsmasq(t, srv, "srv0", "--dhcp-range=192.168.7.100,192.168.7.150,255.255.255.0,2m",
		"--dhcp-option=option:router,192.168.7.1")
	cfg := writeConfig(t, `version: v1alpha1
machine:
  network:
    interfaces:
      - deviceSelector:
          hardwareAddr: "02:5E:1E:C7:00:01"
        addresses:
          - 10.50.0.10/24
        dhcp: true
`)
	p := startNetd(t, "--netns", node.Name, "--root", t.TempDir(), "-f", cfg)
	leased := leasedAddr(t, p.waitLine("dhcp ens5: bound", 30*time.Second))
	nstest.Eventually(t, 10*time.Second, func() error {
		as := globalAddrs(t, node, "ens5")
		for _, a := range []string{"10.50.0.10", leased} {
			if _, ok := findAddr(as, a); !ok {
				return fmt.Errorf("%s not on ens5: %v", a, as)
			}
		}
		if r := gatewayRoutes(t, node, "ens5"); !slices.Contains(r, "0.0.0.0/0 via 192.168.7.1") {
			return fmt.Errorf("no default route via the lease's router on ens5: %q", r)
		}
		return nil
	})
	if as := globalAddrs(t, node, "ens6"); len(as) != 0 {
		t.Errorf("ens6, which the selector does not pick, got addresses: %v", as)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit status %d\n%s", code, p.stderr())
	}
}

// TestSelectorBusPathDryRun runs netd --dry-run on the machine's own
// namespace (read-only: nothing is applied) with testdata/selector.yaml,
// whose only interface is "deviceSelector: {busPath: "0*"}" with DHCP, an
// MTU and a shared IP: on a machine with exactly one network device on PCI
// the plan and the DHCP and shared-IP lines name that device; on any other
// machine netd refuses the selector, naming it, and exits 1. The device
// is found with ip(8): "ip -j -d link" reports a PCI NIC with parentbus
// pci and its PCI address; a paravirtual NIC (virtio_net) with parentbus
// virtio sits on the PCI device that ethtool(8) reports as its bus-info.
func TestSelectorBusPathDryRun(t *testing.T) {
	nic, why := onlyPCINIC(t)
	if nic == "" {
		// Not exactly one device on PCI: the selector must be refused,
		// naming itself, and nothing changes.
		t.Log(why)
		p := startNetd(t, "--dry-run", "--root", t.TempDir(), "-f", "testdata/selector.yaml")
		if code := p.wait(30 * time.Second); code != 1 {
			t.Fatalf("--dry-run with a busPath selector that cannot pick one device: exit status %d, want 1\n%s", code, p.stdout())
		}
		if !strings.Contains(p.stderr(), "deviceSelector: selector busPath=0*: ") {
			t.Fatalf("the error does not name the selector:\n%s", p.stderr())
		}
		return
	}
	t.Logf("the machine's one network device on PCI: %s", nic)
	before := hostLinkFacts(t, nic)
	p := startNetd(t, "--dry-run", "--root", t.TempDir(), "-f", "testdata/selector.yaml")
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("--dry-run: exit status %d\n%s", code, p.stderr())
	}
	out := p.stdout()
	for _, want := range []string{
		"dhcp " + nic + ": a client would run (DHCPv4)",
		"vip 192.168.0.15: would stand for election on " + nic,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(before, "mtu 9000 ") && !regexp.MustCompile(`(?m)^[~+] link `+regexp.QuoteMeta(nic)+` .*\b9000$`).MatchString(out) {
		t.Errorf("--dry-run plans no MTU 9000 for %s (%s):\n%s", nic, before, out)
	}
	if after := hostLinkFacts(t, nic); after != before {
		t.Errorf("--dry-run changed %s:\nbefore: %s\nafter:  %s", nic, before, after)
	}
}

// onlyPCINIC returns the name of the machine's one network device on PCI
// as ip(8) and ethtool(8) report it, or "" and why there is not exactly
// one.
func onlyPCINIC(t testing.TB) (string, string) {
	t.Helper()
	out, err := exec.Command("ip", "-j", "-d", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip -j -d link show: %v", err)
	}
	var links []struct {
		Name      string `json:"ifname"`
		ParentBus string `json:"parentbus"`
		ParentDev string `json:"parentdev"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatalf("ip -j -d link show: %v", err)
	}
	pciAddr := regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)
	var onPCI, other []string
	for _, l := range links {
		switch l.ParentBus {
		case "":
			continue
		case "pci":
			onPCI = append(onPCI, fmt.Sprintf("%s (pci %s)", l.Name, l.ParentDev))
			continue
		case "virtio":
			if bus := ethtoolBusInfo(l.Name); pciAddr.MatchString(bus) {
				onPCI = append(onPCI, fmt.Sprintf("%s (virtio on pci %s)", l.Name, bus))
				continue
			}
		}
		other = append(other, fmt.Sprintf("%s (%s %s)", l.Name, l.ParentBus, l.ParentDev))
	}
	if len(onPCI) != 1 {
		return "", fmt.Sprintf("busPath \"0*\" picks the only network device on PCI, and ip -j -d link (with ethtool -i for virtio NICs) shows %d on this machine: %v (devices on other buses: %v)", len(onPCI), onPCI, other)
	}
	return strings.Fields(onPCI[0])[0], ""
}

// ethtoolBusInfo is the bus-info "ethtool -i" reports for dev in the
// test's namespace; "" when ethtool is missing or fails.
func ethtoolBusInfo(dev string) string {
	out, err := exec.Command("ethtool", "-i", dev).Output()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "bus-info: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// hostLinkFacts is the MTU, state and addresses (without lifetimes, which
// count down) of dev in the test's namespace, as ip(8) reports them.
func hostLinkFacts(t testing.TB, dev string) string {
	t.Helper()
	out, err := exec.Command("ip", "-j", "addr", "show", "dev", dev).Output()
	if err != nil {
		t.Fatalf("ip -j addr show dev %s: %v", dev, err)
	}
	var links []struct {
		MTU      int      `json:"mtu"`
		Flags    []string `json:"flags"`
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j addr show dev %s: %v %s", dev, err, out)
	}
	var as []string
	for _, a := range links[0].AddrInfo {
		as = append(as, fmt.Sprintf("%s/%d", a.Local, a.Prefixlen))
	}
	slices.Sort(as)
	return fmt.Sprintf("mtu %d flags %v addresses %v", links[0].MTU, links[0].Flags, as)
}
