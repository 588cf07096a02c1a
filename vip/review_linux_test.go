package vip_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/vip"
)

// hasVIP reports whether ip is an address of ns, read with one dump.
func hasVIP(t *testing.T, ns *nstest.NS, ip netip.Addr) bool {
	t.Helper()
	as, err := addr.List(context.Background(), ns.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Address.Addr() == ip {
			return true
		}
	}
	return false
}

// TestReviewHungOwnerOutlivesProof: the kernel lifetime is the dead-man
// switch of an owner that hangs. Every address added on the host runs the
// kernel's expiry check at once, and a check that finds the next expiry
// less than a second away schedules the next one a full second later
// (ADDRCONF_TIMER_FUZZ_MAX): an unrelated address added while the hung
// owner's lifetime runs out keeps the shared IP up to about 1.25 s past
// its lifetime. The lifetime ends vip.LifetimeSlack (1.5 s) before
// ProvenUntil for that reason; with 300 ms the address outlived the proof
// by about half a second.
func TestReviewHungOwnerOutlivesProof(t *testing.T) {
	p := newPair(t)
	ip := netip.MustParseAddr("10.89.0.50")
	el := newFakeElector()
	acquired := make(chan struct{}, 1)
	hang := make(chan struct{})
	var unhang sync.Once
	c, err := vip.New(p.N.Namespace, vip.Config{Address: ip, Link: nodeLink}, el, vip.WithEvents(func(e vip.Event) {
		if e.Kind == vip.Acquired {
			acquired <- struct{}{}
			<-hang // the owner hangs right after taking the address up
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		unhang.Do(func() { close(hang) })
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return 10 s after its context ended")
		}
	})
	waitCampaign(t, el)
	term := el.grant("t1", 2600*time.Millisecond, nil) // address lifetime: 1 s
	until := term.ProvenUntil()
	select {
	case <-acquired:
	case <-time.After(5 * time.Second):
		t.Fatal("no Acquired within 5 s")
	}
	// Another address of the node comes up (a Reconciler, DHCP, an
	// operator) shortly before the shared IP's lifetime ends.
	time.Sleep(time.Until(until.Add(-500 * time.Millisecond)))
	p.N.Run(t, "ip", "addr", "add", "10.89.0.77/32", "dev", nodeLink)
	var last time.Time // the last sample that saw the address
	for deadline := until.Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if !hasVIP(t, p.N, ip) {
			break
		}
		last = time.Now()
	}
	if last.After(until) {
		t.Fatalf("the hung owner's address was still on the link %v after ProvenUntil (the lifetime ends vip.LifetimeSlack before it)", last.Sub(until).Round(time.Millisecond))
	}
}

// TestReviewStatusReason: Status.Reason says why the node is not healthy
// (Status's documentation), also when it was unhealthy from the start.
func TestReviewStatusReason(t *testing.T) {
	t.Run("link down at start", func(t *testing.T) {
		p := newPair(t)
		p.N.Run(t, "ip", "link", "set", nodeLink, "down")
		r := start(t, p.N.Namespace, vip.Config{Address: netip.MustParseAddr("10.89.0.50"), Link: nodeLink}, newFakeElector())
		nstest.Eventually(t, 3*time.Second, func() error {
			if st := r.c.Status(); st.Healthy || st.Reason == "" {
				return errors.New("Status with the link down: Healthy " + boolString(st.Healthy) + ", Reason \"" + st.Reason + "\"; want a reason naming the link")
			}
			return nil
		})
	})
	t.Run("check failing from the start", func(t *testing.T) {
		p := newPair(t)
		r := start(t, p.N.Namespace, vip.Config{Address: netip.MustParseAddr("10.89.0.50"), Link: nodeLink,
			Health: vip.HealthOptions{Interval: 20 * time.Millisecond, Failures: 2, Check: func(context.Context) error {
				return errors.New("api server not answering")
			}}}, newFakeElector())
		nstest.Eventually(t, 3*time.Second, func() error {
			if st := r.c.Status(); st.Healthy || st.Reason == "" {
				return errors.New("Status with a failing check: Healthy " + boolString(st.Healthy) + ", Reason \"" + st.Reason + "\"; want the check's failure")
			}
			return nil
		})
	})
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestReviewStatusNotLeadingOnceRemoved: Status.Leading "reports that this
// node owns the address". Once the address is removed on step-down the
// node no longer owns it, yet Status keeps Leading (and the term) while the
// resignation runs, which takes up to two seconds when the backend is slow.
func TestReviewStatusNotLeadingOnceRemoved(t *testing.T) {
	p := newPair(t)
	ip := netip.MustParseAddr("10.89.0.50")
	el := newFakeElector()
	r := start(t, p.N.Namespace, vip.Config{Address: ip, Link: nodeLink}, el)
	waitCampaign(t, el)
	var sawAddr, sawLeading atomic.Bool
	el.grant("t1", 10*time.Second, func() {
		// The backend is slow to answer the resignation.
		sawAddr.Store(hasVIP(t, p.N, ip))
		sawLeading.Store(r.c.Status().Leading)
	})
	r.wait(t, vip.Acquired, 5*time.Second)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if !sawAddr.Load() && sawLeading.Load() {
		t.Fatal("during the resignation the address was removed but Status reported Leading")
	}
}
