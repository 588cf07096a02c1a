package vip_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// keepalived runs in the lab as the anchor the package is measured
// against: VRRP, advert_int 1, one instance per node namespace.

// keepalivedPath is where Debian installs keepalived; it is not always on
// a non-root PATH.
const keepalivedPath = "/usr/sbin/keepalived"

// findKeepalived returns keepalived's path, or why keepalived cannot run
// here (it is started in a node's namespace with nsenter).
func findKeepalived() (bin, reason string) {
	if _, err := exec.LookPath("nsenter"); err != nil {
		return "", fmt.Sprintf("nsenter (util-linux) not found to start keepalived in a namespace: %v", err)
	}
	if p, err := exec.LookPath("keepalived"); err == nil {
		return p, ""
	}
	if _, err := os.Stat(keepalivedPath); err != nil {
		return "", fmt.Sprintf("keepalived is not installed (not on PATH, %v)", err)
	}
	return keepalivedPath, ""
}

// adopt makes this process the reaper of its orphaned descendants until
// the test ends: a crash of keepalived (SIGKILL of its main process) leaves
// its VRRP child to the nearest subreaper, and only a reaper can wait for
// it, so none is left behind as a zombie.
func adopt(tb testing.TB) error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	tb.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	return nil
}

// vrrpConfig is a node's keepalived configuration: every node starts as
// BACKUP and does not preempt, so a restarted node never takes the address
// back and a takeover happens only when the owner goes.
const vrrpConfig = `global_defs {
	router_id node%[1]d
}
vrrp_instance VI_1 {
	state BACKUP
	nopreempt
	interface %[2]s
	virtual_router_id 50
	priority %[3]d
	advert_int 1
	virtual_ipaddress {
		%[4]s/32 dev %[2]s
	}
}
`

// vrrpNode is keepalived on node index of a lab, restartable.
type vrrpNode struct {
	tb    testing.TB
	l     *lab
	index int
	bin   string
	dir   string // configuration, pid files, log
	conf  string
	runs  int

	// Of the current run:
	cmd    *exec.Cmd
	exited chan struct{} // closed when the main process has exited
	logEnd chan struct{} // closed when no process of the run holds the log open
	err    error         // cmd.Wait's, once exited is closed
	child  int           // the VRRP child's pid, 0 until the log names it
	mu     sync.Mutex
	lines  []string      // the run's log (keepalived -l writes it to stdout)
	grew   chan struct{} // closed and replaced when lines grows
}

var vrrpChildPID = regexp.MustCompile(`Starting VRRP child process, pid=(\d+)`)

// startVRRP writes node i's configuration into a temporary directory and
// starts keepalived there; it is stopped when the test ends.
func (l *lab) startVRRP(i int, bin, ip string) *vrrpNode {
	l.t.Helper()
	dir := l.t.TempDir()
	n := &vrrpNode{tb: l.t, l: l, index: i, bin: bin, dir: dir, conf: filepath.Join(dir, "keepalived.conf")}
	if err := os.WriteFile(n.conf, fmt.Appendf(nil, vrrpConfig, i, nodeLink, 100-i, ip), 0o644); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(n.kill)
	n.start()
	return n
}

// start runs keepalived in the foreground (-n), VRRP only (-P), logging
// details to stdout (-l -D) and not to syslog (-G), with pid files of this
// run (a crash leaves the previous run's behind).
func (n *vrrpNode) start() {
	n.tb.Helper()
	n.runs++
	pid := func(what string) string { return filepath.Join(n.dir, fmt.Sprintf("run%d-%s.pid", n.runs, what)) }
	r, w, err := os.Pipe()
	if err != nil {
		n.tb.Fatal(err)
	}
	cmd := exec.Command("nsenter", "--net="+n.l.nodes[n.index].Path, n.bin,
		"-n", "-l", "-D", "-G", "-P", "-f", n.conf,
		"-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checkers"), "-b", pid("bfd"))
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		n.tb.Fatalf("node %d: keepalived: %v", n.index, err)
	}
	n.mu.Lock()
	n.cmd, n.exited, n.logEnd, n.err, n.child = cmd, make(chan struct{}), make(chan struct{}), nil, 0
	n.lines, n.grew = nil, make(chan struct{})
	n.mu.Unlock()
	// nsenter execs keepalived: cmd's process is keepalived's main process.
	logEnd := n.logEnd
	go func() {
		defer close(logEnd)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			if n.cmd != cmd { // a later run: this pipe's writer is a leftover
				n.mu.Unlock()
				continue
			}
			if m := vrrpChildPID.FindStringSubmatch(line); m != nil {
				n.child, _ = strconv.Atoi(m[1])
			}
			n.lines = append(n.lines, line)
			close(n.grew)
			n.grew = make(chan struct{})
			n.mu.Unlock()
		}
	}()
	exited := n.exited
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
		close(exited)
	}()
}

