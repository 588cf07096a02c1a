package bridge_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/bridge"
)

// A bridge in YAML: ports by name, or with their VLANs.
func ExampleSpec_yaml() {
	doc := `
name: br0
stp: true
forwardDelay: 4s
vlanFiltering: true
ports:
  - eth0
  - name: eth1
    vlans:
      - {vid: 10, pvid: true, untagged: true}
      - {vid: 100, vidEnd: 199}
`
	var s bridge.Spec
	if err := yaml.Unmarshal([]byte(doc), &s); err != nil {
		fmt.Println(err)
		return
	}
	s.Normalize()
	fmt.Println(s.Validate())
	fmt.Println(s.ForwardDelay, s.Ports[0].Name, s.Ports[1].Name, s.Ports[1].VLANs)
	// Output:
	// <nil>
	// 4s eth0 eth1 [10 pvid untagged 100-199]
}

// Validate names the bad field of the bad spec.
func ExampleValidate() {
	err := bridge.Validate([]bridge.Spec{
		{Name: "br0", HelloTime: 20 * time.Second},
		{Name: "br1", VLANFiltering: new(true), Ports: []bridge.Port{{Name: "eth0", VLANs: []bridge.VLAN{{VID: 4095}}}}},
	})
	fmt.Println(err)
	// Output:
	// bridge: spec[0].helloTime: 20s out of range 1s..10s: invalid spec
	// bridge: spec[1].ports[0].vlans: [0].vid: 4095 out of range 1..4094: invalid spec
}

// Apply creates br0 with STP and two ports, in the caller's namespace,
// and prints what it changed; a second run prints "no changes".
func ExampleApply() {
	up := true
	want := []bridge.Spec{{
		Name:     "br0",
		Ports:    bridge.Ports("eth1", "eth2"),
		STP:      &up,
		Priority: new(uint16(4096)),
		Up:       &up,
	}}
	plan, err := bridge.Apply(context.Background(), nil, want, netprim.WithPrune())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println(plan)
}

// List shows STP state and the ports' states.
func ExampleList() {
	bridges, err := bridge.List(context.Background(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, b := range bridges {
		fmt.Printf("%s stp=%s root=%s\n", b.Name, b.STPState, b.RootID)
		for _, p := range b.Ports {
			fmt.Printf("  %s %s vlans=%v\n", p.Name, p.State, p.VLANs)
		}
	}
}
