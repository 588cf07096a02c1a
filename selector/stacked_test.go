package selector

import (
	"errors"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// TestMatchOneStacked checks that a VLAN whose parent the selector also
// matches is not a second match, while every other pair of matches is.
func TestMatchOneStacked(t *testing.T) {
	links := []link.Status{
		{Index: 1, Name: "lo", HardwareAddr: "00:00:00:00:00:00", ParentNetnsID: -1},
		{Index: 2, Name: "eth0", Driver: "dummy", HardwareAddr: "02:00:00:00:00:01", ParentNetnsID: -1},
		{Index: 3, Name: "eth1", Driver: "dummy", HardwareAddr: "02:00:00:00:00:02", ParentNetnsID: -1},
		// A VLAN on eth0 takes eth0's address.
		{Index: 4, Name: "eth0.100", Kind: "vlan", Driver: "802.1Q VLAN Support", HardwareAddr: "02:00:00:00:00:01", ParentIndex: 2, ParentNetnsID: -1},
		// A VLAN whose parent lives in another namespace keeps counting.
		{Index: 5, Name: "far.7", Kind: "vlan", HardwareAddr: "02:00:00:00:00:02", ParentIndex: 3, ParentNetnsID: 0},
		// veth peers point at each other: both count.
		{Index: 6, Name: "va", Kind: "veth", Driver: "veth", HardwareAddr: "0a:00:00:00:00:01", ParentIndex: 7, ParentNetnsID: -1},
		{Index: 7, Name: "vb", Kind: "veth", Driver: "veth", HardwareAddr: "0a:00:00:00:00:02", ParentIndex: 6, ParentNetnsID: -1},
		// An ipvlan on eth1 whose parent the selector does not match
		// counts on its own.
		{Index: 8, Name: "ipv0", Kind: "ipvlan", Driver: "ipvlan", HardwareAddr: "02:00:00:00:00:02", ParentIndex: 3, ParentNetnsID: -1},
	}
	for _, tc := range []struct {
		sel     Selector
		want    string // name, or the error's text
		wantErr error
	}{
		{Selector{HardwareAddr: "02:00:00:00:00:01"}, "eth0", nil},
		{Selector{Driver: "dummy", HardwareAddr: "*:01"}, "eth0", nil},
		{Selector{Driver: "ipvlan"}, "ipv0", nil},
		{Selector{HardwareAddr: "02:00:00:00:00:02"}, "eth1, far.7", ErrAmbiguous},
		{Selector{Driver: "dummy"}, "eth0, eth1", ErrAmbiguous},
		{Selector{Driver: "veth"}, "va, vb", ErrAmbiguous},
		{Selector{Driver: "e1000e"}, "no device matches (among 8)", netprim.ErrNotFound},
		{Selector{}, "no field set", netprim.ErrInvalidSpec},
	} {
		got, err := tc.sel.MatchOne(links)
		if tc.wantErr == nil {
			if err != nil || got.Name != tc.want {
				t.Errorf("%v: %s, %v; want %s", tc.sel, got.Name, err, tc.want)
			}
			continue
		}
		if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %v mentioning %q", tc.sel, err, tc.wantErr, tc.want)
		}
	}
	// Match keeps returning every link that satisfies the selector.
	m, err := Selector{HardwareAddr: "02:00:00:00:00:01"}.Match(links)
	if err != nil || len(m) != 2 {
		t.Errorf("Match = %v, %v; want eth0 and eth0.100", m, err)
	}
}
