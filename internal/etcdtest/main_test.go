package etcdtest_test

import (
	"testing"

	"github.com/netprim/netprim/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }
