package devsel

import (
	"errors"
	"strings"
	"testing"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
	"github.com/netprim/netprim/selector"
)

func TestOne(t *testing.T) {
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
	}
	for _, tc := range []struct {
		sel     selector.Selector
		want    string // name, or the error's text
		wantErr error
	}{
		{selector.Selector{HardwareAddr: "02:00:00:00:00:01"}, "eth0", nil},
		{selector.Selector{Driver: "dummy", HardwareAddr: "*:01"}, "eth0", nil},
		{selector.Selector{HardwareAddr: "02:00:00:00:00:02"}, "eth1, far.7", selector.ErrAmbiguous},
		{selector.Selector{Driver: "dummy"}, "eth0, eth1", selector.ErrAmbiguous},
		{selector.Selector{Driver: "veth"}, "va, vb", selector.ErrAmbiguous},
		{selector.Selector{Driver: "e1000e"}, "no device matches", netprim.ErrNotFound},
		{selector.Selector{}, "no field set", netprim.ErrInvalidSpec},
	} {
		got, err := One(tc.sel, links)
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
}
