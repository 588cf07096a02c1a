package addr

import (
	"github.com/netprim/netprim"
)

// removeOps returns the deletes of Remove: every kernel address that one
// of the targets names (same link, local address and prefix length) and
// that carries the owner's mark. Addresses that are absent or not marked
// are left alone.
func removeOps(want []target, have []kaddr, owner uint8) []op {
	var ops []op
	for i := range have {
		h := &have[i]
		if h.proto != owner {
			continue
		}
		for _, t := range want {
			if t.ifindex == h.ifindex && t.spec.Address == h.prefix() {
				ops = append(ops, op{kind: opDelete, a: *h, second: true, changes: []netprim.Change{{
					Action: netprim.Delete, Kind: "address", Object: h.object(),
				}}})
				break
			}
		}
	}
	return ops
}
