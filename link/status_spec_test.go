package link

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStatusSpec(t *testing.T) {
	common := func(s Spec) Spec {
		if s.Up == nil {
			s.Up = new(true)
		}
		if s.Alias == nil {
			s.Alias = new("")
		}
		if s.Master == nil {
			s.Master = new("")
		}
		return s
	}
	tests := []struct {
		name string
		in   Status
		want Spec
	}{{
		name: "veth",
		in: Status{Name: "v0", Kind: "veth", Peer: "v1", MTU: 1400, TxQueueLen: 1000, Up: true,
			HardwareAddr: "02:00:00:00:00:01", Alias: "uplink", Master: "br0", ParentNetnsID: -1},
		want: common(Spec{Name: "v0", Kind: "veth", Veth: &Veth{Peer: "v1"}, MTU: 1400, TxQueueLen: 1000,
			HardwareAddr: "02:00:00:00:00:01", Alias: new("uplink"), Master: new("br0")}),
	}, {
		name: "veth with its peer in another namespace",
		in:   Status{Name: "v0", Kind: "veth", ParentIndex: 7, ParentNetnsID: 0, MTU: 1500},
		want: common(Spec{Name: "v0", MTU: 1500, Up: new(false)}),
	}, {
		name: "vxlan",
		in: Status{Name: "vx0", Kind: "vxlan", MTU: 1450, Up: true,
			VXLAN: &VXLAN{VNI: 42, Remote: "2001:db8::1", Local: "2001:db8::2", Port: 8472, Dev: "eth0", TTL: 0, Learning: new(true)}},
		want: common(Spec{Name: "vx0", Kind: "vxlan", MTU: 1450,
			VXLAN: &VXLAN{VNI: 42, Remote: "2001:db8::1", Local: "2001:db8::2", Port: 8472, Dev: "eth0", Learning: new(true)}}),
	}, {
		name: "vxlan with vni 0 (flow-based) is not created",
		in:   Status{Name: "vx0", Kind: "vxlan", MTU: 1450, VXLAN: &VXLAN{Port: 4789, Learning: new(false)}},
		want: common(Spec{Name: "vx0", MTU: 1450, Up: new(false)}),
	}, {
		name: "macvlan",
		in:   Status{Name: "mv0", Kind: "macvlan", MTU: 1500, MACVLAN: &MACVLAN{Parent: "eth0", Mode: "vepa"}},
		want: common(Spec{Name: "mv0", Kind: "macvlan", MTU: 1500, Up: new(false), MACVLAN: &MACVLAN{Parent: "eth0", Mode: "vepa"}}),
	}, {
		name: "macvlan with its parent in another namespace",
		in:   Status{Name: "mv0", Kind: "macvlan", MTU: 1500, MACVLAN: &MACVLAN{Mode: "bridge"}, ParentIndex: 2, ParentNetnsID: 1},
		want: common(Spec{Name: "mv0", MTU: 1500, Up: new(false)}),
	}, {
		name: "vrf",
		in:   Status{Name: "vrf0", Kind: "vrf", MTU: 65575, Up: true, VRF: &VRF{Table: 10}},
		want: common(Spec{Name: "vrf0", Kind: "vrf", VRF: &VRF{Table: 10}}),
	}, {
		name: "bridge: made by package bridge",
		in:   Status{Name: "br0", Kind: "bridge", MTU: 1500, Up: true, HardwareAddr: "00:00:00:00:00:00"},
		want: common(Spec{Name: "br0", MTU: 1500}),
	}, {
		name: "tun: needs parameters",
		in:   Status{Name: "tun0", Kind: "tun", MTU: 1500, TxQueueLen: 500},
		want: common(Spec{Name: "tun0", MTU: 1500, TxQueueLen: 500, Up: new(false)}),
	}, {
		name: "dummy",
		in:   Status{Name: "d0", Kind: "dummy", MTU: 9000, HardwareAddr: "02:00:5e:00:00:d1", OwnedBy: "netprim", AltNames: []string{"netprim.d0"}},
		want: common(Spec{Name: "d0", Kind: "dummy", MTU: 9000, HardwareAddr: "02:00:5e:00:00:d1", Up: new(false)}),
	}, {
		name: "loopback",
		in:   Status{Name: "lo", MTU: 65536, TxQueueLen: 1000, Up: true, HardwareAddr: "00:00:00:00:00:00"},
		want: common(Spec{Name: "lo", TxQueueLen: 1000}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.Spec()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Spec() (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Spec() does not validate: %v", err)
			}
			n := got
			n.Normalize()
			if diff := cmp.Diff(got, n); diff != "" {
				t.Errorf("Spec() is not normalized (-got +normalized):\n%s", diff)
			}
		})
	}
}

// TestStatusSpecCopies: the Spec shares no memory with the Status.
func TestStatusSpecCopies(t *testing.T) {
	st := Status{Name: "vx0", Kind: "vxlan", VXLAN: &VXLAN{VNI: 1, Learning: new(true)}}
	s := st.Spec()
	s.VXLAN.VNI = 2
	*s.VXLAN.Learning = false
	if st.VXLAN.VNI != 1 || !*st.VXLAN.Learning {
		t.Errorf("changing the Spec changed the Status: %+v", *st.VXLAN)
	}
}

func TestSpecs(t *testing.T) {
	links := []Status{
		{Index: 1, Name: "lo", MTU: 65536, Up: true},
		{Index: 2, Name: "a1", Kind: "veth", Peer: "a0", MTU: 1500},
		{Index: 3, Name: "a0", Kind: "veth", Peer: "a1", MTU: 1500},
		{Index: 4, Name: "b1", Kind: "veth", Peer: "b0", MTU: 1500},
		{Index: 5, Name: "b0", Kind: "veth", Peer: "b1", MTU: 1500, OwnedBy: "netprim"},
		{Index: 6, Name: "c0", Kind: "veth", ParentIndex: 3, ParentNetnsID: 0, MTU: 1500},
	}
	var got []string
	for _, s := range Specs(links) {
		d := s.Name + ":" + s.Kind
		if s.Veth != nil {
			d += ":" + s.Veth.Peer
		}
		got = append(got, d)
	}
	want := []string{"lo:", "a1:veth:a0", "a0:", "b1:", "b0:veth:b1", "c0:"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Specs (-want +got):\n%s", diff)
	}
	if err := Validate(Specs(links)); err != nil {
		t.Errorf("Specs do not validate together: %v", err)
	}
}
