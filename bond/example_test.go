package bond_test

import (
	"context"
	"fmt"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/bond"
	"github.com/netprim/netprim/selector"
)

// Validate names the spec and the field, and says why.
func ExampleValidate() {
	want := []bond.Spec{
		{Name: "bond0", Mode: "active-backup", Members: []string{"eth0", "eth1"}, LACPRate: "fast"},
		{Name: "bond1", Mode: "lacp"},
	}
	for i := range want {
		want[i].Normalize()
	}
	fmt.Println(bond.Validate(want))
	// Output:
	// bond: spec[0].lacpRate: only valid in mode 802.3ad, not active-backup: invalid spec
	// bond: spec[1].mode: unknown mode "lacp", want one of balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb: invalid spec
}

// Members may be named by what their hardware reports: here every
// virtio_net device with a QEMU address, and the device at a PCI slot.
// Validate checks the selectors' syntax; Plan and Apply resolve them
// against the links of the namespace.
func ExampleSpec_memberSelectors() {
	want := []bond.Spec{{
		Name: "bond0", Mode: "active-backup",
		MemberSelectors: []selector.Selector{
			{Driver: "virtio_net", HardwareAddr: "52:54:00:*"},
			{BusPath: "0000:00:1f.["},
		},
	}}
	fmt.Println(bond.Validate(want))
	// Output:
	// bond: spec[0].memberSelectors[1]: selector: busPath: bad pattern "0000:00:1f.[": syntax error in pattern: invalid spec
}

// An LACP bond of two links, in the namespace "edge" (as "ip netns add
// edge" makes it). Plan shows what Apply would change; a second Apply
// changes nothing.
func ExampleApply() {
	ns, err := netprim.OpenNamespace("edge")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	up := true
	want := []bond.Spec{{
		Name: "bond0", Mode: "802.3ad", Members: []string{"eth0", "eth1"}, Up: &up,
		Miimon: 100, LACPRate: "fast", XmitHashPolicy: "layer3+4",
	}}
	ctx := context.Background()
	plan, err := bond.Plan(ctx, ns, want, netprim.WithPrune())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(plan)
	if _, err := bond.Apply(ctx, ns, want, netprim.WithPrune()); err != nil {
		fmt.Println(err)
	}
}

// List reports each bond's mode, active member and members' MII state.
func ExampleList() {
	bonds, err := bond.List(context.Background(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range bonds {
		fmt.Println(b.Name, b.Mode, "active:", b.ActiveMember)
		for _, m := range b.MemberStatus {
			fmt.Println(" ", m.Name, m.State, "mii", m.MIIStatus)
		}
	}
}
