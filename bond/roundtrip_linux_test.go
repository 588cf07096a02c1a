package bond

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netprim/netprim/nstest"
)

func TestRoundTrip(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	for _, rt := range roundTrips {
		t.Run(describe(&rt.spec, func(string) int { return 0 }), func(t *testing.T) {
			n := nstest.New(t)
			dummies(t, n, "d0", "d1")
			want := rt.spec.clone()
			p, _ := mustApply(t, n.Namespace, []Spec{want})
			t.Logf("plan:\n%s", p)

			links := ipLinks(t, n)
			b := links["bond0"]
			if b.Linkinfo.InfoKind != "bond" {
				t.Fatalf("bond0: info_kind %q, want bond", b.Linkinfo.InfoKind)
			}
			for k, v := range rt.ip {
				if got := fmt.Sprint(b.Linkinfo.InfoData[k]); got != v {
					t.Errorf("ip: info_data %s = %s, want %s", k, got, v)
				}
			}
			if want.MTU != 0 && b.MTU != want.MTU {
				t.Errorf("ip: mtu %d, want %d", b.MTU, want.MTU)
			}
			if want.HardwareAddr != "" && b.Address != strings.ToLower(want.HardwareAddr) {
				t.Errorf("ip: address %s, want %s", b.Address, want.HardwareAddr)
			}
			isUp := strings.Contains(strings.Join(b.Flags, ","), "UP")
			if want.Up != nil && isUp != *want.Up {
				t.Errorf("ip: flags %v, want up=%v", b.Flags, *want.Up)
			}
			for _, m := range want.Members {
				if l := links[m]; l.Master != "bond0" || l.Linkinfo.InfoSlaveKind != "bond" {
					t.Errorf("ip: %s master %q slave kind %q, want enslaved to bond0", m, l.Master, l.Linkinfo.InfoSlaveKind)
				}
			}

			// List reads back every managed field.
			st, err := List(context.Background(), n.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 1 {
				t.Fatalf("List: %d bonds, want 1", len(st))
			}
			want.Normalize()
			if d := cmp.Diff(want, managed(st[0].Spec, want), cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("List read back (-want +got):\n%s", d)
			}
			if st[0].OwnedBy != "netprim" {
				t.Errorf("List: ownedBy %q, want netprim", st[0].OwnedBy)
			}

			// Per-member state as ip reports it. The kernel changes it
			// on its own for a while (link monitoring, updelay, the
			// primary taking over): compare List and ip read together,
			// until they agree on a state that stays put between them.
			nstest.Eventually(t, 30*time.Second, func() error {
				links := ipLinks(t, n)
				st, err := List(context.Background(), n.Namespace)
				if err != nil {
					t.Fatal(err)
				}
				if again := ipLinks(t, n); !reflect.DeepEqual(memberData(links), memberData(again)) {
					return fmt.Errorf("member state changing: %v -> %v", memberData(links), memberData(again))
				}
				var diffs []string
				for _, m := range st[0].MemberStatus {
					sd := links[m.Name].Linkinfo.InfoSlaveData
					ipm := map[string]string{"state": strings.ToUpper(m.State), "mii_status": strings.ToUpper(m.MIIStatus),
						"link_failure_count": fmt.Sprint(m.LinkFailures), "perm_hwaddr": m.PermHardwareAddr, "queue_id": fmt.Sprint(m.QueueID)}
					if want.Mode == "802.3ad" {
						if m.AggregatorID == 0 {
							diffs = append(diffs, fmt.Sprintf("List: member %s has no aggregator id", m.Name))
						}
						ipm["ad_aggregator_id"] = fmt.Sprint(m.AggregatorID)
						ipm["ad_actor_oper_port_state"] = fmt.Sprint(m.ActorPortState)
						ipm["ad_partner_oper_port_state"] = fmt.Sprint(m.PartnerPortState)
					}
					for k, v := range ipm {
						if got := fmt.Sprint(sd[k]); got != v {
							diffs = append(diffs, fmt.Sprintf("member %s: List says %s %s, ip says %s", m.Name, k, v, got))
						}
					}
				}
				if len(diffs) > 0 {
					slices.Sort(diffs)
					return errors.New(strings.Join(diffs, "; "))
				}
				return nil
			})

			// What List reads back is a valid Spec that Apply leaves as is.
			if p, writes := mustApply(t, n.Namespace, []Spec{st[0].Spec}); writes != 0 {
				t.Errorf("Apply of the read-back spec %+v: %d writes:\n%s", st[0].Spec, writes, p)
			}

			// Idempotency: a second Apply sends nothing, Plan is empty.
			if p, writes := mustApply(t, n.Namespace, []Spec{rt.spec}); writes != 0 || len(p.Changes) != 0 {
				t.Errorf("second Apply: %d writes, plan:\n%s", writes, p)
			}
			if p, err := Plan(context.Background(), n.Namespace, []Spec{rt.spec}); err != nil || len(p.Changes) != 0 {
				t.Errorf("Plan after Apply: %v\n%s", err, p)
			}
		})
	}
}

// memberData returns the bond member data ip reports, by link.
func memberData(links map[string]ipLink) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, l := range links {
		if l.Linkinfo.InfoSlaveKind == "bond" {
			out[name] = l.Linkinfo.InfoSlaveData
		}
	}
	return out
}
