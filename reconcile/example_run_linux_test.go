package reconcile_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The examples that change the kernel need CAP_NET_ADMIN, so they carry no
// Output comment; these tests run them in a throwaway namespace and check
// what they print, as go test checks an Output comment.

func runExample(t *testing.T, name string, example func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	saved, stdout := blue, os.Stdout
	blue, os.Stdout = name, w
	func() {
		defer func() { blue, os.Stdout = saved, stdout }()
		example()
	}()
	w.Close()
	return <-out
}

func TestExample(t *testing.T) {
	n := vethNS(t)
	if _, err := os.Stat("/var/run/netns/" + n.Name); err != nil {
		t.Skipf("namespace %s has no name under /var/run/netns: %v", n.Name, err)
	}
	got := runExample(t, n.Name, Example)
	want := `~ link veth0 mtu 1500 -> 1400
+ address 192.0.2.10/24 dev veth0
+ route 198.51.100.0/24 via 192.0.2.1
+ address 192.0.2.50/32 dev veth0
- address 192.0.2.50/32 dev veth0
static link veth0, address 192.0.2.10 dev veth0, route 198.51.100.0/24 table main metric 0
vip 
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	got = runExample(t, n.Name, ExampleSource_Try)
	if !strings.Contains(got, "~ link veth0 mtu 1400 -> 9000") || !strings.Contains(got, "rolled back: the management address stopped answering") {
		t.Errorf("ExampleSource_Try printed:\n%s", got)
	}
}
