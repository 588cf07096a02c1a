package nstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/netprim/netprim"
)

// KernelTierHint ends the reason of every skip that sends a test to the
// kernel tier ("kernel lacks bonding: run with scripts/kerneltest"). The
// netprim repository's scripts/test runs on that tier exactly the tests that
// skipped with it on the host tier.
const KernelTierHint = "run with scripts/kerneltest"

// NS is a throwaway network namespace owned by one test. It is removed when
// the test that created it ends.
type NS struct {
	// Namespace is the open namespace; pass it to netprim functions.
	*netprim.Namespace
	// Name is the namespace's name, "nstest-" and 12 hex digits. When Path
	// is under netprim.NetnsDir, "ip -n NAME" and netprim.OpenNamespace(NAME)
	// find it too.
	Name string
	// Path is a file that refers to the namespace while the test runs, for
	// tools such as "nsenter --net=PATH": NetnsDir/Name when the namespace
	// could be bound there, otherwise /proc/PID/fd/N.
	Path string
}

// Run is Exec that fails the test on error.
func (n *NS) Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := n.Exec(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// IPJSON runs "ip -j ARGS..." inside the namespace and decodes its output
// into v; the test fails on error. Empty output decodes as an empty list.
func (n *NS) IPJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out := n.Run(t, "ip", append([]string{"-j"}, args...)...)
	if len(bytes.TrimSpace(out)) == 0 {
		out = []byte("[]")
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("ip -j %v: %v: %s", args, err, out)
	}
}

// HasLink reports whether ip(8) lists a link named name in the namespace.
func (n *NS) HasLink(t testing.TB, name string) bool {
	t.Helper()
	var ls []struct {
		Ifname string `json:"ifname"`
	}
	n.IPJSON(t, &ls, "link", "show")
	for _, l := range ls {
		if l.Ifname == name {
			return true
		}
	}
	return false
}

// Eventually calls cond until it returns nil or timeout passes, then fails
// the test with cond's last error. Use it for state the kernel settles
// asynchronously (carrier, DAD, namespace teardown), never to time code.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
