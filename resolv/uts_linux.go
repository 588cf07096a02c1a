package resolv

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// utsNames are the kernel's host and domain names in one UTS namespace.
type utsNames struct {
	hostname, domainname string
}

// inUTS runs fn in the UTS namespace at path. With an empty path fn runs
// on the caller's goroutine, in the caller's namespace (the caller opted in
// with WithCallerUTSNamespace). Otherwise fn runs on a new goroutine locked
// to its thread, which joins the namespace, and switches back before it is
// unlocked; if switching back fails the thread stays locked and the runtime
// destroys it. (Merely exiting locked is not enough: on the main thread the
// runtime parks the thread, still in the namespace.)
func inUTS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fileError("open UTS namespace", path, err)
	}
	defer unix.Close(fd)
	if typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err != nil || typ != unix.CLONE_NEWUTS {
		return fmt.Errorf("resolv: %s: %w: not a UTS namespace", path, netprim.ErrInvalidSpec)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- utsError("open", "current", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			runtime.UnlockOSThread()
			done <- utsError("setns", path, err)
			return
		}
		err = fn()
		if rerr := unix.Setns(orig, unix.CLONE_NEWUTS); rerr != nil {
			done <- errors.Join(err, utsError("setns back", "current", rerr))
			return // still locked: the thread is destroyed
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}

// utsError wraps an error of a UTS namespace operation; EPERM wraps
// netprim.ErrPermission and names CAP_SYS_ADMIN.
func utsError(op, object string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		err = fmt.Errorf("%w: needs CAP_SYS_ADMIN: %w", netprim.ErrPermission, err)
	}
	return &netprim.OpError{Op: op, Object: "uts " + object, Err: err}
}

func readUTS() (utsNames, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return utsNames{}, err
	}
	n := utsNames{hostname: cstr(u.Nodename[:]), domainname: cstr(u.Domainname[:])}
	if n.domainname == "(none)" {
		n.domainname = ""
	}
	return n, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
