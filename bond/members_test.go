package bond

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

// memberLinks are the links resolveMembers is tested against. eth1 is a
// port of bond9: it carries the bond's address, and snap says which one
// it had before.
var memberLinks = []link.Status{
	{Index: 1, Name: "lo", Flags: []string{"LOOPBACK", "UP"}, HardwareAddr: "00:00:00:00:00:00"},
	{Index: 2, Name: "eth0", Driver: "virtio_net", BusInfo: "0000:00:03.0", HardwareAddr: "52:54:00:00:00:01", PermHardwareAddr: "52:54:00:00:00:01"},
	{Index: 3, Name: "eth1", Driver: "virtio_net", BusInfo: "0000:00:04.0", HardwareAddr: "02:00:00:00:ff:00", PermHardwareAddr: "52:54:00:00:00:02", Master: "bond9", MasterIndex: 6},
	{Index: 4, Name: "eth2", Driver: "e1000e", BusInfo: "0000:00:19.0", HardwareAddr: "52:54:00:00:00:03", PermHardwareAddr: "52:54:00:00:00:03"},
	{Index: 5, Name: "d0", Driver: "dummy", HardwareAddr: "02:00:00:00:0a:01"},
	{Index: 6, Name: "bond9", Kind: "bond", Driver: "bonding", HardwareAddr: "02:00:00:00:ff:00"},
	{Index: 7, Name: "d1", Driver: "dummy", HardwareAddr: "02:00:00:00:ff:00", Master: "bond9", MasterIndex: 6},
	// Stacked and upper links carry the address of a link below them
	// (eth0's, eth2's, bond9's): none of them may be selected.
	{Index: 8, Name: "eth0.100", Kind: "vlan", Driver: "802.1Q VLAN Support", HardwareAddr: "52:54:00:00:00:01", ParentIndex: 2},
	{Index: 9, Name: "bond9.5", Kind: "vlan", Driver: "802.1Q VLAN Support", HardwareAddr: "02:00:00:00:ff:00", ParentIndex: 6},
	{Index: 10, Name: "mv0", Kind: "macvlan", Driver: "macvlan", HardwareAddr: "52:54:00:00:00:01", ParentIndex: 2},
	{Index: 11, Name: "ipv0", Kind: "ipvlan", Driver: "ipvlan", HardwareAddr: "52:54:00:00:00:03", ParentIndex: 4},
	{Index: 12, Name: "br0", Kind: "bridge", Driver: "bridge", HardwareAddr: "52:54:00:00:00:03"},
	{Index: 13, Name: "vrf0", Kind: "vrf", Driver: "vrf", HardwareAddr: "52:54:00:00:00:03"},
	{Index: 14, Name: "team0", Kind: "team", Driver: "team", HardwareAddr: "52:54:00:00:00:03"},
	{Index: 15, Name: "wg0", Kind: "wireguard", Driver: "wireguard"},
	// Kinds that can be bond ports.
	{Index: 16, Name: "v0", Kind: "veth", Driver: "veth", HardwareAddr: "02:00:00:00:0d:01"},
	{Index: 17, Name: "tap0", Kind: "tun", Driver: "tun", HardwareAddr: "02:00:00:00:0d:02"},
}

// memberSnap is what the bond package's own dump says of memberLinks: the
// addresses eth1 and d1 had when bond9 enslaved them.
func memberSnap() *snapshot {
	slave := func(mac string) map[uint16][]byte {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			panic(err)
		}
		return map[uint16][]byte{attrSlavePermHwaddr: hw}
	}
	return newSnapshot([]*rawLink{
		{Index: 3, Name: "eth1", Master: 6, SlaveKind: "bond", SlaveData: slave("52:54:00:00:00:02")},
		{Index: 6, Name: "bond9", Kind: "bond"},
		{Index: 7, Name: "d1", Master: 6, SlaveKind: "bond", SlaveData: slave("02:00:00:00:0a:02")},
	})
}

