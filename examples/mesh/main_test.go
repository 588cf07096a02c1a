//go:build linux

package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/netprim/netprim/nstest"
)

// TestMain re-runs the tests as root of new user and network namespaces
// when not root, so the mesh is also tested without privileges.
func TestMain(m *testing.M) { nstest.Main(m) }

func TestMesh(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root or user namespaces: creates network namespaces and TUN links")
	}
	var out strings.Builder
	failed, err := run(context.Background(), &out, 3)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 {
		t.Fatalf("%d pairs failed:\n%s", failed, out.String())
	}
	// 3 nodes × 2 peers, every one up.
	if n := strings.Count(out.String(), " up "); n != 6 {
		t.Fatalf("%d peers up, want 6:\n%s", n, out.String())
	}
	if _, err := run(context.Background(), &out, 1); err == nil {
		t.Fatal("-n 1 accepted")
	}
}
