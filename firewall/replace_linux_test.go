package firewall

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAtomicReplace replaces the ruleset 100 times, each time rewriting the
// rule that allows port 443, while an established connection keeps
// exchanging data and new connections to 443 are opened in a loop: none may
// fail.
func TestAtomicReplace(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	specs := []Spec{
		{Table: "fw", DefaultAction: DefaultBlock, Rules: []Rule{
			{Name: "web", Protocol: TCP, Ports: []string{"80"}, Subnets: pfxs("10.1.0.0/24"), Action: Accept},
			{Name: "tls-a", Protocol: TCP, Ports: []string{"443"}, Subnets: pfxs("10.1.0.2/32"), Action: Accept},
		}},
		{Table: "fw", DefaultAction: DefaultBlock, Rules: []Rule{
			{Name: "tls-b", Protocol: TCP, Ports: []string{"443", "8443"}, Subnets: pfxs("10.1.0.0/24", "fd01::/64"), Action: Accept},
			{Name: "web", Protocol: TCP, Ports: []string{"80"}, Subnets: pfxs("10.1.0.0/24"), Action: Accept},
			{Name: "dns", Protocol: UDP, Ports: []string{"53"}, Subnets: pfxs("10.1.0.0/24"), Action: Reject},
		}},
	}
	if _, err := Apply(ctx, l.S.Namespace, specs[0]); err != nil {
		t.Fatal(err)
	}

	// The established connection, opened before the replacements.
	var est net.Conn
	if err := l.C.Do(func() (err error) {
		est, err = net.DialTimeout("tcp", "10.1.0.1:80", time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	echo := func() error {
		est.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := est.Write([]byte("hello")); err != nil {
			return err
		}
		buf := make([]byte, 5)
		_, err := io.ReadFull(est, buf)
		return err
	}
	if err := echo(); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var attempts, failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.C.Do(func() error {
			for !stop.Load() {
				attempts.Add(1)
				c, err := net.DialTimeout("tcp", "10.1.0.1:443", 2*time.Second)
				if err == nil {
					c.SetDeadline(time.Now().Add(2 * time.Second))
					if _, err = c.Write([]byte("x")); err == nil {
						_, err = io.ReadFull(c, make([]byte, 1))
					}
					c.Close()
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
			return nil
		})
	}()
	for i := range 100 {
		pl, err := Apply(ctx, l.S.Namespace, specs[(i+1)%2])
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("replacement %d: %v", i, err)
		}
		if !strings.Contains(pl.String(), "- nftables rule inet fw input: tls-") || !strings.Contains(pl.String(), "+ nftables rule inet fw input: ") {
			t.Errorf("replacement %d did not replace the rule for port 443:\n%s", i, pl)
		}
		if i%10 == 0 {
			if err := echo(); err != nil {
				t.Errorf("established connection after replacement %d: %v", i, err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := echo(); err != nil {
		t.Errorf("established connection after 100 replacements: %v", err)
	}
	t.Logf("%d new connections during 100 replacements, %d failed", attempts.Load(), failures.Load())
	if failures.Load() != 0 {
		t.Errorf("%d of %d new connections to an allowed port failed during replacements; first: %v", failures.Load(), attempts.Load(), firstErr.Load())
	}
	if attempts.Load() == 0 {
		t.Error("no connection attempted during the replacements")
	}
}
