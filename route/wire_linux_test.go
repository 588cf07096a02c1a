package route

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim/internal/nl"
)

func attr(typ uint16, val ...[]byte) []byte {
	var v []byte
	for _, p := range val {
		v = append(v, p...)
	}
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func rtnh(flags, hops uint8, ifindex uint32, attrs ...[]byte) []byte {
	var a []byte
	for _, p := range attrs {
		a = append(a, p...)
	}
	b := binary.NativeEndian.AppendUint16(nil, uint16(unix.SizeofRtNexthop+len(a)))
	b = append(b, flags, hops)
	b = binary.NativeEndian.AppendUint32(b, ifindex)
	return append(b, a...)
}

// multipathMessage is an RTM_NEWROUTE payload as the kernel sends it for
// 10.0.0.0/8 mtu 1400 nexthop via 192.0.2.1 dev eth0 weight 2 onlink
// nexthop via inet6 fe80::1 dev eth0, table 100, proto 78.
func multipathMessage() []byte {
	m := []byte{unix.AF_INET, 8, 0, 0, 100, 78, 0, unix.RTN_UNICAST, 0, 0, 0, 0}
	via := append([]byte{0, 0}, addr("fe80::1").AsSlice()...)
	binary.NativeEndian.PutUint16(via, unix.AF_INET6)
	m = append(m, attr(unix.RTA_TABLE, u32(100))...)
	m = append(m, attr(unix.RTA_DST, []byte{10, 0, 0, 0})...)
	m = append(m, attr(unix.RTA_METRICS, attr(unix.RTAX_MTU, u32(1400)))...)
	m = append(m, attr(unix.RTA_MULTIPATH,
		rtnh(unix.RTNH_F_ONLINK, 1, 2, attr(unix.RTA_GATEWAY, []byte{192, 0, 2, 1})),
		rtnh(unix.RTNH_F_LINKDOWN, 0, 2, attr(unix.RTA_VIA, via)))...)
	return m
}

func TestParseRoute(t *testing.T) {
	l := links{byIndex: map[int32]string{2: "eth0"}}
	var st Status
	if ok, opaque := parseRoute(multipathMessage(), l.name, &st); !ok || opaque {
		t.Fatalf("parseRoute: ok %v opaque %v", ok, opaque)
	}
	want := Status{
		Spec: Spec{Destination: pfx("10.0.0.0/8"), Table: 100, Scope: ScopeGlobal, Type: TypeUnicast, MTU: 1400,
			NextHops: []NextHop{{Gateway: addr("192.0.2.1"), Link: "eth0", Weight: 2, OnLink: true}, {Gateway: addr("fe80::1"), Link: "eth0", Weight: 1}}},
		Family: FamilyIPv4, Protocol: 78, Flags: FlagLinkDown,
	}
	if d := cmp.Diff(want, st, cmpIP); d != "" {
		t.Errorf("parseRoute (-want +got):\n%s", d)
	}
	cloned := multipathMessage()
	binary.NativeEndian.PutUint32(cloned[8:], unix.RTM_F_CLONED)
	if ok, _ := parseRoute(cloned, l.name, &Status{}); ok {
		t.Error("a cloned route was not skipped")
	}
}

// FuzzParse feeds arbitrary bytes to the route and rule message decoders:
// they must never panic, whatever the kernel (or a bug) sends.
func FuzzParse(f *testing.F) {
	f.Add(multipathMessage())
	rule := []byte{unix.AF_INET6, 0, 48, 0, 100, 0, 0, 1, 2, 0, 0, 0}
	rule = append(rule, attr(unix.FRA_PRIORITY, u32(5))...)
	rule = append(rule, attr(unix.FRA_SRC, addr("2001:db8::").AsSlice())...)
	rule = append(rule, attr(unix.FRA_IIFNAME, []byte("eth0\x00"))...)
	rule = append(rule, attr(unix.FRA_SUPPRESS_PREFIXLEN, u32(0))...)
	rule = append(rule, attr(unix.FRA_PROTOCOL, []byte{78})...)
	f.Add(rule)
	f.Add([]byte{})
	l := links{byIndex: map[int32]string{2: "eth0"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st Status
		parseRoute(data, l.name, &st)
		_ = st.String()
		var rs RuleStatus
		parseRule(data, &rs)
		_ = rs.String()
	})
}

// TestVanished: which delete failures mean "already gone".
func TestVanished(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&nl.KernelError{Errno: unix.ESRCH}, true},  // route
		{&nl.KernelError{Errno: unix.ENOENT}, true}, // rule
		{fmt.Errorf("%w: %w", nl.ErrUnknownResult, unix.ESRCH), false},
		{&nl.KernelError{Errno: unix.EEXIST}, false},
		{&nl.KernelError{Errno: unix.EPERM}, false},
		{&nl.KernelError{Errno: unix.EINVAL, Message: "Invalid prefix for given prefix length"}, false},
	} {
		if got := vanished(tc.err); got != tc.want {
			t.Errorf("vanished(%v) = %v", tc.err, got)
		}
	}
}