func TestResolveMembers(t *testing.T) {
	ab := func(members []string, sels ...selector.Selector) Spec {
		return Spec{Name: "bond0", Mode: "active-backup", Members: members, MemberSelectors: sels}
	}
	for _, tc := range []struct {
		name    string
		specs   []Spec
		members [][]string // per spec, when no error
		fields  [][]string
		err     string // substring of the error
		is      error
	}{
		{name: "by driver, in index order",
			specs:   []Spec{ab(nil, selector.Selector{Driver: "virtio_net"})},
			members: [][]string{{"eth0", "eth1"}},
			fields:  [][]string{{"memberSelectors[0]", "memberSelectors[0]"}}},
		{name: "union of selectors in index order, after members, each once",
			specs: []Spec{ab([]string{"eth2"},
				selector.Selector{BusPath: "0000:00:19.0"}, // eth2, already listed
				selector.Selector{Driver: "dummy"},         // d0, d1
				selector.Selector{BusPath: "0000:00:0?.0"}, // eth0, eth1
			)},
			members: [][]string{{"eth2", "eth0", "eth1", "d0", "d1"}},
			fields:  [][]string{{"members[0]", "memberSelectors[2]", "memberSelectors[2]", "memberSelectors[1]", "memberSelectors[1]"}}},
		{name: "an enslaved link is matched by the address it had before",
			specs:   []Spec{ab(nil, selector.Selector{HardwareAddr: "02:00:00:00:0A:*"})},
			members: [][]string{{"d0", "d1"}},
			fields:  [][]string{{"memberSelectors[0]", "memberSelectors[0]"}}},
		{name: "not by the bond's address it and the VLAN on the bond carry",
			specs: []Spec{ab(nil, selector.Selector{HardwareAddr: "*:ff:00"})},
			err:   "bond: spec[0].memberSelectors[0]: selector hardwareAddr=*:ff:00: no link matches (among 7 that may be members)",
			is:    netprim.ErrNotFound},
		{name: "permanent address",
			specs:   []Spec{ab(nil, selector.Selector{PermanentAddr: "52:54:00:00:00:0[23]"})},
			members: [][]string{{"eth1", "eth2"}}},
		{name: "loopback, the bond itself and stacked or upper links are never selected",
			specs:   []Spec{{Name: "d0", Mode: "broadcast", MemberSelectors: []selector.Selector{{HardwareAddr: "*"}}}},
			members: [][]string{{"eth0", "eth1", "eth2", "d1", "v0", "tap0"}}},
		{name: "a VLAN, macvlan or ipvlan with a selected link's address is not selected",
			specs:   []Spec{ab(nil, selector.Selector{HardwareAddr: "52:54:00:00:00:01"}, selector.Selector{HardwareAddr: "52:54:00:00:00:03"})},
			members: [][]string{{"eth0", "eth2"}}},
		{name: "veth and tun by driver",
			specs:   []Spec{ab(nil, selector.Selector{Driver: "veth"}, selector.Selector{Driver: "tun"})},
			members: [][]string{{"v0", "tap0"}}},
		{name: "loopback is not selected by its address",
			specs: []Spec{{Name: "x", Mode: "broadcast", MemberSelectors: []selector.Selector{{HardwareAddr: "00:00:00:00:00:00"}}}},
			err:   "bond: spec[0].memberSelectors[0]: selector hardwareAddr=00:00:00:00:00:00: no link matches", is: netprim.ErrNotFound},
		{name: "one selector of several matches nothing",
			specs: []Spec{ab(nil, selector.Selector{Driver: "dummy"}, selector.Selector{Driver: "mlx5_core"})},
			err:   "bond: spec[0].memberSelectors[1]: selector driver=mlx5_core: no link matches", is: netprim.ErrNotFound},
		{name: "invalid selector",
			specs: []Spec{ab(nil, selector.Selector{BusPath: "00:["})},
			err:   `bond: spec[0].memberSelectors[0]: selector: busPath: bad pattern "00:["`, is: netprim.ErrInvalidSpec},
		{name: "a link selected for two bonds",
			specs: []Spec{ab(nil, selector.Selector{Driver: "virtio_net"}),
				{Name: "bond1", Mode: "broadcast", MemberSelectors: []selector.Selector{{BusPath: "0000:00:0[34].0"}}}},
			err: "bond: spec[1].memberSelectors[0]: eth0 is also a member of spec[0] (bond0)", is: netprim.ErrInvalidSpec},
		{name: "a selected link listed by another bond",
			specs: []Spec{ab(nil, selector.Selector{Driver: "dummy"}), {Name: "bond1", Mode: "broadcast", Members: []string{"d1"}}},
			err:   "bond: spec[1].members[0]: d1 is also a member of spec[0] (bond0)", is: netprim.ErrInvalidSpec},
		{name: "primary selected",
			specs:   []Spec{{Name: "bond0", Mode: "active-backup", Primary: "eth1", MemberSelectors: []selector.Selector{{Driver: "virtio_net"}}}},
			members: [][]string{{"eth0", "eth1"}}},
		{name: "primary not selected",
			specs: []Spec{{Name: "bond0", Mode: "active-backup", Primary: "eth2", MemberSelectors: []selector.Selector{{Driver: "virtio_net"}}}},
			err:   "bond: spec[0].primary: eth2 is neither in members nor selected by memberSelectors", is: netprim.ErrInvalidSpec},
		{name: "specs without selectors are left alone",
			specs:   []Spec{ab([]string{"eth9"}), {Name: "bond1", Mode: "broadcast", MemberSelectors: []selector.Selector{{Driver: "e1000e"}}}},
			members: [][]string{{"eth9"}, {"eth2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			specs := make([]Spec, len(tc.specs))
			for i, s := range tc.specs {
				specs[i] = s.clone()
			}
			fields, err := resolveMembers(specs, memberLinks, memberSnap())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, tc.is) {
					t.Fatalf("err %v, want %q wrapping %v", err, tc.err, tc.is)
				}
				if d := cmp.Diff(tc.specs, specs); d != "" {
					t.Errorf("specs changed on error (-before +after):\n%s", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, s := range specs {
				got = append(got, s.Members)
				if s.MemberSelectors != nil {
					t.Errorf("%s: selectors left after resolving: %v", s.Name, s.MemberSelectors)
				}
			}
			if d := cmp.Diff(tc.members, got); d != "" {
				t.Errorf("members (-want +got):\n%s", d)
			}
			if tc.fields != nil {
				if d := cmp.Diff(tc.fields, fields); d != "" {
					t.Errorf("fields (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestValidateMemberSelectors(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		err  string // "" for valid
	}{
		{Spec{Name: "bond0", Mode: "balance-rr", MemberSelectors: []selector.Selector{{Driver: "dummy"}}}, ""},
		// Primary may be one the selectors will select.
		{Spec{Name: "bond0", Mode: "active-backup", Primary: "eth0", MemberSelectors: []selector.Selector{{Driver: "dummy"}}}, ""},
		{Spec{Name: "bond0", Mode: "active-backup", Primary: "eth0"}, "bond: spec[0].primary: eth0 is not in members"},
		{Spec{Name: "bond0", Mode: "balance-rr", MemberSelectors: []selector.Selector{{Driver: "dummy"}, {}}},
			"bond: spec[0].memberSelectors[1]: selector: no field set"},
		{Spec{Name: "bond0", Mode: "balance-rr", MemberSelectors: []selector.Selector{{PCIID: "8086"}}},
			"bond: spec[0].memberSelectors[0]: selector: pciID:"},
	} {
		err := Validate([]Spec{tc.spec})
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%+v: %v", tc.spec, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, netprim.ErrInvalidSpec)):
			t.Errorf("%+v: %v, want %q wrapping ErrInvalidSpec", tc.spec, err, tc.err)
		}
	}
}

func TestCloneMemberSelectors(t *testing.T) {
	in := Spec{Name: "bond0", MemberSelectors: []selector.Selector{{Driver: "dummy", Physical: ptr(false)}}}
	c := in.clone()
	c.MemberSelectors[0].Driver = "x"
	*c.MemberSelectors[0].Physical = true
	if in.MemberSelectors[0].Driver != "dummy" || *in.MemberSelectors[0].Physical {
		t.Errorf("clone shares selectors: %+v", in.MemberSelectors[0])
	}
}
