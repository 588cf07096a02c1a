package wireguard

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprim/netprim/nstest"
)

// TestCloseWithIdleUAPIClient: a client that keeps its UAPI connection
// open does not keep the device alive. Close ends the connection and
// returns, and the link and the socket file are gone.
func TestCloseWithIdleUAPIClient(t *testing.T) {
	if !uapiWritable() {
		t.Skip("cannot create UAPI sockets in " + SocketDir + " (not the host's root)")
	}
	ctx := context.Background()
	n := nstest.New(t)
	s := Spec{Name: uniqueName(t), PrivateKey: mustKey(t), ListenPort: 51820}
	d, _, err := Apply(ctx, n.Namespace, s, WithBackend(BackendUserspace), WithUAPISocket())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sock := filepath.Join(SocketDir, s.Name+".sock")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One request answered, then the client stays idle.
	if _, err := c.Write([]byte("get=1\n\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the get answer: %v", err)
		}
		if line == "\n" {
			break
		}
	}

	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	// A guard against hanging forever, not a timing requirement.
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Close did not return while a UAPI client held its connection open")
	}
	// The server side hung up: the client reads EOF (or a reset).
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("the UAPI connection is still open after Close")
	}
	if got := linkNames(t, n); strings.Contains(strings.Join(got, " "), s.Name) {
		t.Errorf("link still there after Close: %v", got)
	}
	if _, err := os.Stat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
	// The handle stays usable as a closed handle: nothing blocks.
	if _, err := d.Status(ctx); err == nil {
		t.Error("Status on a closed device succeeded")
	}
}
