package dhcp_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// Example changes the kernel and needs a DHCP server, so it carries no
// Output comment; this test runs it against dnsmasq in throwaway
// namespaces and checks what it prints.
func TestExample(t *testing.T) {
	hostTier(t)
	l := newLab(t)
	if _, err := os.Stat("/var/run/netns/" + l.C.Name); err != nil {
		t.Skipf("namespace %s has no name under /var/run/netns: %v", l.C.Name, err)
	}
	l.dnsmasq(t, "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m", "--dhcp-option=option:router,10.77.0.1")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string)
	go func() { b, _ := io.ReadAll(r); out <- string(b) }()
	savedNS, savedLink, savedRoot, stdout := blue, eth0, exampleRoot, os.Stdout
	blue, eth0, exampleRoot, os.Stdout = l.C.Name, clientLink, t.TempDir(), w
	func() {
		defer func() { blue, eth0, exampleRoot, os.Stdout = savedNS, savedLink, savedRoot, stdout }()
		Example()
	}()
	w.Close()
	got := <-out
	for _, want := range []string{"bound 10.77.0.", "/24 via [10.77.0.1]\nreleased <nil>\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("Example printed %q, want it to contain %q", got, want)
		}
	}
	nstest.Eventually(t, 5*time.Second, func() error {
		if as := kernelAddrs(t, l.C, clientLink); len(as) != 0 {
			return fmt.Errorf("addresses after the example released its lease: %+v", as)
		}
		return nil
	})
}
