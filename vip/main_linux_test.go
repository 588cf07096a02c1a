package vip_test

import (
	"testing"

	"github.com/netprim/netprim/nstest"
)

func TestMain(m *testing.M) {
	if runChild() {
		return
	}
	nstest.Main(m)
}
