package route

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRenderRouteMessage checks the Object of route events: the route
// message decoded by parseRoute, named by Status.String.
func TestRenderRouteMessage(t *testing.T) {
	rtm := func(fam, dstLen, srcLen, table, proto, scope, typ uint8, flags uint32, attrs ...[]byte) []byte {
		m := []byte{fam, dstLen, srcLen, 0, table, proto, scope, typ, 0, 0, 0, 0}
		binary.NativeEndian.PutUint32(m[8:], flags)
		for _, a := range attrs {
			m = append(m, a...)
		}
		return m
	}
	a4 := func(s string) []byte { return addr(s).AsSlice() }
	via := append(binary.NativeEndian.AppendUint16(nil, unix.AF_INET6), a4("fe80::1")...)
	names := map[int32]string{2: "veth0", 3: "veth1"}
	name := func(i int32) string { return names[i] }
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" when the message is skipped
	}{
		{"gateway, table, owner's protocol", rtm(unix.AF_INET, 24, 0, unix.RT_TABLE_UNSPEC, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0,
			attr(unix.RTA_TABLE, u32(100)), attr(unix.RTA_DST, a4("198.51.100.0")), attr(unix.RTA_GATEWAY, a4("192.0.2.1")), attr(unix.RTA_OIF, u32(2))),
			"198.51.100.0/24 via 192.0.2.1 dev veth0 table 100"},
		{"another protocol, metric", rtm(unix.AF_INET, 24, 0, unix.RT_TABLE_MAIN, 4, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0,
			attr(unix.RTA_DST, a4("198.51.100.0")), attr(unix.RTA_GATEWAY, a4("192.0.2.1")), attr(unix.RTA_OIF, u32(2)), attr(unix.RTA_PRIORITY, u32(100))),
			"198.51.100.0/24 via 192.0.2.1 dev veth0 metric 100"},
		{"default route", rtm(unix.AF_INET, 0, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0,
			attr(unix.RTA_GATEWAY, a4("192.0.2.1")), attr(unix.RTA_OIF, u32(2))),
			"0.0.0.0/0 via 192.0.2.1 dev veth0"},
		{"IPv6 blackhole", rtm(unix.AF_INET6, 48, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_BLACKHOLE, 0,
			attr(unix.RTA_DST, a4("2001:db8::")), attr(unix.RTA_PRIORITY, u32(1024)), attr(unix.RTA_OIF, u32(1))),
			"blackhole 2001:db8::/48 metric 1024"},
		{"IPv4 via IPv6", rtm(unix.AF_INET, 24, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0,
			attr(unix.RTA_DST, a4("198.51.100.0")), attr(unix.RTA_VIA, via), attr(unix.RTA_OIF, u32(2))),
			"198.51.100.0/24 via inet6 fe80::1 dev veth0"},
		{"multipath", rtm(unix.AF_INET, 24, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0,
			attr(unix.RTA_DST, a4("198.51.100.0")),
			attr(unix.RTA_MULTIPATH, rtnh(0, 0, 2, attr(unix.RTA_GATEWAY, a4("192.0.2.1"))), rtnh(0, 4, 3, attr(unix.RTA_GATEWAY, a4("192.0.2.2"))))),
			"198.51.100.0/24 nexthop via 192.0.2.1 dev veth0 weight 1 nexthop via 192.0.2.2 dev veth1 weight 5"},
		{"source prefix", rtm(unix.AF_INET6, 64, 56, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0,
			attr(unix.RTA_DST, a4("2001:db8:1::")), attr(unix.RTA_SRC, a4("2001:db8:2::")), attr(unix.RTA_OIF, u32(2))),
			"2001:db8:1::/64 from 2001:db8:2::/56 dev veth0"},
		{"scope, source, mtu, onlink", rtm(unix.AF_INET, 24, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, unix.RTNH_F_ONLINK,
			attr(unix.RTA_DST, a4("198.51.100.0")), attr(unix.RTA_GATEWAY, a4("192.0.2.1")), attr(unix.RTA_OIF, u32(2)),
			attr(unix.RTA_PRIORITY, u32(5)), attr(unix.RTA_PREFSRC, a4("192.0.2.10")), attr(unix.RTA_METRICS, attr(unix.RTAX_MTU, u32(1400)))),
			"198.51.100.0/24 via 192.0.2.1 dev veth0 scope link metric 5 src 192.0.2.10 mtu 1400 onlink"},
		{"the kernel's local route", rtm(unix.AF_INET, 32, 0, unix.RT_TABLE_LOCAL, unix.RTPROT_KERNEL, unix.RT_SCOPE_HOST, unix.RTN_LOCAL, 0,
			attr(unix.RTA_TABLE, u32(unix.RT_TABLE_LOCAL)), attr(unix.RTA_PREFSRC, a4("192.0.2.10")), attr(unix.RTA_DST, a4("192.0.2.10")), attr(unix.RTA_OIF, u32(2))),
			"local 192.0.2.10/32 dev veth0 table local proto kernel scope host src 192.0.2.10"},
		{"the kernel's prefix route", rtm(unix.AF_INET, 24, 0, unix.RT_TABLE_MAIN, unix.RTPROT_KERNEL, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0,
			attr(unix.RTA_DST, a4("192.0.2.0")), attr(unix.RTA_PREFSRC, a4("192.0.2.10")), attr(unix.RTA_OIF, u32(2))),
			"192.0.2.0/24 dev veth0 proto kernel scope link src 192.0.2.10"},
		{"cloned: skipped", rtm(unix.AF_INET6, 128, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, unix.RTM_F_CLONED,
			attr(unix.RTA_DST, a4("2001:db8::1"))), ""},
		{"other family: skipped", rtm(unix.AF_BRIDGE, 0, 0, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0), ""},
		{"short: skipped", []byte{unix.AF_INET, 24}, ""},
	} {
		got, ok := renderRoute(tc.data, name)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// TestRenderRuleMessage checks the Object of rule events: the rule message
// decoded by parseRule, named by RuleStatus.String.
func TestRenderRuleMessage(t *testing.T) {
	hdr := func(fam, dstLen, srcLen, table, act uint8, flags uint32, attrs ...[]byte) []byte {
		m := []byte{fam, dstLen, srcLen, 0, table, 0, 0, act, 0, 0, 0, 0}
		binary.NativeEndian.PutUint32(m[8:], flags)
		for _, a := range attrs {
			m = append(m, a...)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"fwmark and mask, owner's protocol", hdr(unix.AF_INET, 0, 0, 180, unix.FR_ACT_TO_TBL, 0,
			attr(unix.FRA_TABLE, u32(180)), attr(unix.FRA_PRIORITY, u32(100)), attr(unix.FRA_FWMARK, u32(0x40)), attr(unix.FRA_FWMASK, u32(0x60)),
			attr(unix.FRA_SUPPRESS_PREFIXLEN, u32(0xffffffff)), attr(unix.FRA_PROTOCOL, []byte{78})),
			"100: from all fwmark 0x40/0x60 lookup 180"},
		{"full mask, from, iif", hdr(unix.AF_INET, 0, 24, unix.RT_TABLE_MAIN, unix.FR_ACT_TO_TBL, 0,
			attr(unix.FRA_PRIORITY, u32(200)), attr(unix.FRA_SRC, addr("192.0.2.0").AsSlice()), attr(unix.FRA_IIFNAME, []byte("veth0\x00")),
			attr(unix.FRA_FWMARK, u32(1)), attr(unix.FRA_FWMASK, u32(0xffffffff))),
			"200: from 192.0.2.0/24 fwmark 0x1 iif veth0 lookup main"},
		{"the kernel's IPv6 rule", hdr(unix.AF_INET6, 0, 0, unix.RT_TABLE_MAIN, unix.FR_ACT_TO_TBL, 0,
			attr(unix.FRA_PRIORITY, u32(32766)), attr(unix.FRA_PROTOCOL, []byte{unix.RTPROT_KERNEL})),
			"32766: from all lookup main proto kernel family inet6"},
		{"not, to, oif, blackhole", hdr(unix.AF_INET6, 64, 0, 0, unix.FR_ACT_BLACKHOLE, unix.FIB_RULE_INVERT,
			attr(unix.FRA_PRIORITY, u32(5)), attr(unix.FRA_DST, addr("2001:db8::").AsSlice()), attr(unix.FRA_OIFNAME, []byte("wg0\x00"))),
			"5: not from all to 2001:db8::/64 oif wg0 blackhole"},
		{"short: skipped", []byte{unix.AF_INET}, ""},
	} {
		got, ok := renderRule(tc.data, nil)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}
