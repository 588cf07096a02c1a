package etcdtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/internal/etcdtest"
)

// putGet writes key=val through c and reads it back.
func putGet(ctx context.Context, c *clientv3.Client, key, val string) error {
	if _, err := c.Put(ctx, key, val); err != nil {
		return err
	}
	resp, err := c.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != val {
		return fmt.Errorf("read back %v", resp.Kvs)
	}
	return nil
}

func TestStart(t *testing.T) {
	s := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := putGet(ctx, s.Client(t), "/k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Stop() // idempotent; the cleanup calls it once more
}

func TestProxyBlock(t *testing.T) {
	s := etcdtest.Start(t)
	p := etcdtest.NewProxy(t, s.Endpoints()[0])
	c := etcdtest.NewClient(t, []string{p.Endpoint()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := putGet(ctx, c, "/k", "before"); err != nil {
		t.Fatal(err)
	}

	p.Block()
	// The request is sent on the open connection and never answered: the
	// call ends with its context, not with a connection error. Its bytes
	// reach the server after Unblock, together with the next requests, and
	// the server may apply it after them: it writes a key of its own.
	bctx, bcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err := c.Put(bctx, "/held", "blocked")
	bcancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put while blocked: %v, want %v", err, context.DeadlineExceeded)
	}
	// A client that connects while blocked hangs as well.
	late := etcdtest.NewClient(t, []string{p.Endpoint()})
	bctx, bcancel = context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = late.Get(bctx, "/k")
	bcancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("new client's get while blocked: %v, want %v", err, context.DeadlineExceeded)
	}

	p.Unblock()
	if err := putGet(ctx, c, "/k", "after"); err != nil {
		t.Fatal(err)
	}
	if err := putGet(ctx, late, "/k", "late"); err != nil {
		t.Fatal(err)
	}
}
