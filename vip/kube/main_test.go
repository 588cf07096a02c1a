package kube

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its test: every
// LeaderElector must have stopped once its term resigned or ended, and a
// cancelled Campaign must leave nothing running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
