package bond

import (
	"net/netip"
	"reflect"
	"testing"
)

// roundTrips are bonds of every mode that together set every Spec field,
// with what "ip -j -d link show" must print for them (info_data keys).
var roundTrips = []struct {
	spec Spec
	ip   map[string]string
}{
	{
		spec: Spec{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, MTU: 1400, Up: ptr(true),
			HardwareAddr: "02:00:00:00:00:AA", Miimon: 100, UpDelay: 200, DownDelay: 300, PeerNotifDelay: 100,
			UseCarrier: ptr(false), Primary: "d1", PrimaryReselect: "better", FailOverMac: "follow",
			NumPeerNotif: 3, ResendIGMP: 4, AllSlavesActive: ptr(true)},
		ip: map[string]string{"mode": "active-backup", "miimon": "100", "updelay": "200", "downdelay": "300",
			"peer_notify_delay": "100", "use_carrier": "0", "primary": "d1", "primary_reselect": "better",
			"fail_over_mac": "follow", "num_peer_notif": "3", "resend_igmp": "4", "all_slaves_active": "1"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "active-backup", Members: []string{"d0", "d1"}, ARPInterval: 250,
			ARPIPTargets: mustAddrs("192.0.2.1", "192.0.2.2"), NSIP6Targets: mustAddrs("2001:db8::1"),
			ARPValidate: "all", ARPAllTargets: "all", MissedMax: 5},
		ip: map[string]string{"mode": "active-backup", "arp_interval": "250", "arp_ip_target": "[192.0.2.1 192.0.2.2]",
			"ns_ip6_target": "[2001:db8::1]", "arp_validate": "all", "arp_all_targets": "all", "arp_missed_max": "5"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "balance-rr", Members: []string{"d0", "d1"}, Miimon: 50, PacketsPerSlave: 7},
		ip:   map[string]string{"mode": "balance-rr", "miimon": "50", "packets_per_slave": "7"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "balance-xor", Members: []string{"d0", "d1"}, XmitHashPolicy: "layer2+3"},
		ip:   map[string]string{"mode": "balance-xor", "xmit_hash_policy": "layer2+3"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "broadcast", Members: []string{"d0"}, Up: ptr(false)},
		ip:   map[string]string{"mode": "broadcast"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "802.3ad", Members: []string{"d0", "d1"}, Up: ptr(true), Miimon: 100,
			LACPRate: "fast", ADSelect: "bandwidth", ADActorSysPrio: 100, ADUserPortKey: 5,
			ADActorSystem: "02:11:22:33:44:55", MinLinks: 1, XmitHashPolicy: "layer3+4", ADLACPActive: ptr(false)},
		ip: map[string]string{"mode": "802.3ad", "miimon": "100", "ad_lacp_rate": "fast", "ad_select": "bandwidth",
			"ad_actor_sys_prio": "100", "ad_user_port_key": "5", "ad_actor_system": "02:11:22:33:44:55",
			"min_links": "1", "xmit_hash_policy": "layer3+4", "ad_lacp_active": "off"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "balance-tlb", Members: []string{"d0", "d1"}, TLBDynamicLB: ptr(false),
			LPInterval: 3, XmitHashPolicy: "encap3+4"},
		ip: map[string]string{"mode": "balance-tlb", "tlb_dynamic_lb": "0", "lp_interval": "3", "xmit_hash_policy": "encap3+4"},
	},
	{
		spec: Spec{Name: "bond0", Mode: "balance-alb", Members: []string{"d0", "d1"}, Up: ptr(true), LPInterval: 2, Primary: "d0"},
		ip:   map[string]string{"mode": "balance-alb", "lp_interval": "2", "primary": "d0"},
	},
}

// TestRoundTripCoversEverything checks that roundTrips sets every Spec
// field and uses every mode. MemberSelectors is not a kernel attribute
// (Plan and Apply resolve it into members): TestMemberSelectors covers it.
func TestRoundTripCoversEverything(t *testing.T) {
	set := map[string]bool{"MemberSelectors": true}
	modes := map[string]bool{}
	for _, rt := range roundTrips {
		s := rt.spec.clone()
		s.Normalize()
		v := reflect.ValueOf(s)
		for i := 0; i < v.NumField(); i++ {
			if !v.Field(i).IsZero() {
				set[v.Type().Field(i).Name] = true
			}
		}
		modes[s.Mode] = true
	}
	for i := 0; i < reflect.TypeOf(Spec{}).NumField(); i++ {
		if f := reflect.TypeOf(Spec{}).Field(i).Name; !set[f] {
			t.Errorf("no round trip sets Spec.%s", f)
		}
	}
	for _, m := range Modes {
		if !modes[m] {
			t.Errorf("no round trip uses mode %s", m)
		}
	}
}

// managed returns got with only the fields that want sets.
func managed(got, want Spec) Spec {
	var out Spec
	gv, wv, ov := reflect.ValueOf(got), reflect.ValueOf(want), reflect.ValueOf(&out).Elem()
	for i := 0; i < gv.NumField(); i++ {
		if !wv.Field(i).IsZero() {
			ov.Field(i).Set(gv.Field(i))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func mustAddrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}
