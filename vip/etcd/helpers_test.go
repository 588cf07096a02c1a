package etcd_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/internal/etcdtest"
	"github.com/netprim/netprim/vip/etcd"
)

// testTTL keeps the tests short: a crashed leader's key expires after
// about two seconds.
const testTTL = 3 * time.Second

// hang bounds every wait of the tests so that a bug fails a test instead
// of hanging it; it is no measured bound on anything.
const hang = 30 * time.Second

// node is one candidate: an elector on a client of its own, optionally
// reaching the server through a proxy that can cut it off.
type node struct {
	id     string
	client *clientv3.Client
	proxy  *etcdtest.Proxy
	e      *etcd.Elector
}

func newNode(t *testing.T, s *etcdtest.Server, prefix, id string) *node {
	t.Helper()
	c := s.Client(t)
	return &node{id: id, client: c, e: mustElector(t, c, prefix, id)}
}

// newProxiedNode is newNode with the client behind a Proxy.
func newProxiedNode(t *testing.T, s *etcdtest.Server, prefix, id string) *node {
	t.Helper()
	p := etcdtest.NewProxy(t, s.Endpoints()[0])
	c := etcdtest.NewClient(t, []string{p.Endpoint()})
	return &node{id: id, client: c, proxy: p, e: mustElector(t, c, prefix, id)}
}

func mustElector(t *testing.T, c *clientv3.Client, prefix, id string) *etcd.Elector {
	t.Helper()
	e, err := etcd.New(c, prefix, id, etcd.Options{TTL: testTTL})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// won is the outcome of a Campaign: the term, or the error, and when
// Campaign returned.
type won struct {
	node *node
	term *etcd.Term
	err  error
	at   time.Time
}

// campaign runs n's Campaign in a goroutine and sends its outcome on out
// (buffered, so the goroutine never blocks). At the end of the test the
// campaign is cancelled, and the term it won resigned, before the clients
// close.
func campaign(t *testing.T, n *node, out chan won) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var term *etcd.Term
	wg.Add(1)
	go func() {
		defer wg.Done()
		vt, err := n.e.Campaign(ctx)
		w := won{node: n, err: err, at: time.Now()}
		if err == nil {
			w.term = vt.(*etcd.Term)
			term = w.term
		}
		out <- w
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if term != nil {
			rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer rcancel()
			term.Resign(rctx)
		}
	})
}

// await waits for the next campaign outcome on ch and fails the test on
// error.
func await(t *testing.T, ch <-chan won) won {
	t.Helper()
	select {
	case w := <-ch:
		if w.err != nil {
			t.Fatalf("%s: campaign: %v", w.node.id, w.err)
		}
		return w
	case <-time.After(hang):
		t.Fatalf("no campaign returned within %v", hang)
	}
	panic("unreachable")
}

// noWinner fails the test if a campaign outcome is waiting on ch.
func noWinner(t *testing.T, ch <-chan won, leader string) {
	t.Helper()
	select {
	case w := <-ch:
		t.Fatalf("%s's campaign returned (%v) while %s leads", w.node.id, w.err, leader)
	default:
	}
}

// ended reports whether the term's Done is closed now.
func ended(t *etcd.Term) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	t.Cleanup(cancel)
	return ctx
}

// termGoroutinesGone fails the test unless, soon, no goroutine runs code
// of a Term: call it when every term has ended.
func termGoroutinesGone(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(hang)
	buf := make([]byte, 1<<20)
	for {
		var left []string
		for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "vip/etcd.(*Term)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of ended terms still run:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
