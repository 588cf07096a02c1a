package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/netprim/netprim/nstest"
	"io"
	"strings"
	"testing"
	"time"
)

// TestApplyTry: apply --try keeps the changes when Enter comes in time and
// rolls them back at the end of input or at the deadline, saying which;
// after a rollback ip(8) shows what was there before.
func TestApplyTry(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(t, "ip", "link", "set", "veth1", "up")
	if _, stderr, code := netctl(t, "", "apply", "-f", "testdata/basic.yaml", "--netns", n.Name); code != 0 {
		t.Fatalf("apply: %s", stderr)
	}
	// What ip shows once the kernel is done with what it does on its own
	// (link-local addresses, duplicate address detection, local routes).
	state := func() string {
		nstest.Settle(t, n)
		return string(n.Run(t, "ip", "-j", "-d", "addr", "show")) + string(n.Run(t, "ip", "-j", "route", "show", "table", "all"))
	}
	before := state()
	doc := `links:
  - {name: veth0, mtu: 1300, up: true}
addresses:
  - {link: veth0, address: 192.0.2.99/24}
routes:
  - {destination: 203.0.113.0/24, gateway: 192.0.2.1}
`
	// End of input: rolled back.
	out, stderr, code := netctl(t, doc, "apply", "--try", "5s", "-f", "-", "--netns", n.Name)
	if code != 1 || !strings.Contains(out, "+ address 192.0.2.99/24 dev veth0") || !strings.Contains(out, "rolled back") || !strings.Contains(stderr, "end of input") {
		t.Errorf("try with EOF: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if after := state(); after != before {
		t.Errorf("after the rollback:\n%s\nbefore:\n%s", after, before)
	}
	// No Enter before the deadline: rolled back.
	pr, pw := io.Pipe()
	defer pw.Close()
	var o, e bytes.Buffer
	code = run(context.Background(), []string{"apply", "--try", "300ms", "-f", "testdata/full.yaml", "--netns", n.Name}, pr, &o, &e)
	if code != 1 || !strings.Contains(o.String(), "rolled back") || !strings.Contains(e.String(), "no Enter within 300ms") {
		t.Errorf("try past the deadline: exit %d\nstdout:\n%s\nstderr:\n%s", code, o.String(), e.String())
	}
	if after := state(); after != before {
		t.Errorf("after the rollback at the deadline:\n%s\nbefore:\n%s", after, before)
	}
	// Enter: kept.
	f := strings.NewReader("\n")
	o.Reset()
	e.Reset()
	code = run(context.Background(), []string{"apply", "--try", "5s", "-f", "testdata/basic.yaml", "--netns", n.Name}, f, &o, &e)
	if code != 0 || !strings.Contains(o.String(), "kept") {
		t.Errorf("try with Enter: exit %d\nstdout:\n%s\nstderr:\n%s", code, o.String(), e.String())
	}
}

// TestApplyServeRepairsDrift: apply --serve keeps the document applied
// until interrupted: an MTU changed with ip(8) is put back, and the
// repairing pass is printed.
func TestApplyServeRepairsDrift(t *testing.T) {
	n := named(t)
	n.Run(t, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.Run(t, "ip", "link", "set", "veth1", "up")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"apply", "-f", "testdata/basic.yaml", "--serve", "--netns", n.Name}, strings.NewReader(""), &out, &errb)
	}()
	mtu := func() int {
		var ls []struct{ Mtu int }
		n.IPJSON(t, &ls, "link", "show", "veth0")
		return ls[0].Mtu
	}
	nstest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "keeping the document applied") {
			return fmt.Errorf("not serving yet: %q", out.String())
		}
		return nil
	})
	n.Run(t, "ip", "link", "set", "veth0", "mtu", "1500")
	nstest.Eventually(t, 10*time.Second, func() error {
		if m := mtu(); m != 1400 {
			return fmt.Errorf("mtu %d", m)
		}
		if !strings.Contains(out.String(), "~ link veth0 mtu 1500 -> 1400") {
			return fmt.Errorf("repair not printed: %q", out.String())
		}
		return nil
	})
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("apply --serve: exit %d: %s", code, errb.String())
	}
}
