//go:build linux

package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestMesh(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and TUN links")
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
