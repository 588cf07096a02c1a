package bond

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/netprim/netprim/nstest"
)

// TestOptionTableMatchesKernel writes every option valid in each mode to a
// running bond with two members and checks that the kernel refuses
// exactly the options the table says need the bond down (EBUSY) or without
// members (ENOTEMPTY), and takes all others in place.
func TestOptionTableMatchesKernel(t *testing.T) {
	nstest.RequireModules(t, "bonding", "dummy")
	for mi, mode := range Modes {
		t.Run(mode, func(t *testing.T) {
			n := nstest.New(t)
			dummies(t, n, "d0", "d1")
			mustApply(t, n.Namespace, []Spec{{Name: "b0", Mode: mode, Members: []string{"d0", "d1"}, Up: ptr(true)}})
			snap, err := dumpLinks(context.Background(), n.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			b := snap.byName["b0"]
			if !b.up() || len(snap.members(b.Index)) != 2 {
				t.Fatalf("b0: up %v with %d members, want up with 2", b.up(), len(snap.members(b.Index)))
			}
			for _, o := range options {
				if o.modes != 0 && o.modes&(1<<mi) == 0 {
					continue
				}
				p := otherValue(o, mi, b.Data[o.attr], snap)
				err := writeOption(n.Namespace, b.Index, o, p)
				var want error
				switch {
				case o.noMembers:
					want = syscall.ENOTEMPTY
				case o.ifDown:
					want = syscall.EBUSY
				}
				if want == nil && err != nil || want != nil && !errors.Is(err, want) {
					t.Errorf("%s %s -> %s on a running bond with members: %v, want %v",
						o.field, o.render(b.Data[o.attr], snap.names()), o.render(p, snap.names()), err, want)
				}
			}
		})
	}
}

// otherValue returns a valid payload for o that differs from cur.
func otherValue(o *option, mode int, cur []byte, snap *snapshot) []byte {
	switch o.typ {
	case tPrimary:
		return encodeNum(tU32, uint64(snap.index("d1")))
	case tMAC:
		return []byte{2, 0, 0, 0, 0, 9}
	case tIP4List:
		p, _ := o.encode(&Spec{ARPIPTargets: mustAddrs("192.0.2.1")}, nil)
		return p
	case tIP6List:
		p, _ := o.encode(&Spec{NSIP6Targets: mustAddrs("2001:db8::1")}, nil)
		return p
	}
	v, _ := decodeNum(o.typ, cur)
	nv := v + 1
	switch {
	case o == modeOption:
		nv = uint64((mode + 1) % len(Modes))
	case o.field == "upDelay" || o.field == "downDelay" || o.field == "peerNotifDelay":
		nv = 200
	case o.names != nil && nv >= uint64(len(o.names)):
		nv = 0
	case o.hi != 0 && nv > o.hi:
		nv = o.lo
	}
	return encodeNum(o.typ, nv)
}
