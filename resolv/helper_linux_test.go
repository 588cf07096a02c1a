package resolv

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv selects what a re-executed test binary does: "glibc" runs the
// glibc oracle inside private namespaces, "writer" loops Apply for the
// kill test.
const helperEnv = "NETPRIM_RESOLV_HELPER"

// runInPrivateNamespaces re-runs the test named test of this binary inside
// new mount (private propagation), UTS and network namespaces, and fails t
// with the child's output if the child fails. As a user that is not root it
// adds a user namespace mapping the user to root (unshare -r).
func runInPrivateNamespaces(t *testing.T, test string) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) from util-linux")
	}
	args := []string{"--mount", "--uts", "--net", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append(args, "--user", "--map-root-user")
	}
	if out, err := exec.Command("unshare", append(args, "true")...).CombinedOutput(); err != nil {
		t.Skipf("cannot create mount+UTS+network namespaces (unshare %s true): %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	args = append(args, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), helperEnv+"=glibc")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("inside namespaces: %v\n%s", err, out)
	}
	t.Logf("inside namespaces:\n%s", out)
}

// requirePrivate fails unless this process is in mount, UTS and network
// namespaces other than init's, with "/" not shared to the parent, so
// that bind mounts and host names set here cannot reach the host.
func requirePrivate(t *testing.T) {
	t.Helper()
	for _, ns := range []string{"mnt", "uts", "net"} {
		self, err1 := os.Readlink("/proc/self/ns/" + ns)
		init, err2 := os.Readlink("/proc/1/ns/" + ns)
		if err1 != nil || (err2 == nil && self == init) {
			t.Fatalf("refusing to run: %s namespace is the host's (%s, %v %v)", ns, self, err1, err2)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		f := strings.Fields(l)
		if len(f) > 6 && f[4] == "/" {
			for _, opt := range f[6:] {
				if opt == "-" {
					break
				}
				if strings.HasPrefix(opt, "shared:") {
					t.Fatalf("refusing to run: / is a shared mount here: %s", l)
				}
			}
		}
	}
}
