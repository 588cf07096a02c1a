//go:build linux

package netprim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// NetnsDir is the directory where iproute2 keeps named network namespaces
// ("ip netns add NAME" bind-mounts the namespace at NetnsDir/NAME).
const NetnsDir = "/var/run/netns"

// Namespace is an open handle to a Linux network namespace.
//
// A nil *Namespace means the network namespace of the calling process; every
// function in netprim accepts nil. A Namespace holds one file descriptor
// until Close. It is safe for concurrent use; Close must not race with use.
//
// netprim never switches the network namespace of a thread that goes back to
// the Go scheduler's pool: netlink sockets are opened against the namespace
// file descriptor, and work that needs to run inside the namespace (Do) runs
// on a locked, throwaway OS thread that is destroyed afterwards.
type Namespace struct {
	fd   int
	name string
}

// OpenNamespace opens the named network namespace created by
// "ip netns add NAME", that is the file NetnsDir/NAME.
func OpenNamespace(name string) (*Namespace, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return nil, fmt.Errorf("netns %q: %w: not a namespace name", name, ErrInvalidSpec)
	}
	ns, err := OpenNamespacePath(filepath.Join(NetnsDir, name))
	if err != nil {
		return nil, err
	}
	ns.name = name
	return ns, nil
}

// OpenNamespacePath opens the network namespace at path, for example
// "/proc/1234/ns/net" or a bind mount made by "ip netns add".
func OpenNamespacePath(path string) (*Namespace, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nsOpenError(path, err)
	}
	if err := checkNetns(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netns %s: %w", path, err)
	}
	return &Namespace{fd: fd, name: path}, nil
}

// OpenNamespacePID opens the network namespace of process pid.
func OpenNamespacePID(pid int) (*Namespace, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("netns pid %d: %w: pid must be positive", pid, ErrInvalidSpec)
	}
	ns, err := OpenNamespacePath("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return nil, err
	}
	ns.name = "pid:" + strconv.Itoa(pid)
	return ns, nil
}

// NamespaceFromFD returns a Namespace for a duplicate of fd, which must refer
// to a network namespace. The caller keeps ownership of fd.
func NamespaceFromFD(fd int) (*Namespace, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netns fd %d: %w", fd, err)
	}
	if err := checkNetns(nfd); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("netns fd %d: %w", fd, err)
	}
	return &Namespace{fd: nfd, name: "fd:" + strconv.Itoa(fd)}, nil
}

// CurrentNamespace opens the network namespace of the calling thread. It is
// useful to hold on to the namespace the process started in.
func CurrentNamespace() (*Namespace, error) {
	ns, err := OpenNamespacePath("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	ns.name = "current"
	return ns, nil
}

// FD returns the namespace file descriptor, or -1 for the nil Namespace (the
// caller's namespace). The descriptor stays owned by ns.
func (ns *Namespace) FD() int {
	if ns == nil {
		return -1
	}
	return ns.fd
}

// String names the namespace the way it was opened; "host" for nil.
func (ns *Namespace) String() string {
	if ns == nil {
		return "host"
	}
	return ns.name
}

// Close releases the namespace file descriptor. Closing nil is a no-op.
func (ns *Namespace) Close() error {
	if ns == nil || ns.fd < 0 {
		return nil
	}
	err := unix.Close(ns.fd)
	ns.fd = -1
	return err
}

// Do runs fn inside the namespace on a dedicated, locked OS thread, so no
// other goroutine ever runs in the switched namespace. The thread switches
// back afterwards and is handed back to the scheduler only if that worked;
// otherwise it is destroyed. With a nil Namespace fn runs on the caller's
// goroutine. Sockets created by fn stay bound to the namespace after Do
// returns.
func (ns *Namespace) Do(fn func() error) error {
	if ns == nil {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netns %s: open current namespace: %w", ns, err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netns %s: setns: %w", ns, classifyErrno(err, "CAP_SYS_ADMIN"))
			return
		}
		err = fn()
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// Still locked: the runtime destroys this thread when the
			// goroutine exits instead of reusing it in the wrong namespace.
			done <- errors.Join(err, fmt.Errorf("netns %s: switching back: %w", ns, rerr))
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}

func checkNetns(fd int) error {
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err == nil {
		if typ != unix.CLONE_NEWNET {
			return fmt.Errorf("%w: a namespace, but not a network namespace", ErrInvalidSpec)
		}
		return nil
	}
	// Kernels before 4.11 lack NS_GET_NSTYPE: accept an nsfs file.
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return err
	}
	const nsfsMagic = 0x6e736673
	if st.Type != nsfsMagic {
		return fmt.Errorf("%w: not a namespace file", ErrInvalidSpec)
	}
	return nil
}

func nsOpenError(path string, err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("netns %s: %w: %w", path, ErrNotFound, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("netns %s: %w: %w", path, ErrPermission, err)
	}
	return fmt.Errorf("netns %s: %w", path, err)
}

// NewNamespace creates a new, empty network namespace (only a loopback
// link, down) and returns a handle to it. The namespace has no name: it
// exists until the handle is closed and nothing else (a process, a bind
// mount, a socket) refers to it. Path returns a file name for it that other
// processes can use while the handle is open. Needs CAP_SYS_ADMIN.
func NewNamespace() (*Namespace, error) {
	var ns *Namespace
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netns: open current namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netns: create: %w", classifyErrno(err, "CAP_SYS_ADMIN"))
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// Still locked: the thread is destroyed with this goroutine.
			if err == nil {
				unix.Close(fd)
			}
			done <- fmt.Errorf("netns: switching back: %w", rerr)
			return
		}
		runtime.UnlockOSThread()
		if err != nil {
			done <- fmt.Errorf("netns: open new namespace: %w", err)
			return
		}
		ns = &Namespace{fd: fd, name: "new:" + strconv.Itoa(fd)}
		done <- nil
	}()
	return ns, <-done
}

// Path returns a file name that refers to the namespace while ns is open
// ("/proc/PID/fd/FD"), usable by other processes (nsenter --net=PATH) and by
// functions that take a namespace path. For nil it is the calling process's
// namespace, "/proc/PID/ns/net".
func (ns *Namespace) Path() string {
	if ns == nil {
		return "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/net"
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(ns.fd)
}
