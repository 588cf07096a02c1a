package vip_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNoElectorDependencies: importing vip compiles neither etcd nor
// client-go; the electors live in their own packages. The go tool, not
// this package, lists what vip depends on.
func TestNoElectorDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not on PATH, so the dependencies of package vip cannot be listed: %v", err)
	}
	const pkg = "github.com/netprim/netprim/vip"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goTool, "list", "-deps", pkg)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.Bytes())
	}
	deps := strings.Fields(string(out))
	found := false
	for _, d := range deps {
		if d == pkg {
			found = true
		}
		if strings.HasPrefix(d, "go.etcd.io") || strings.HasPrefix(d, "k8s.io") {
			t.Errorf("package vip depends on %s", d)
		}
	}
	if !found {
		t.Fatalf("go list -deps %s does not list the package itself:\n%s", pkg, out)
	}
}
