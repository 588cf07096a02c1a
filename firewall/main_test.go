package firewall

import (
	"testing"

	"github.com/netprim/netprim/nstest"
)

// TestMain runs the tests rootless too: not root, nstest.Main runs them
// again as root of a user namespace (see nstest).
func TestMain(m *testing.M) { nstest.Main(m) }
