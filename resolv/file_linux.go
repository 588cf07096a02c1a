package resolv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// maxLinks bounds how many symbolic links write-through follows.
const maxLinks = 16

// rootDir is the root directory, opened once per call. Every path below
// it is resolved by the kernel with openat2(RESOLVE_IN_ROOT), as under
// chroot(2): an absolute symbolic link target, in any component of a path,
// starts at the root, and ".." at the root stays there, so no lookup, read
// or write ever leaves the root directory.
type rootDir struct {
	path string
	fd   int
}

func openRoot(path string) (*rootDir, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fileError("use root", path, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	return &rootDir{path: path, fd: fd}, nil
}

func (r *rootDir) close() { unix.Close(r.fd) }

// show returns name as shown to people: joined with the root's path.
func (r *rootDir) show(name string) string { return filepath.Join(r.path, name) }

// open opens name, relative to the root, and returns the descriptor.
func (r *rootDir) open(name string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	var err error
	for range 16 {
		var fd int
		fd, err = unix.Openat2(r.fd, name, &how)
		switch {
		case err == nil:
			return fd, nil
		case err == unix.EAGAIN || err == unix.EINTR:
			continue // a concurrent rename or a signal: the kernel asks to retry
		case err == unix.ENOSYS && r.path == "/":
			// Before Linux 5.6: under "/" there is nothing to escape.
			fd, err = unix.Openat(r.fd, name, flags|unix.O_CLOEXEC, 0)
			if err == nil {
				return fd, nil
			}
		case err == unix.ENOSYS:
			return -1, fmt.Errorf("%w: confining paths to the root directory %s needs openat2 (Linux 5.6)", netprim.ErrUnsupported, r.path)
		}
		break
	}
	return -1, &fs.PathError{Op: "open", Path: r.show(name), Err: err}
}

// splitPath splits a root-relative path at its last slash, without
// cleaning it: ".." after a linked directory must be resolved by the
// kernel, not lexically.
func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return ".", p
	case i == 0:
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

// lstatAt returns the status of name in the directory dfd, not following
// a link.
func lstatAt(dfd int, name string) (unix.Stat_t, error) {
	var sb unix.Stat_t
	for {
		err := unix.Fstatat(dfd, name, &sb, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return sb, err
		}
	}
}

func isLink(sb unix.Stat_t) bool { return sb.Mode&unix.S_IFMT == unix.S_IFLNK }

// readlinkAt returns the target of the link name in the directory dfd.
func readlinkAt(dfd int, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}

// inspect reads the file rel under r, following the symlink policy.
func inspect(r *rootDir, rel string, policy SymlinkPolicy) (fileState, error) {
	path := r.show(rel)
	st := fileState{display: path, target: path}
	st.dir, st.name = splitPath(rel)
	dfd, err := r.open(st.dir, unix.O_PATH|unix.O_DIRECTORY)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fileError("inspect", path, err)
	}
	defer func() { unix.Close(dfd) }()
	sb, err := lstatAt(dfd, st.name)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fileError("inspect", path, err)
	}
	if isLink(sb) {
		link, err := readlinkAt(dfd, st.name)
		if err != nil {
			return st, fileError("inspect", path, err)
		}
		st.link = link
		switch policy {
		case SymlinkReplace:
			st.replace = true
			// Show the diff against what readers see through the link now.
			if fd, err := r.open(rel, unix.O_RDONLY|unix.O_NONBLOCK); err == nil {
				st.content, _ = readRegular(fd)
			}
			return st, nil
		case SymlinkWriteThrough:
			// Follow the chain of links, each resolved inside the root.
			p := rel
			for i := 0; ; i++ {
				if i == maxLinks {
					return st, fileError("inspect", path, fmt.Errorf("more than %d symbolic links", maxLinks))
				}
				if !strings.HasPrefix(link, "/") {
					dir, _ := splitPath(p)
					link = dir + "/" + link
				}
				p = link
				st.target, st.through = r.show(p), true
				st.dir, st.name = splitPath(p)
				if st.name == "" || st.name == "." || st.name == ".." {
					return st, fileError("inspect", st.target, errors.New("symbolic link does not name a file"))
				}
				unix.Close(dfd)
				dfd, err = r.open(st.dir, unix.O_PATH|unix.O_DIRECTORY)
				if errors.Is(err, fs.ErrNotExist) {
					dfd = -1
					return st, nil // the write reports the missing directory
				}
				if err != nil {
					dfd = -1
					return st, fileError("inspect", st.target, err)
				}
				// Show where the target really is: the lexical path may
				// pass through linked directories.
				if d, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(dfd)); err == nil && filepath.IsAbs(d) {
					st.target = filepath.Join(d, st.name)
				}
				sb, err = lstatAt(dfd, st.name)
				if errors.Is(err, fs.ErrNotExist) {
					return st, nil // a dangling link: write the target
				}
				if err != nil {
					return st, fileError("inspect", st.target, err)
				}
				if !isLink(sb) {
					break
				}
				if link, err = readlinkAt(dfd, st.name); err != nil {
					return st, fileError("inspect", st.target, err)
				}
			}
		default:
			return st, &netprim.OpError{Op: "write", Object: "file " + path, Err: fmt.Errorf(
				"%w: it points to %s, so another program (systemd-resolved, NetworkManager, resolvconf, ...) probably manages it; "+
					"refusing to write (resolv.WithSymlinkPolicy: SymlinkWriteThrough writes the target, SymlinkReplace replaces the link)",
				ErrSymlink, link)}
		}
	}
	if sb.Mode&unix.S_IFMT != unix.S_IFREG {
		return st, fileError("inspect", st.target, fmt.Errorf("not a regular file (%s)", typeName(sb.Mode)))
	}
	fd, err := unix.Openat(dfd, st.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, fileError("read", st.target, &fs.PathError{Op: "open", Path: st.target, Err: err})
	}
	f := os.NewFile(uintptr(fd), st.target)
	defer f.Close()
	if err := unix.Fstat(fd, &sb); err != nil {
		return st, fileError("read", st.target, err)
	}
	if sb.Mode&unix.S_IFMT != unix.S_IFREG {
		return st, fileError("inspect", st.target, errors.New("not a regular file"))
	}
	content, err := io.ReadAll(f)
	if err != nil {
		return st, fileError("read", st.target, err)
	}
	st.exists = true
	st.content = content
	st.mode = fs.FileMode(sb.Mode & 0o777)
	st.uid, st.gid = int(sb.Uid), int(sb.Gid)
	return st, nil
}

