package kube

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/nstest"
	"github.com/netprim/netprim/vip"
)

// TestReviewAddressKeptWhileLeading: with the shortest TTL the options
// accept with the default margin and retry period (4 s: Options refuses a
// TTL whose address lifetime, vip.HoldLifetime, is not longer than the 1 s
// plus RetryPeriod between two moves of the proof), a vip.Controller
// elected by this package keeps the shared IP on its link for as long as it
// leads. (With TTL 2 s and a lifetime of 1 s the leader dropped the address
// it owned about once a second.)
func TestReviewAddressKeptWhileLeading(t *testing.T) {
	nstest.RequireModules(t, "ipv6")
	n, peer := nstest.New(t), nstest.New(t)
	nstest.Veth(t, n, "eth0", peer, "peer0")
	n.Run(t, "ip", "addr", "add", "10.89.0.1/24", "dev", "eth0")
	nstest.Settle(t, n)
	ip := netip.MustParseAddr("10.89.0.50")

	s := newAPIServer(0)
	nd := s.newNode(t, "n1", Options{TTL: 4 * time.Second})
	var mu sync.Mutex
	var leading bool
	var failures []string
	acquired := make(chan struct{}, 1)
	c, err := vip.New(n.Namespace, vip.Config{Address: ip, Link: "eth0"}, nd.e, vip.WithEvents(func(e vip.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case vip.Acquired:
			leading = true
			select {
			case acquired <- struct{}{}:
			default:
			}
		case vip.Lost, vip.Released:
			leading = false
			failures = append(failures, e.String())
		case vip.Failed:
			failures = append(failures, e.Time.Format("15:04:05.000")+" "+e.String())
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return 10 s after its context ended")
		}
	}()
	select {
	case <-acquired:
	case <-time.After(20 * time.Second):
		t.Fatal("no Acquired within 20 s")
	}

	missing, samples := 0, 0
	var firstMissing time.Time
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		as, err := addr.List(context.Background(), n.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		has := false
		for _, a := range as {
			has = has || a.Address.Addr() == ip
		}
		mu.Lock()
		l := leading
		mu.Unlock()
		if !l {
			break
		}
		samples++
		if !has {
			if missing == 0 {
				firstMissing = time.Now()
			}
			missing++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if missing > 0 {
		t.Fatalf("the leader's address was missing in %d of %d samples while it led (first at %s); events:\n%s",
			missing, samples, firstMissing.Format("15:04:05.000"), strings.Join(failures, "\n"))
	}
	if !leading {
		t.Fatalf("the term ended: %s", strings.Join(failures, "\n"))
	}
}
