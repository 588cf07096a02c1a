package nl

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// watchMsg builds one message with the Batch encoder and returns its
// payload (what the decoders see).
func watchMsg(typ uint16, fixed []byte, attrs func(b *Batch)) []byte {
	var b Batch
	b.Begin(typ, 0)
	b.Fixed(fixed)
	if attrs != nil {
		attrs(&b)
	}
	b.End()
	return b.msg(0)[hdrLen:]
}

func watchNames(i int32) string {
	return map[int32]string{0: "", 2: "veth0", 3: "veth1"}[i]
}

func TestWatchDecodeLink(t *testing.T) {
	fixed := make([]byte, ifinfomsgLen)
	fixed[0] = unix.AF_BRIDGE
	binary.NativeEndian.PutUint32(fixed[4:], 7)
	binary.NativeEndian.PutUint32(fixed[8:], unix.IFF_UP|unix.IFF_BROADCAST)
	data := watchMsg(unix.RTM_NEWLINK, fixed, func(b *Batch) {
		b.AttrU32(unix.IFLA_MTU, 1500)
		b.AttrString(unix.IFLA_IFNAME, "veth0")
	})
	got, ok := decodeLink(data)
	if !ok {
		t.Fatal("decodeLink failed")
	}
	want := linkMsg{family: unix.AF_BRIDGE, index: 7, flags: unix.IFF_UP | unix.IFF_BROADCAST, name: "veth0"}
	if got != want {
		t.Fatalf("decodeLink = %+v, want %+v", got, want)
	}
	if _, ok := decodeLink(data[:8]); ok {
		t.Fatal("decodeLink accepted a short message")
	}
}

