package nstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// rootlessEnv marks the copy of the test binary that Main started in a user
// namespace, so that it never re-executes itself again.
const rootlessEnv = "NSTEST_USERNS"

// Main runs the tests of a package; call it from TestMain:
//
//	func TestMain(m *testing.M) { nstest.Main(m) }
//
// As root it just runs them. Not root, it runs the test binary again, with
// the same arguments, as root of new user, network and mount namespaces
// (what "unshare -Urnm" does) and exits with that run's status; the output
// is the inner run's. In there New works as it does for root, and
// netprim.NetnsDir is a private tmpfs (when it exists on the host), so "ip
// -n NAME" works too. When user namespaces are unavailable the tests run
// here anyway and New skips them, saying why.
//
// Main calls os.Exit and does not return.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(rootlessEnv) != "" {
		os.Unsetenv(rootlessEnv) // not inherited by what the tests run
		if os.Geteuid() != 0 {
			rootlessReason = "nstest: re-run in a user namespace but not root there"
		} else {
			privateNetnsDir()
		}
		return m.Run()
	}
	if os.Geteuid() == 0 {
		return m.Run()
	}
	code, err := rerunInUserns()
	if err != nil {
		rootlessReason = fmt.Sprintf("nstest: not root and user namespaces unavailable (unshare -Urn): %v", err)
		return m.Run()
	}
	return code
}

// rerunInUserns runs this test binary again as root of new user, network
// and mount namespaces and returns its exit status. The error is non-nil
// only when the namespaces could not be created.
func rerunInUserns() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// Pdeathsig fires when the thread that started the child exits: keep
	// this goroutine on its thread until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), rootlessEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT, unix.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, describeCloneError(err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s) // e.g. go test's SIGQUIT on timeout
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(os.Stderr, "nstest: test binary in user namespace: %v\n", err)
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	fmt.Fprintf(os.Stderr, "nstest: test binary in user namespace: %v\n", err)
	return 1, nil
}

// describeCloneError names the system call and the usual cause.
func describeCloneError(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	hint := ""
	switch errno {
	case unix.ENOSPC:
		hint = " (limit user.max_user_namespaces reached)"
	case unix.EPERM, unix.EACCES:
		hint = " (disabled by sysctl or security policy, e.g. kernel.unprivileged_userns_clone=0)"
	}
	return fmt.Errorf("clone(CLONE_NEWUSER|CLONE_NEWNET|CLONE_NEWNS): %w%s", errno, hint)
}

// privateNetnsDir mounts a tmpfs, private to this mount namespace, on
// netprim.NetnsDir so that New can bind namespaces there. Without it New
// falls back to /proc/PID/fd paths.
func privateNetnsDir() {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return
	}
	if st, err := os.Stat(netprim.NetnsDir); err != nil || !st.IsDir() {
		return
	}
	unix.Mount("nstest", netprim.NetnsDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755")
}
