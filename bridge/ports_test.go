package bridge

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprim/netprim"
)

func TestCheckPorts(t *testing.T) {
	snap := &snapshot{bridges: map[string]*bridgeState{}, links: map[string]*portState{
		"br0":   {index: 1, kind: "bridge"},
		"br1":   {index: 2, kind: "bridge"},
		"fbr":   {index: 3, kind: "bridge"},
		"bondX": {index: 4, kind: "bond"},
		"old":   {index: 5, kind: "bridge"},
		"p0":    {index: 10, master: "br1"},
		"p1":    {index: 11, master: "fbr"},
		"p2":    {index: 12, master: "bondX"},
		"p3":    {index: 13},
		"p4":    {index: 14, master: "old"},
		"p5":    {index: 15, master: "gone"},
	}}
	for _, tc := range []struct {
		name   string
		want   []Spec
		pruned map[string]bool
		errs   []string
	}{
		{"free port and missing port", []Spec{{Name: "br0", Ports: Ports("p3", "nope")}}, nil, nil},
		{"move between wanted bridges", []Spec{{Name: "br0", Ports: Ports("p0")}, {Name: "br1"}}, nil, nil},
		{"already there", []Spec{{Name: "br1", Ports: Ports("p0")}}, nil, nil},
		{"wanted bridge not in this list", []Spec{{Name: "br0", Ports: Ports("p0")}}, nil,
			[]string{"bridge: spec[0].ports[0]: p0 is already enslaved to bridge br1, which is not a bridge in this list: release it first: port enslaved elsewhere: conflicts with an object not owned"}},
		{"foreign bridge and bond", []Spec{{Name: "br1"}, {Name: "br0", Ports: Ports("p3", "p1", "p2")}}, nil,
			[]string{
				"bridge: spec[1].ports[1]: p1 is already enslaved to bridge fbr,",
				"bridge: spec[1].ports[2]: p2 is already enslaved to bond bondX,",
			}},
		{"pruned owned bridge", []Spec{{Name: "br0", Ports: Ports("p4")}}, map[string]bool{"old": true}, nil},
		{"not pruned", []Spec{{Name: "br0", Ports: Ports("p4")}}, map[string]bool{"fbr": true},
			[]string{"bridge: spec[0].ports[0]: p4 is already enslaved to bridge old,"}},
		{"master unknown", []Spec{{Name: "br0", Ports: Ports("p5")}}, nil,
			[]string{"bridge: spec[0].ports[0]: p5 is already enslaved to link gone,"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPorts(tc.want, snap, tc.pruned)
			if tc.errs == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrPortInUse) || !errors.Is(err, netprim.ErrConflict) {
				t.Fatalf("%v: does not wrap ErrPortInUse and netprim.ErrConflict", err)
			}
			lines := strings.Split(err.Error(), "\n")
			var got []string
			for k, l := range lines {
				if k < len(tc.errs) && strings.HasPrefix(l, tc.errs[k]) {
					l = tc.errs[k]
				}
				got = append(got, l)
			}
			if d := cmp.Diff(tc.errs, got); d != "" {
				t.Fatalf("errors (-want +got):\n%s", d)
			}
		})
	}
}
