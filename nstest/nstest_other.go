//go:build !linux

package nstest

import (
	"errors"
	"os"
	"testing"
)

const reasonNotLinux = "nstest: network namespaces need Linux"

// KernelTierEnv is the environment variable that scripts/umlexec sets to
// "uml" for test binaries it runs on the User-Mode Linux kernel.
const KernelTierEnv = "NETPRIM_KERNEL_TIER"

// InKernelTier reports whether the test runs on the kernel tier; never
// outside Linux.
func InKernelTier() bool { return false }

// New skips the test: network namespaces need Linux.
func New(t testing.TB) *NS {
	t.Helper()
	t.Skip(reasonNotLinux)
	return nil
}

// Veth skips the test: network namespaces need Linux.
func Veth(t testing.TB, a *NS, aName string, b *NS, bName string) {
	t.Helper()
	t.Skip(reasonNotLinux)
}

// RequireModules skips the test: kernel modules are a Linux notion.
func RequireModules(t testing.TB, mods ...string) {
	t.Helper()
	t.Skip(reasonNotLinux)
}

// RequireLinkKind skips the test: rtnetlink link types are a Linux notion.
func RequireLinkKind(t testing.TB, kind string) {
	t.Helper()
	t.Skip(reasonNotLinux)
}

// RequireFeature skips the test unless have is true; outside Linux the
// kernel tier does not exist.
func RequireFeature(t testing.TB, feature string, have bool) {
	t.Helper()
	if !have {
		t.Skip("kernel lacks " + feature)
	}
}

// Settle does nothing: outside Linux New skips every test.
func Settle(t testing.TB, n *NS) {}

// Exec fails: network namespaces need Linux.
func (n *NS) Exec(name string, args ...string) ([]byte, error) {
	return nil, errors.New(reasonNotLinux)
}

// Main runs the tests; outside Linux those that need a namespace skip.
func Main(m *testing.M) { os.Exit(m.Run()) }
