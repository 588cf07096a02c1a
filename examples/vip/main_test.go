//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain runs the test binary as a node process when the scenario
// re-executes it as one (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-node" {
		if err := runNode(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "vip node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestVIP runs the scenario (a graceful stop and a kill of the owner) and
// applies the -check bounds.
func TestVIP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and runs node processes that configure them")
	}
	var out strings.Builder
	rep, err := run(context.Background(), &out, options{nodes: 3, ttl: 3 * time.Second})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.problems(3 * time.Second); len(p) > 0 {
		t.Fatalf("check: %v", p)
	}
	if _, err := run(context.Background(), &out, options{nodes: 1, ttl: 3 * time.Second}); err == nil {
		t.Fatal("-n 1 accepted")
	}
}
