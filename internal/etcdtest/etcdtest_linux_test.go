package etcdtest_test

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim/internal/etcdtest"
	"github.com/netprim/netprim/nstest"
)

// TestInNamespace starts the server in one namespace and reaches it from
// another over a veth pair; ss in the server's namespace, not the code
// under test, shows where it listens.
func TestInNamespace(t *testing.T) {
	srv, node := nstest.New(t), nstest.New(t)
	nstest.Veth(t, srv, "etcd0", node, "node0")
	srv.Run(t, "ip", "addr", "add", "10.77.0.1/24", "dev", "etcd0")
	node.Run(t, "ip", "addr", "add", "10.77.0.2/24", "dev", "node0")
	ip := netip.MustParseAddr("10.77.0.1")

	s := etcdtest.Start(t, etcdtest.InNamespace(srv.Namespace, ip))
	ep := s.Endpoints()[0]
	port, ok := strings.CutPrefix(ep, "http://10.77.0.1:")
	if !ok {
		t.Fatalf("endpoint %s, want one on 10.77.0.1", ep)
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("endpoint %s: port: %v", ep, err)
	}
	out := string(srv.Run(t, "ss", "-Hltn", "src", "10.77.0.1", "sport", "= :"+port))
	if !strings.Contains(out, "10.77.0.1:"+port) {
		t.Fatalf("ss in the server's namespace does not list 10.77.0.1:%s:\n%s", port, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := putGet(ctx, s.ClientIn(t, node.Namespace), "/k", "v"); err != nil {
		t.Fatalf("client in the node namespace: %v", err)
	}
}
