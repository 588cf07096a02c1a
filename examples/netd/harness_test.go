//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// asNetd makes the test binary run main (netd itself) when a test starts
// it as a daemon: the tests judge the program from outside, by its exit
// status, output and the kernel state.
const asNetd = "NETD_TEST_AS_NETD"

func TestMain(m *testing.M) {
	if os.Getenv(asNetd) == "1" {
		os.Args = append([]string{"netd"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needRoot skips a test that creates namespaces when not root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs netd on network namespaces it creates")
	}
}

// proc is a running netd.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    []string // stdout lines
	errOut []string // stderr lines
	lines  chan string
	exited chan struct{}
	code   int
}

// startNetd starts netd with args; it is killed (SIGKILL) when the test
// ends if still running.
func startNetd(t testing.TB, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asNetd+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 4096), exited: make(chan struct{})}
	var wg sync.WaitGroup
	read := func(r io.Reader, dst *[]string, feed bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			*dst = append(*dst, sc.Text())
			p.mu.Unlock()
			if feed {
				select {
				case p.lines <- sc.Text():
				default:
				}
			}
		}
	}
	wg.Add(2)
	go read(stdout, &p.out, true)
	go read(stderr, &p.errOut, true)
	go func() {
		wg.Wait()
		err := cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("netd %s output:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout(), p.stderr())
		}
	})
	return p
}

func (p *proc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, "\n")
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.errOut, "\n")
}

// waitLine waits for an output line (stdout or stderr) containing s and
// returns it.
func (p *proc) waitLine(s string, within time.Duration) string {
	p.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, s) {
				return l
			}
		case <-p.exited:
			// Lines still buffered may hold it.
			for {
				select {
				case l := <-p.lines:
					if strings.Contains(l, s) {
						return l
					}
				default:
					p.t.Fatalf("netd exited (status %d) before printing %q", p.code, s)
				}
			}
		case <-deadline:
			p.t.Fatalf("netd printed no line containing %q within %v", s, within)
		}
	}
}

// signal sends sig and, for SIGTERM/SIGINT, waits for the exit and returns
// the status and how long it took.
func (p *proc) stop(sig syscall.Signal) (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return p.code, time.Since(start)
	case <-time.After(20 * time.Second):
		p.t.Fatalf("netd did not exit 20 s after %v", sig)
		return 0, 0
	}
}

// wait waits for netd to exit by itself (an invalid file, --dry-run).
func (p *proc) wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(within):
		p.t.Fatalf("netd still running after %v", within)
		return 0
	}
}

// writeConfig writes a configuration file into a temp dir and returns its
// path.
func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// rewrite replaces the content of a configuration file.
func rewrite(t testing.TB, path, yaml string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

var _ = fmt.Sprint

// lockedBuffer collects what a process writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
