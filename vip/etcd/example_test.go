package etcd_test

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netprim/netprim/vip/etcd"
)

// The owner of a shared IP campaigns, holds the address while its term
// proves leadership, and resigns when it stops. It needs an etcd server
// (here at 127.0.0.1:2379), so the example is compiled, not run.
func Example() {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"http://127.0.0.1:2379"},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	e, err := etcd.New(client, "/netprim/vip/192.0.2.10", "node-1", etcd.Options{TTL: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()

	term, err := e.Campaign(ctx)
	if err != nil {
		fmt.Println("campaign:", err)
		return
	}
	fmt.Println("leading as", term.ID(), "until at least", term.ProvenUntil())
	// Take the address up with a lifetime that ends at ProvenUntil, so the
	// kernel drops it should this process hang.
	for {
		select {
		case <-term.Renewed():
			// Extend the address's lifetime to the new ProvenUntil.
		case <-term.Done():
			// Lost (or could not renew in time): remove the address.
			fmt.Println("term ended:", term.(*etcd.Term).Err())
			return
		case <-ctx.Done():
			// Stopping: remove the address first, then let another
			// node win at once.
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := term.Resign(rctx); err != nil {
				fmt.Println("resign:", err)
			}
			return
		}
	}
}