// typeName names the file type in the mode m of a stat(2) result.
func typeName(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFIFO:
		return "named pipe"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "device"
	}
	return "special file"
}

// readRegular reads and closes fd when it is a regular file.
func readRegular(fd int) ([]byte, error) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	var sb unix.Stat_t
	if err := unix.Fstat(fd, &sb); err != nil {
		return nil, err
	}
	if sb.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errors.New("not a regular file")
	}
	return io.ReadAll(f)
}

// writeFile makes st hold want and returns the number of writes made: none
// when the content and mode are already right.
func writeFile(r *rootDir, st fileState, want []byte) (int64, error) {
	if !st.replace && st.exists && bytes.Equal(st.content, want) {
		if st.mode == FileMode {
			return 0, nil
		}
		if err := chmodFile(r, st); err != nil {
			return 0, fileError("chmod", st.target, err)
		}
		return 1, nil
	}
	if err := atomicWrite(r, st, want); err != nil {
		return 0, err
	}
	return 1, nil
}

// chmodFile gives the regular file of st FileMode, through a descriptor.
func chmodFile(r *rootDir, st fileState) error {
	dfd, err := r.open(st.dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, st.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchmod(fd, FileMode)
}

// mkdirAll creates the directory dir below r and its missing parents,
// every step resolved inside the root.
func mkdirAll(r *rootDir, dir string) error {
	cur := "."
	for _, c := range strings.Split(dir, "/") {
		if c == "" || c == "." {
			continue
		}
		next := cur + "/" + c
		if fd, err := r.open(next, unix.O_PATH|unix.O_DIRECTORY); err == nil {
			unix.Close(fd)
			cur = next
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		pfd, err := r.open(cur, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		err = unix.Mkdirat(pfd, c, 0o755)
		unix.Close(pfd)
		if err != nil {
			if err == unix.EEXIST {
				// A link whose target is missing inside the root: it is
				// not replaced, and its target is not created.
				err = fmt.Errorf("exists but does not lead to a directory inside the root directory %s", r.path)
			}
			return &fs.PathError{Op: "mkdir", Path: r.show(next), Err: err}
		}
		cur = next
	}
	return nil
}

// atomicWrite writes a temporary file in the directory of the target,
// syncs it, renames it over the target and syncs the directory, so readers
// see the old or the new content, never a part, and a crash leaves one of
// the two. The file gets FileMode and keeps the owner of the file it
// replaces. All of it goes through one descriptor of that directory,
// found inside the root.
func atomicWrite(r *rootDir, st fileState, want []byte) (err error) {
	dfd, err := r.open(st.dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, fs.ErrNotExist) && !st.through {
		// ROOT/etc may not exist yet under a fresh root directory. The
		// directory of a link's target is never created: a link into a
		// missing directory belongs to a program that is not running.
		if err = mkdirAll(r, st.dir); err == nil {
			dfd, err = r.open(st.dir, unix.O_RDONLY|unix.O_DIRECTORY)
		}
	}
	if err != nil {
		return fileError("write", st.target, err)
	}
	defer unix.Close(dfd)
	var tmp string
	var fd int
	for range 16 {
		tmp = "." + st.name + ".tmp-" + strconv.FormatUint(rand.Uint64(), 36)
		fd, err = unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return fileError("write", st.target, &fs.PathError{Op: "create", Path: r.show(st.dir + "/" + tmp), Err: err})
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err := f.Write(want); err != nil {
		return fileError("write", st.target, err)
	}
	if err := f.Chmod(FileMode); err != nil {
		return fileError("write", st.target, err)
	}
	if st.exists && (st.uid != os.Geteuid() || st.gid != os.Getegid()) {
		if err := f.Chown(st.uid, st.gid); err != nil {
			return fileError("keep owner of", st.target, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fileError("write", st.target, err)
	}
	if err := f.Close(); err != nil {
		return fileError("write", st.target, err)
	}
	if err := unix.Renameat(dfd, tmp, dfd, st.name); err != nil {
		return fileError("write", st.target, &fs.PathError{Op: "rename", Path: st.target, Err: err})
	}
	removeStaleTemps(dfd, st.name)
	if err := unix.Fsync(dfd); err != nil {
		return fileError("sync directory of", st.target, err)
	}
	return nil
}

// staleAge is the age after which a temporary file of a managed file is
// the leftover of a writer that died between creating and renaming it.
const staleAge = 10 * time.Minute

// removeStaleTemps removes, from the directory dfd, temporary files of name
// older than staleAge, left by writers that were killed. Younger ones may
// belong to a writer still at work and are kept.
func removeStaleTemps(dfd int, name string) {
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), ".")
	names, _ := d.Readdirnames(-1)
	d.Close()
	prefix := "." + name + ".tmp-"
	for _, m := range names {
		if !strings.HasPrefix(m, prefix) {
			continue
		}
		sb, err := lstatAt(dfd, m)
		if err == nil && sb.Mode&unix.S_IFMT == unix.S_IFREG && time.Since(time.Unix(sb.Mtim.Unix())) > staleAge {
			unix.Unlinkat(dfd, m, 0)
		}
	}
}

func fileError(op, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		err = fmt.Errorf("%w: %w", netprim.ErrPermission, err)
	case errors.Is(err, fs.ErrNotExist):
		err = fmt.Errorf("%w: %w", netprim.ErrNotFound, err)
	}
	return &netprim.OpError{Op: op, Object: "file " + path, Err: err}
}