// waitLog waits until the current run logged a line containing s and
// returns it; the test fails after timeout (a guard against a hang) or when
// keepalived exits first.
func (n *vrrpNode) waitLog(s string, timeout time.Duration) string {
	n.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		for _, line := range n.lines {
			if strings.Contains(line, s) {
				n.mu.Unlock()
				return line
			}
		}
		grew, exited := n.grew, n.exited
		n.mu.Unlock()
		select {
		case <-grew:
		case <-exited:
			n.tb.Fatalf("node %d: keepalived exited (%v) before logging %q:\n%s", n.index, n.err, s, n.log())
		case <-deadline.C:
			n.tb.Fatalf("node %d: keepalived did not log %q within %v:\n%s", n.index, s, timeout, n.log())
		}
	}
}

func (n *vrrpNode) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.lines, "\n")
}

// vrrpChild returns the pid of the current run's VRRP child process,
// checked to be a child of the main process.
func (n *vrrpNode) vrrpChild() int {
	n.tb.Helper()
	n.waitLog("Starting VRRP child process", 10*time.Second)
	n.mu.Lock()
	pid := n.child
	n.mu.Unlock()
	if pp, err := ppid(pid); err != nil || pp != n.cmd.Process.Pid {
		n.tb.Fatalf("node %d: keepalived's VRRP child %d: parent %d (%v), want %d", n.index, pid, pp, err, n.cmd.Process.Pid)
	}
	return pid
}

// ppid reads a process's parent from /proc.
func ppid(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return strconv.Atoi(f[1])
}

// stop stops keepalived gracefully: SIGTERM to the main process, which
// has the VRRP child send a priority 0 advertisement and remove the
// address. It returns when the signal was sent.
func (n *vrrpNode) stop() time.Time {
	n.tb.Helper()
	child := n.vrrpChild()
	at := time.Now()
	if err := n.cmd.Process.Signal(unix.SIGTERM); err != nil {
		n.tb.Fatalf("node %d: keepalived: SIGTERM: %v", n.index, err)
	}
	n.wait(10 * time.Second)
	n.reap(child)
	return at
}

// crash makes keepalived vanish the way a crash does: the main process is
// stopped first (it would restart its VRRP child), the VRRP child killed,
// then the main process. Killing the main process alone makes the child
// exit gracefully (its parent-death signal is SIGTERM). It returns when
// the VRRP child was killed.
func (n *vrrpNode) crash() time.Time {
	n.tb.Helper()
	child := n.vrrpChild()
	if err := n.cmd.Process.Signal(unix.SIGSTOP); err != nil {
		n.tb.Fatalf("node %d: keepalived: SIGSTOP: %v", n.index, err)
	}
	// Stopped, the main process cannot reap the child: its pid stays its.
	at := time.Now()
	if err := unix.Kill(child, unix.SIGKILL); err != nil {
		n.tb.Fatalf("node %d: keepalived's VRRP child %d: SIGKILL: %v", n.index, child, err)
	}
	if err := n.cmd.Process.Kill(); err != nil {
		n.tb.Fatalf("node %d: keepalived: SIGKILL: %v", n.index, err)
	}
	n.wait(10 * time.Second)
	n.reap(child)
	return at
}

// wait waits for the main process to exit, killing it after timeout.
func (n *vrrpNode) wait(timeout time.Duration) {
	select {
	case <-n.exited:
	case <-time.After(timeout):
		n.tb.Errorf("node %d: keepalived %d did not exit within %v:\n%s", n.index, n.cmd.Process.Pid, timeout, n.log())
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// reap waits for the VRRP child once its parent is gone: its parent
// reaped it, or it was left to this process (see adopt), which waits for
// it, killing it if it outlives its parent by 5 s. A pid this process
// has not reaped cannot be reused, so the kill hits the right process.
func (n *vrrpNode) reap(pid int) {
	if pid == 0 {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD), got == pid:
			return // reaped by its parent, or now by us
		case err != nil:
			n.tb.Errorf("node %d: wait for keepalived's VRRP child %d: %v", n.index, pid, err)
			return
		}
		if time.Now().After(deadline) {
			n.tb.Errorf("node %d: keepalived's VRRP child %d outlived its parent by 5 s; killing it", n.index, pid)
			unix.Kill(pid, unix.SIGKILL)
			for {
				if _, err := unix.Wait4(pid, &ws, 0, nil); !errors.Is(err, unix.EINTR) {
					return
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill ends the current run if it still runs: SIGTERM, then SIGKILL after
// 5 s; the VRRP child is reaped either way.
func (n *vrrpNode) kill() {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.exited:
	default:
		n.cmd.Process.Signal(unix.SIGCONT) // in case a crash stopped halfway
		n.cmd.Process.Signal(unix.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(5 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
	}
	// The log names the child; a child that outlives its parent keeps the
	// log open, but the line naming it is read by then.
	select {
	case <-n.logEnd:
	case <-time.After(time.Second):
	}
	n.mu.Lock()
	child := n.child
	n.mu.Unlock()
	n.reap(child)
}
