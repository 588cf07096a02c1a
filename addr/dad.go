package addr

import "strconv"

// DADResult is how the kernel's duplicate address detection of an IPv6
// address ended (see WaitDAD).
type DADResult int

const (
	// DADPassed: the address is on the link and no longer tentative:
	// detection passed, or was not done (the address has "nodad", or the
	// link's accept_dad is 0).
	DADPassed DADResult = iota + 1
	// DADFailed: another host on the link has the address. The kernel
	// marked it "dadfailed"; an address with a finite valid lifetime is
	// removed by the kernel at that moment, a permanent one stays,
	// unusable, with the flag.
	DADFailed
)

// String returns "passed" or "failed".
func (r DADResult) String() string {
	switch r {
	case DADPassed:
		return "passed"
	case DADFailed:
		return "failed"
	}
	return "DADResult(" + strconv.Itoa(int(r)) + ")"
}
