package kube_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/netprim/netprim/vip/kube"
)

// A node campaigns for the shared IP 192.0.2.10 on a Lease in kube-system.
// A real program passes a clientset from rest.InClusterConfig or a
// kubeconfig; this example uses client-go's fake clientset.
func Example() {
	client := fake.NewClientset()
	e, err := kube.New(client, "kube-system", "vip-192-0-2-10", "node-a", kube.Options{TTL: 4 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	term, err := e.Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(term.ID())
	leader, _ := e.Leader(ctx)
	fmt.Println("leader:", leader)
	fmt.Println("verify:", term.Verify(ctx))
	fmt.Println("proven:", time.Until(term.ProvenUntil()) > 0)

	// Give the address up first, then resign: the next node wins at once.
	if err := term.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	leader, _ = e.Leader(ctx)
	fmt.Printf("leader after resigning: %q\n", leader)
	// Output:
	// kube lease kube-system/vip-192-0-2-10 holder node-a transitions 0
	// leader: node-a
	// verify: <nil>
	// proven: true
	// leader after resigning: ""
}
