package etcd_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its test: every
// term's goroutines must be gone once it resigned or ended, and the
// clients and servers the tests start are closed in their cleanup.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
