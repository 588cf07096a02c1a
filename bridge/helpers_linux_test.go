package bridge_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/bridge"
	"github.com/netprim/netprim/internal/applytest"
	"github.com/netprim/netprim/nstest"
)

// ipLink is what "ip -j -d link show" reports about a bridge or a port.
type ipLink struct {
	Index    int      `json:"ifindex"`
	Name     string   `json:"ifname"`
	Master   string   `json:"master"`
	MTU      int      `json:"mtu"`
	Flags    []string `json:"flags"`
	AltNames []string `json:"altnames"`
	LinkInfo struct {
		Kind      string `json:"info_kind"`
		SlaveKind string `json:"info_slave_kind"`
		Data      struct {
			ForwardDelay  uint32 `json:"forward_delay"`
			HelloTime     uint32 `json:"hello_time"`
			MaxAge        uint32 `json:"max_age"`
			AgeingTime    uint32 `json:"ageing_time"`
			STPState      uint32 `json:"stp_state"`
			Priority      uint16 `json:"priority"`
			VLANFiltering uint8  `json:"vlan_filtering"`
			DefaultPVID   uint16 `json:"vlan_default_pvid"`
			McastSnooping uint8  `json:"mcast_snooping"`
			BridgeID      string `json:"bridge_id"`
			RootID        string `json:"root_id"`
			RootPort      uint16 `json:"root_port"`
			RootPathCost  uint32 `json:"root_path_cost"`
		} `json:"info_data"`
		SlaveData struct {
			State    string `json:"state"`
			Priority uint16 `json:"priority"`
			Cost     uint32 `json:"cost"`
		} `json:"info_slave_data"`
	} `json:"linkinfo"`
}

func (l ipLink) up() bool { return slices.Contains(l.Flags, "UP") }

func ipShow(t *testing.T, n *nstest.NS, name string) ipLink {
	t.Helper()
	var ls []ipLink
	n.IPJSON(t, &ls, "-d", "link", "show", "dev", name)
	if len(ls) != 1 {
		t.Fatalf("ip link show %s: %d links", name, len(ls))
	}
	return ls[0]
}

// normID turns ip's "8000.2:0:0:0:0:1" into bridge.Status's
// "8000.02:00:00:00:00:01".
func normID(s string) string {
	prio, addr, ok := strings.Cut(s, ".")
	if !ok {
		return s
	}
	parts := strings.Split(addr, ":")
	for i, p := range parts {
		if len(p) == 1 {
			parts[i] = "0" + p
		}
	}
	for len(prio) < 4 {
		prio = "0" + prio
	}
	return prio + "." + strings.Join(parts, ":")
}

// bridgeVLANs runs "bridge -j vlan show" in n: port name -> entries.
func bridgeVLANs(t *testing.T, n *nstest.NS) map[string][]bridge.VLAN {
	t.Helper()
	out := n.Run(t, "bridge", "-j", "vlan", "show")
	var ports []struct {
		Name  string `json:"ifname"`
		VLANs []struct {
			VLAN    uint16   `json:"vlan"`
			VLANEnd uint16   `json:"vlanEnd"`
			Flags   []string `json:"flags"`
		} `json:"vlans"`
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		if err := json.Unmarshal(out, &ports); err != nil {
			t.Fatalf("bridge -j vlan show: %v: %s", err, out)
		}
	}
	m := map[string][]bridge.VLAN{}
	for _, p := range ports {
		var vs []bridge.VLAN
		for _, v := range p.VLANs {
			vs = append(vs, bridge.VLAN{VID: v.VLAN, VIDEnd: v.VLANEnd,
				PVID: slices.Contains(v.Flags, "PVID"), Untagged: slices.Contains(v.Flags, "Egress Untagged")})
		}
		m[p.Name] = vs
	}
	return m
}

func ptr[T any](v T) *T { return &v }

func apply(t *testing.T, n *nstest.NS, want []bridge.Spec, opts ...netprim.Option) (netprim.Plan, int64) {
	t.Helper()
	return applytest.Apply(t, n.Namespace, bridge.Apply, want, opts...)
}

// idempotent checks that Plan is empty and a second Apply writes nothing.
func idempotent(t *testing.T, n *nstest.NS, want []bridge.Spec, opts ...netprim.Option) {
	t.Helper()
	applytest.Idempotent(t, n.Namespace, bridge.Plan, bridge.Apply, want, opts...)
}

var (
	filterOnce sync.Once
	filterErr  string
)

// requireVLANFiltering skips unless the kernel's bridge has VLAN
// filtering, probed by creating a filtering bridge in a scratch namespace.
func requireVLANFiltering(t *testing.T) {
	t.Helper()
	filterOnce.Do(func() {
		scratch := nstest.New(t)
		out, err := scratch.Exec("ip", "link", "add", "br0", "type", "bridge", "vlan_filtering", "1")
		if err != nil {
			filterErr = strings.TrimSpace(string(out))
			if filterErr == "" {
				filterErr = err.Error()
			}
		}
	})
	nstest.RequireFeature(t, "bridge vlan_filtering", filterErr == "")
}

// linkEvent is one line of "ip -o monitor link".
type linkEvent struct {
	Name, Master string
	Up, Deleted  bool
	Line         string
}

func parseMonitor(line string) (linkEvent, bool) {
	e := linkEvent{Line: line}
	rest := line
	if r, ok := strings.CutPrefix(rest, "Deleted "); ok {
		e.Deleted, rest = true, r
	}
	f := strings.Fields(rest)
	if len(f) < 3 || !strings.HasSuffix(f[0], ":") {
		return e, false
	}
	e.Name = strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
	flags := strings.Trim(f[2], "<>")
	e.Up = slices.Contains(strings.Split(flags, ","), "UP")
	if i := slices.Index(f, "master"); i >= 0 && i+1 < len(f) {
		e.Master = f[i+1]
	}
	return e, true
}

// watchLinks runs "ip -o monitor link" in n until cancel is called and
// returns the events seen; it returns once the monitor is known to run.
func watchLinks(t *testing.T, n *nstest.NS) (events func() []linkEvent, cancel func()) {
	t.Helper()
	cmd := exec.Command("ip", "-n", n.Name, "-o", "monitor", "link")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []linkEvent
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if e, ok := parseMonitor(sc.Text()); ok {
				mu.Lock()
				seen = append(seen, e)
				mu.Unlock()
			}
		}
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			stop()
		}
	})
	// A change the monitor must report proves it is subscribed.
	mtu := 1400
	nstest.Eventually(t, 10*time.Second, func() error {
		mtu++
		n.Run(t, "ip", "link", "set", "q0", "mtu", strconv.Itoa(mtu))
		mu.Lock()
		defer mu.Unlock()
		for _, e := range seen {
			if e.Name == "q0" {
				return nil
			}
		}
		return errors.New("ip monitor reported nothing yet")
	})
	events = func() []linkEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
	return events, stop
}
