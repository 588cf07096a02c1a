package wireguard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// uapiTimeout bounds one read of a UAPI socket, so a hung server cannot
// block List.
const uapiTimeout = 5 * time.Second

// errNoServer: the socket does not exist or nobody serves it (a stale
// file left by a process that died).
var errNoServer = errors.New("no UAPI server")

// readSocket reads the device served on SocketDir/name.sock with the UAPI
// "get" operation. The answer carries the private key; it stays in the
// returned devState, which never leaves the package.
func readSocket(ctx context.Context, name string) (devState, error) {
	path := filepath.Join(SocketDir, name+".sock")
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return devState{}, errNoServer
		}
		return devState{}, fmt.Errorf("wireguard: %s: connect to %s: %w", name, path, err)
	}
	defer c.Close()
	deadline := time.Now().Add(uapiTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	if _, err := c.Write([]byte("get=1\n\n")); err != nil {
		return devState{}, fmt.Errorf("wireguard: %s: UAPI get: %w", name, err)
	}
	var b strings.Builder
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return devState{}, fmt.Errorf("wireguard: %s: UAPI get: %w", name, err)
		}
		if line == "\n" {
			break
		}
		b.WriteString(line)
	}
	st, err := parseUAPIGet(b.String())
	if err != nil {
		return devState{}, fmt.Errorf("wireguard: %s: %w", name, err)
	}
	return st, nil
}
