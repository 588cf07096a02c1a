package resolv

import (
	"errors"

	"github.com/netprim/netprim"
)

// File names Apply writes, relative to the root directory.
const (
	ResolvConfPath = "etc/resolv.conf"
	HostsPath      = "etc/hosts"
	HostnamePath   = "etc/hostname"
)

// FileMode is the mode of every file Apply writes.
const FileMode = 0o644

// ErrSymlink is wrapped by the error Apply and Plan return for a file that
// is a symbolic link under the default SymlinkRefuse policy.
var ErrSymlink = errors.New("file is a symbolic link")

// SymlinkPolicy says what Apply does when a file it manages is a symbolic
// link, as /etc/resolv.conf is when systemd-resolved, NetworkManager or
// resolvconf manage it ("/etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf").
type SymlinkPolicy uint8

// Symlink policies.
const (
	// SymlinkRefuse (the default) writes nothing and returns an error
	// wrapping ErrSymlink that names the link and its target. A link means
	// another program owns the file: writing through it would fight that
	// program, which rewrites its file, and replacing the link would
	// silently switch it off. Only the caller can decide which is wanted.
	SymlinkRefuse SymlinkPolicy = iota
	// SymlinkWriteThrough writes the file the link points to, atomically
	// in that file's directory, and keeps the link. The link is followed
	// inside the root directory as under chroot: an absolute target starts
	// at the root and ".." stops there. The Plan warns. A dangling link is
	// written through when the target's directory exists; that directory
	// is never created.
	SymlinkWriteThrough
	// SymlinkReplace replaces the link itself by a regular file (the rename
	// is atomic: readers see the link or the new file). The Plan shows a
	// Recreate change naming the old target.
	SymlinkReplace
)

// String returns "refuse", "write-through" or "replace".
func (p SymlinkPolicy) String() string {
	switch p {
	case SymlinkRefuse:
		return "refuse"
	case SymlinkWriteThrough:
		return "write-through"
	case SymlinkReplace:
		return "replace"
	}
	return "unknown"
}

type optKey int

const (
	keySymlink optKey = iota
	keyUTS
	keyCallerUTS
)

// WithSymlinkPolicy sets what Apply does with a managed file that is a
// symbolic link; the default is SymlinkRefuse.
func WithSymlinkPolicy(p SymlinkPolicy) netprim.Option {
	return func(o *netprim.Options) { o.Set(keySymlink, p) }
}

// WithUTSNamespace makes ApplyHostname (and Apply) set the kernel host
// name in the UTS namespace at path, e.g. "/proc/1234/ns/uts" or a bind
// mount of one. The calling thread's namespace is never changed: the work
// runs on a new goroutine locked to its OS thread, which joins the
// namespace, switches back to its own UTS namespace and only then is
// unlocked; if switching back fails the thread stays locked and the Go
// runtime destroys it when the goroutine ends. It takes precedence over
// WithCallerUTSNamespace.
func WithUTSNamespace(path string) netprim.Option {
	return func(o *netprim.Options) { o.Set(keyUTS, path) }
}

// WithCallerUTSNamespace makes ApplyHostname (and Apply) set the kernel host
// name of the calling process's UTS namespace: on a host, the machine's
// host name. Without it or WithUTSNamespace only /etc/hostname is written.
func WithCallerUTSNamespace() netprim.Option {
	return func(o *netprim.Options) { o.Set(keyCallerUTS, true) }
}

type settings struct {
	netprim.Options
	symlink   SymlinkPolicy
	utsPath   string
	callerUTS bool
}

func resolveOptions(opts []netprim.Option) settings {
	o := netprim.Resolve(opts...)
	s := settings{Options: o}
	if p, ok := o.Value(keySymlink).(SymlinkPolicy); ok {
		s.symlink = p
	}
	if p, ok := o.Value(keyUTS).(string); ok {
		s.utsPath = p
	}
	if c, ok := o.Value(keyCallerUTS).(bool); ok {
		s.callerUTS = c
	}
	return s
}
