package bridge

import (
	"fmt"

	"github.com/netprim/netprim"
)

// ErrPortInUse is wrapped by the error Plan and Apply return for a port
// that is enslaved to a master that is neither a bridge in want nor an
// owned bridge that Apply deletes (a foreign bridge, a bond, a vrf). It
// wraps netprim.ErrConflict.
var ErrPortInUse = fmt.Errorf("port enslaved elsewhere: %w", netprim.ErrConflict)
