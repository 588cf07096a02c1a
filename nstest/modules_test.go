package nstest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestRequireModulesAgreesWithIP checks module detection against iproute2:
// "ip link add ... type KIND" fails with "Unknown device type" exactly when
// RequireModules says the kernel lacks the module, and then RequireModules
// skips with the documented reason.
func TestRequireModulesAgreesWithIP(t *testing.T) {
	cases := []struct {
		module string
		ipArgs []string // after "ip link add"; a veth "p0" exists as a parent
	}{
		{"veth", []string{"v0", "type", "veth", "peer", "name", "v1"}},
		{"dummy", []string{"d0", "type", "dummy"}},
		{"bonding", []string{"b0", "type", "bond", "mode", "802.3ad"}},
		{"8021q", []string{"link", "p0", "name", "p0.5", "type", "vlan", "id", "5"}},
		{"vrf", []string{"vrf0", "type", "vrf", "table", "10"}},
		{"bridge", []string{"br0", "type", "bridge"}},
		{"vxlan", []string{"vx0", "type", "vxlan", "id", "42", "dstport", "4789"}},
		{"macvlan", []string{"link", "p0", "name", "mv0", "type", "macvlan"}},
	}
	n := New(t)
	n.Run(t, "ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1")
	for _, c := range cases {
		t.Run(c.module, func(t *testing.T) {
			_, ipErr := n.Exec("ip", append([]string{"link", "add"}, c.ipArgs...)...)
			if ipErr != nil && !strings.Contains(ipErr.Error(), "Unknown device type") {
				t.Fatalf("oracle inconclusive: %v", ipErr)
			}
			have, err := haveModule(c.module)
			if err != nil {
				t.Fatal(err)
			}
			if have != (ipErr == nil) {
				t.Fatalf("haveModule(%s) = %v, but ip link add: %v", c.module, have, ipErr)
			}
			t.Logf("kernel has %s: %v", c.module, have)
			var sub *testing.T
			t.Run("require", func(t *testing.T) {
				sub = t
				RequireModules(t, c.module)
			})
			if sub.Skipped() == have {
				t.Errorf("RequireModules(%s) skipped=%v, kernel has it=%v", c.module, sub.Skipped(), have)
			}
		})
	}
}

func TestLacksReason(t *testing.T) {
	t.Setenv(KernelTierEnv, "")
	if got, want := lacks("bonding"), "kernel lacks bonding: run with scripts/kerneltest"; got != want {
		t.Errorf("lacks = %q, want %q", got, want)
	}
	t.Setenv(KernelTierEnv, "uml")
	if got := lacks("wireguard"); strings.Contains(got, "run with scripts/kerneltest") {
		t.Errorf("on the kernel tier the reason must not send people to it: %q", got)
	}
}

// recorder is a testing.TB that records Skip and Fatalf and then ends the
// goroutine, as the testing package does.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// record runs fn with a recorder in a goroutine of its own.
func record(t *testing.T, fn func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestRequireFeature(t *testing.T) {
	t.Setenv(KernelTierEnv, "")
	if r := record(t, func(tb testing.TB) { RequireFeature(tb, "bridge vlan_filtering", true) }); r.skipped != "" || r.failed != "" {
		t.Errorf("feature present: skipped %q, failed %q", r.skipped, r.failed)
	}
	r := record(t, func(tb testing.TB) { RequireFeature(tb, "bridge vlan_filtering", false) })
	if want := "kernel lacks bridge vlan_filtering: " + KernelTierHint; r.skipped != want || r.failed != "" {
		t.Errorf("host: skipped %q, failed %q; want a skip %q", r.skipped, r.failed, want)
	}
	t.Setenv(KernelTierEnv, "uml")
	r = record(t, func(tb testing.TB) { RequireFeature(tb, "bridge vlan_filtering", false) })
	if r.skipped != "" || !strings.Contains(r.failed, "the kernel tier lacks bridge vlan_filtering") {
		t.Errorf("kernel tier: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}
}
