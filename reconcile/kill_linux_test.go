package reconcile_test

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/firewall"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/reconcile"
	"github.com/netprim/netprim/route"
)

// killChildEnv names the namespace a re-executed test binary applies
// killState to, until it is killed.
const killChildEnv = "RECONCILE_KILL_CHILD_NETNS"

// killState is big enough that a pass takes a while: 40 veth pairs, 400
// addresses, 2,000 routes and a firewall.
func killState() reconcile.State {
	var st reconcile.State
	for i := range 40 {
		a, b := fmt.Sprintf("ka%d", i), fmt.Sprintf("kb%d", i)
		st.Links = append(st.Links, reconcile.Link{Spec: link.Spec{Name: a, Kind: "veth", Veth: &link.Veth{Peer: b}, MTU: 1400, Up: up()}},
			reconcile.Link{Spec: link.Spec{Name: b, MTU: 1400, Up: up()}})
		for j := range 10 {
			st.Addresses = append(st.Addresses, addr.Spec{Link: a, Address: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(j), 1}), 24)})
		}
	}
	for i := range 2000 {
		st.Routes = append(st.Routes, route.Spec{
			Destination: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16 + byte(i>>8), byte(i), 0}), 24),
			Gateway:     netip.AddrFrom4([4]byte{10, byte(i % 40), 0, 2}),
		})
	}
	fw := &firewall.Spec{Table: "kill", DefaultAction: firewall.DefaultAccept}
	for i := range 500 {
		fw.Rules = append(fw.Rules, firewall.Rule{Name: fmt.Sprintf("r%d", i), Protocol: "tcp", Ports: []string{fmt.Sprint(2000 + i)}, Action: firewall.Drop})
	}
	st.Firewall = fw
	return st
}

// killChild applies killState in the namespace at path, saying "start"
// first, then waits to be killed.
func killChild(path string) {
	ns, err := netprim.OpenNamespacePath(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	r, err := reconcile.New(ns)
	if err == nil {
		var s *reconcile.Source
		if s, err = r.AddSource("static", 10); err == nil {
			err = s.Set(killState())
		}
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("start")
	_, err = r.Apply(context.Background())
	fmt.Println("done", err)
	time.Sleep(time.Hour)
	os.Exit(0)
}

// TestKillMidPass kills (SIGKILL) a process in the middle of a pass at
// several points, then lets a new Reconciler with the same desired state
// converge: no error, a second pass changes nothing, and ip(8) and nft(8)
// show exactly the desired objects of the owner, nothing orphaned.
func TestKillMidPass(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a process several times: not in -short")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := killState()
	for _, delay := range []time.Duration{2 * time.Millisecond, 15 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 150 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			n := nstest.New(t)
			requireNftInet(t, n)
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), killChildEnv+"="+n.Path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			lines := bufio.NewScanner(out)
			if !lines.Scan() || lines.Text() != "start" {
				t.Fatalf("child: %q %v", lines.Text(), lines.Err())
			}
			time.Sleep(delay)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			finished := lines.Scan() && strings.HasPrefix(lines.Text(), "done")
			t.Logf("killed after %v; pass finished before: %v", delay, finished)

			r := newReconciler(t, n)
			s := addSource(t, r, "static", 10)
			must(t, s.Set(want))
			if _, err := r.Apply(context.Background()); err != nil {
				t.Fatalf("converging after the kill: %v", err)
			}
			if p, err := r.Apply(context.Background()); err != nil || !p.Empty() {
				t.Fatalf("second pass: %v, %v", p, err)
			}
			checkKillState(t, n, want)
		})
	}
}

// checkKillState compares the namespace with want through ip(8) and nft(8).
func checkKillState(t *testing.T, n *nstest.NS, want reconcile.State) {
	t.Helper()
	var links []struct {
		Ifname string `json:"ifname"`
		MTU    int    `json:"mtu"`
	}
	n.IPJSON(t, &links, "link", "show")
	var names, wantNames []string
	for _, l := range links {
		if l.Ifname != "lo" {
			names = append(names, l.Ifname)
			if l.MTU != 1400 {
				t.Errorf("%s mtu %d", l.Ifname, l.MTU)
			}
		}
	}
	for _, l := range want.Links {
		wantNames = append(wantNames, l.Name)
	}
	slices.Sort(names)
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("links %v, want %v", names, wantNames)
	}
	var addrs []struct {
		AddrInfo []struct {
			Scope string `json:"scope"`
		} `json:"addr_info"`
	}
	n.IPJSON(t, &addrs, "-4", "addr", "show")
	count := 0
	for _, l := range addrs {
		for _, a := range l.AddrInfo {
			if a.Scope == "global" {
				count++
			}
		}
	}
	if count != len(want.Addresses) {
		t.Errorf("%d global IPv4 addresses, want %d", count, len(want.Addresses))
	}
	var routes []struct{ Dst string }
	n.IPJSON(t, &routes, "route", "show", "proto", "78")
	if len(routes) != len(want.Routes) {
		t.Errorf("%d routes of the owner, want %d", len(routes), len(want.Routes))
	}
	nft := string(n.Run(t, "nft", "-j", "list", "table", "inet", "kill"))
	if got := strings.Count(nft, `"rule"`); got < len(want.Firewall.Rules) {
		t.Errorf("nft lists %d rules in table inet kill, want at least %d", got, len(want.Firewall.Rules))
	}
}