func TestWatchRenderAddr(t *testing.T) {
	ifa := func(fam, plen uint8, index uint32) []byte {
		p := []byte{fam, plen, 0, 0, 0, 0, 0, 0}
		binary.NativeEndian.PutUint32(p[4:], index)
		return p
	}
	a4 := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name    string
		data    []byte
		wantFam uint8
		want    string
		wantOK  bool
	}{
		{"ipv4", watchMsg(unix.RTM_NEWADDR, ifa(unix.AF_INET, 24, 2), func(b *Batch) {
			b.AttrAddr(unix.IFA_ADDRESS, a4)
			b.AttrAddr(unix.IFA_LOCAL, a4)
			b.AttrString(unix.IFA_LABEL, "veth0")
		}), unix.AF_INET, "192.0.2.10/24 dev veth0", true},
		{"ipv6 address only", watchMsg(unix.RTM_NEWADDR, ifa(unix.AF_INET6, 64, 3), func(b *Batch) {
			b.AttrAddr(unix.IFA_ADDRESS, netip.MustParseAddr("2001:db8::10"))
		}), unix.AF_INET6, "2001:db8::10/64 dev veth1", true},
		{"point to point", watchMsg(unix.RTM_NEWADDR, ifa(unix.AF_INET, 32, 2), func(b *Batch) {
			b.AttrAddr(unix.IFA_LOCAL, a4)
			b.AttrAddr(unix.IFA_ADDRESS, netip.MustParseAddr("192.0.2.1"))
		}), unix.AF_INET, "192.0.2.10 peer 192.0.2.1/32 dev veth0", true},
		{"no address", watchMsg(unix.RTM_NEWADDR, ifa(unix.AF_INET, 24, 2), nil), 0, "", false},
		{"short", []byte{unix.AF_INET, 24}, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fam, got, ok := renderAddr(tt.data, watchNames)
			if ok != tt.wantOK || fam != tt.wantFam {
				t.Fatalf("renderAddr: family %d ok %v, want %d %v", fam, ok, tt.wantFam, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("renderAddr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWatchRenderRoute(t *testing.T) {
	rtmScope := func(fam, dstLen, table, proto, scope, typ uint8, flags uint32) []byte {
		p := []byte{fam, dstLen, 0, 0, table, proto, scope, typ, 0, 0, 0, 0}
		binary.NativeEndian.PutUint32(p[8:], flags)
		return p
	}
	rtm := func(fam, dstLen, table, proto, typ uint8, flags uint32) []byte {
		return rtmScope(fam, dstLen, table, proto, unix.RT_SCOPE_UNIVERSE, typ, flags)
	}
	hop := func(b *Batch, gw netip.Addr, index uint32, weight uint8) {
		at := b.Mark()
		b.buf = binary.NativeEndian.AppendUint16(b.buf, 0) // rtnh_len, patched
		b.buf = append(b.buf, 0, weight-1)
		b.buf = binary.NativeEndian.AppendUint32(b.buf, index)
		b.AttrAddr(unix.RTA_GATEWAY, gw)
		b.PatchU16(at, uint16(b.Mark()-at))
	}
	dst := netip.MustParseAddr("198.51.100.0")
	gw := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name    string
		data    []byte
		wantFam uint8
		want    string
		wantOK  bool
	}{
		{"gateway table proto", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_INET, 24, unix.RT_TABLE_UNSPEC, 78, unix.RTN_UNICAST, 0), func(b *Batch) {
			b.AttrU32(unix.RTA_TABLE, 100)
			b.AttrAddr(unix.RTA_DST, dst)
			b.AttrAddr(unix.RTA_GATEWAY, gw)
			b.AttrU32(unix.RTA_OIF, 2)
		}), unix.AF_INET, "198.51.100.0/24 via 192.0.2.1 dev veth0 table 100 proto 78", true},
		{"main table metric", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_INET, 24, unix.RT_TABLE_MAIN, 4, unix.RTN_UNICAST, 0), func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, dst)
			b.AttrAddr(unix.RTA_GATEWAY, gw)
			b.AttrU32(unix.RTA_OIF, 2)
			b.AttrU32(unix.RTA_PRIORITY, 100)
		}), unix.AF_INET, "198.51.100.0/24 via 192.0.2.1 dev veth0 proto static metric 100", true},
		{"default route", watchMsg(unix.RTM_DELROUTE, rtm(unix.AF_INET, 0, unix.RT_TABLE_MAIN, 78, unix.RTN_UNICAST, 0), func(b *Batch) {
			b.AttrAddr(unix.RTA_GATEWAY, gw)
			b.AttrU32(unix.RTA_OIF, 2)
		}), unix.AF_INET, "0.0.0.0/0 via 192.0.2.1 dev veth0 proto 78", true},
		{"blackhole ipv6", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_INET6, 48, unix.RT_TABLE_MAIN, 78, unix.RTN_BLACKHOLE, 0), func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, netip.MustParseAddr("2001:db8::"))
			b.AttrU32(unix.RTA_PRIORITY, 1024)
		}), unix.AF_INET6, "blackhole 2001:db8::/48 proto 78 metric 1024", true},
		{"ipv4 via ipv6", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_INET, 24, unix.RT_TABLE_MAIN, 78, unix.RTN_UNICAST, 0), func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, dst)
			v := []byte{unix.AF_INET6, 0}
			a := netip.MustParseAddr("fe80::1").As16()
			b.Attr(unix.RTA_VIA, append(v, a[:]...))
			b.AttrU32(unix.RTA_OIF, 2)
		}), unix.AF_INET, "198.51.100.0/24 via inet6 fe80::1 dev veth0 proto 78", true},
		{"multipath", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_INET, 24, unix.RT_TABLE_MAIN, 78, unix.RTN_UNICAST, 0), func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, dst)
			b.NestBegin(unix.RTA_MULTIPATH)
			hop(b, gw, 2, 1)
			hop(b, netip.MustParseAddr("192.0.2.2"), 3, 5)
			b.NestEnd()
		}), unix.AF_INET, "198.51.100.0/24 proto 78 nexthop via 192.0.2.1 dev veth0 weight 1 nexthop via 192.0.2.2 dev veth1 weight 5", true},
		{"source prefix and nhid", watchMsg(unix.RTM_NEWROUTE, []byte{unix.AF_INET6, 64, 56, 0, unix.RT_TABLE_MAIN, 78, 0, unix.RTN_UNICAST, 0, 0, 0, 0}, func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, netip.MustParseAddr("2001:db8:1::"))
			b.AttrAddr(unix.RTA_SRC, netip.MustParseAddr("2001:db8:2::"))
			b.AttrU32(rtaNHID, 9)
		}), unix.AF_INET6, "2001:db8:1::/64 from 2001:db8:2::/56 proto 78 nhid 9", true},
		{"scope src mtu onlink", watchMsg(unix.RTM_NEWROUTE, rtmScope(unix.AF_INET, 24, unix.RT_TABLE_MAIN, 78, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, unix.RTNH_F_ONLINK), func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, dst)
			b.AttrAddr(unix.RTA_GATEWAY, gw)
			b.AttrU32(unix.RTA_OIF, 2)
			b.AttrU32(unix.RTA_PRIORITY, 5)
			b.AttrAddr(unix.RTA_PREFSRC, netip.MustParseAddr("192.0.2.10"))
			b.NestBegin(unix.RTA_METRICS)
			b.AttrU32(unix.RTAX_MTU, 1400)
			b.NestEnd()
		}), unix.AF_INET, "198.51.100.0/24 via 192.0.2.1 dev veth0 proto 78 scope link metric 5 src 192.0.2.10 mtu 1400 onlink", true},
		{"cloned is skipped", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_INET6, 128, unix.RT_TABLE_MAIN, 78, unix.RTN_UNICAST, unix.RTM_F_CLONED), func(b *Batch) {
			b.AttrAddr(unix.RTA_DST, netip.MustParseAddr("2001:db8::1"))
		}), 0, "", false},
		{"unknown family", watchMsg(unix.RTM_NEWROUTE, rtm(unix.AF_BRIDGE, 0, unix.RT_TABLE_MAIN, 78, unix.RTN_UNICAST, 0), nil), 0, "", false},
		{"local table", watchMsg(unix.RTM_NEWROUTE, rtmScope(unix.AF_INET, 32, unix.RT_TABLE_LOCAL, 2, unix.RT_SCOPE_HOST, unix.RTN_LOCAL, 0), func(b *Batch) {
			b.AttrU32(unix.RTA_TABLE, unix.RT_TABLE_LOCAL)
			b.AttrAddr(unix.RTA_PREFSRC, netip.MustParseAddr("192.0.2.10"))
			b.AttrAddr(unix.RTA_DST, netip.MustParseAddr("192.0.2.10"))
			b.AttrU32(unix.RTA_OIF, 2)
		}), unix.AF_INET, "local 192.0.2.10/32 dev veth0 table local proto kernel scope host src 192.0.2.10", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fam, got, ok := renderRoute(tt.data, watchNames)
			if ok != tt.wantOK || fam != tt.wantFam {
				t.Fatalf("renderRoute: family %d ok %v, want %d %v", fam, ok, tt.wantFam, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("renderRoute (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWatchRenderRule(t *testing.T) {
	hdr := func(fam, dstLen, srcLen, table, act uint8, flags uint32) []byte {
		p := []byte{fam, dstLen, srcLen, 0, table, 0, 0, act, 0, 0, 0, 0}
		binary.NativeEndian.PutUint32(p[8:], flags)
		return p
	}
	tests := []struct {
		name    string
		data    []byte
		wantFam uint8
		want    string
	}{
		{"fwmark mask", watchMsg(unix.RTM_NEWRULE, hdr(unix.AF_INET, 0, 0, 180, unix.FR_ACT_TO_TBL, 0), func(b *Batch) {
			b.AttrU32(unix.FRA_TABLE, 180)
			b.AttrU32(unix.FRA_PRIORITY, 100)
			b.AttrU32(unix.FRA_FWMARK, 0x40)
			b.AttrU32(unix.FRA_FWMASK, 0x60)
			b.AttrU32(unix.FRA_SUPPRESS_PREFIXLEN, allMask)
			b.AttrU8(unix.FRA_PROTOCOL, 78)
		}), unix.AF_INET, "100: from all fwmark 0x40/0x60 lookup 180 proto 78"},
		{"full mask from iif", watchMsg(unix.RTM_NEWRULE, hdr(unix.AF_INET, 0, 24, unix.RT_TABLE_MAIN, unix.FR_ACT_TO_TBL, 0), func(b *Batch) {
			b.AttrU32(unix.FRA_PRIORITY, 200)
			b.AttrAddr(unix.FRA_SRC, netip.MustParseAddr("192.0.2.0"))
			b.AttrString(unix.FRA_IIFNAME, "veth0")
			b.AttrU32(unix.FRA_FWMARK, 0x1)
			b.AttrU32(unix.FRA_FWMASK, allMask)
		}), unix.AF_INET, "200: from 192.0.2.0/24 fwmark 0x1 iif veth0 lookup main proto unspec"},
		{"ipv6 no selector suppress", watchMsg(unix.RTM_DELRULE, hdr(unix.AF_INET6, 0, 0, unix.RT_TABLE_MAIN, unix.FR_ACT_TO_TBL, 0), func(b *Batch) {
			b.AttrU32(unix.FRA_PRIORITY, 32765)
			b.AttrU32(unix.FRA_SUPPRESS_PREFIXLEN, 0)
			b.AttrU8(unix.FRA_PROTOCOL, unix.RTPROT_KERNEL)
		}), unix.AF_INET6, "32765: from all lookup main suppress_prefixlength 0 proto kernel family inet6"},
		{"not to oif blackhole", watchMsg(unix.RTM_NEWRULE, hdr(unix.AF_INET6, 64, 0, 0, unix.FR_ACT_BLACKHOLE, unix.FIB_RULE_INVERT), func(b *Batch) {
			b.AttrU32(unix.FRA_PRIORITY, 5)
			b.AttrAddr(unix.FRA_DST, netip.MustParseAddr("2001:db8::"))
			b.AttrString(unix.FRA_OIFNAME, "wg0")
		}), unix.AF_INET6, "5: not from all to 2001:db8::/64 oif wg0 blackhole proto unspec"},
		{"goto ports", watchMsg(unix.RTM_NEWRULE, hdr(unix.AF_INET, 0, 0, 0, unix.FR_ACT_GOTO, 0), func(b *Batch) {
			b.AttrU32(unix.FRA_PRIORITY, 10)
			b.AttrU32(unix.FRA_GOTO, 300)
			b.AttrU8(unix.FRA_IP_PROTO, unix.IPPROTO_TCP)
			b.Attr(unix.FRA_DPORT_RANGE, binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(nil, 80), 90))
			b.Attr(unix.FRA_SPORT_RANGE, binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(nil, 53), 53))
		}), unix.AF_INET, "10: from all ipproto 6 sport 53 dport 80-90 goto 300 proto unspec"},
		{"priority zero l3mdev", watchMsg(unix.RTM_NEWRULE, hdr(unix.AF_INET, 0, 0, 0, unix.FR_ACT_TO_TBL, 0), func(b *Batch) {
			b.AttrU8(fraL3mdev, 1)
		}), unix.AF_INET, "0: from all lookup [l3mdev-table] proto unspec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fam, got, ok := renderRule(tt.data)
			if !ok || fam != tt.wantFam {
				t.Fatalf("renderRule: family %d ok %v, want %d", fam, ok, tt.wantFam)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("renderRule (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, ok := renderRule([]byte{unix.AF_INET}); ok {
		t.Fatal("renderRule accepted a short message")
	}
}

// TestWatchResyncCoalesced checks that a Resync is skipped only while an
// earlier Resync of the same kind is still unread.
func TestWatchResyncCoalesced(t *testing.T) {
	w := &watcher{out: make(chan netprim.Event, 8), resyncSeq: map[string]uint64{}}
	ctx := context.Background()
	ev := func(obj string) netprim.Event {
		return netprim.Event{Kind: KindRoute, Action: netprim.Add, Object: obj}
	}
	rs := func(kind string) netprim.Event { return netprim.Event{Kind: kind, Resync: true} }
	read := func() netprim.Event { return <-w.out }

	w.send(ctx, ev("a"))
	w.send(ctx, rs(KindRoute))
	w.send(ctx, ev("b"))
	w.send(ctx, rs(KindRoute)) // first route Resync unread: coalesced
	w.send(ctx, rs(KindLink))
	if got := len(w.out); got != 4 {
		t.Fatalf("queued %d events, want 4 (a, resync route, b, resync link)", got)
	}
	read() // a
	read() // resync route: now consumed
	w.send(ctx, rs(KindRoute))
	w.send(ctx, rs(KindLink)) // link Resync still unread: coalesced
	var got []string
	for len(w.out) > 0 {
		got = append(got, read().String())
	}
	want := []string{"+ route b", "resync link", "resync route"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}
