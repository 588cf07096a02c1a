package resolv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/netprim/netprim"
)

// maxLinks bounds how many symbolic links write-through follows.
const maxLinks = 16

// inspect reads the file rel under root, following the symlink policy.
func inspect(root, rel string, policy SymlinkPolicy) (fileState, error) {
	path := filepath.Join(root, rel)
	st := fileState{display: path, target: path}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fileError("inspect", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		link, err := os.Readlink(path)
		if err != nil {
			return st, fileError("inspect", path, err)
		}
		st.link = link
		switch policy {
		case SymlinkReplace:
			st.replace = true
			// Show the diff against what readers see through the link now.
			if t, err := resolveInRoot(root, path); err == nil {
				st.content, _ = os.ReadFile(t)
			}
			return st, nil
		case SymlinkWriteThrough:
			t, err := resolveInRoot(root, path)
			if err != nil {
				return st, fileError("inspect", path, err)
			}
			st.target, st.through = t, true
			fi, err = os.Lstat(t)
			if errors.Is(err, fs.ErrNotExist) {
				return st, nil
			}
			if err != nil {
				return st, fileError("inspect", t, err)
			}
		default:
			return st, &netprim.OpError{Op: "write", Object: "file " + path, Err: fmt.Errorf(
				"%w: it points to %s, so another program (systemd-resolved, NetworkManager, resolvconf, ...) probably manages it; "+
					"refusing to write (resolv.WithSymlinkPolicy: SymlinkWriteThrough writes the target, SymlinkReplace replaces the link)",
				ErrSymlink, link)}
		}
	}
	if !fi.Mode().IsRegular() {
		return st, fileError("inspect", st.target, fmt.Errorf("not a regular file (%s)", fi.Mode().Type()))
	}
	content, err := os.ReadFile(st.target)
	if err != nil {
		return st, fileError("read", st.target, err)
	}
	st.exists = true
	st.content = content
	st.mode = fi.Mode().Perm()
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.uid, st.gid = int(sys.Uid), int(sys.Gid)
	}
	return st, nil
}

// resolveInRoot follows the symbolic links at path as if root were "/",
// and refuses a target outside root.
func resolveInRoot(root, path string) (string, error) {
	root = filepath.Clean(root)
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil // a dangling link: write the target
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(link) {
			path = filepath.Join(root, link)
		} else {
			path = filepath.Join(filepath.Dir(path), link)
		}
		if root != "/" && path != root && !strings.HasPrefix(path, root+string(filepath.Separator)) {
			return "", fmt.Errorf("symbolic link leads outside the root directory %s", root)
		}
	}
	return "", fmt.Errorf("more than %d symbolic links", maxLinks)
}

// writeFile makes st hold want and returns the number of writes made: none
// when the content and mode are already right.
func writeFile(st fileState, want []byte) (int64, error) {
	if !st.replace && st.exists && bytes.Equal(st.content, want) {
		if st.mode == FileMode {
			return 0, nil
		}
		if err := os.Chmod(st.target, FileMode); err != nil {
			return 0, fileError("chmod", st.target, err)
		}
		return 1, nil
	}
	if err := atomicWrite(st, want); err != nil {
		return 0, err
	}
	return 1, nil
}

// atomicWrite writes a temporary file in the directory of the target,
// syncs it, renames it over the target and syncs the directory, so readers
// see the old or the new content, never a part, and a crash leaves one of
// the two. The file gets FileMode and keeps the owner of the file it
// replaces.
func atomicWrite(st fileState, want []byte) (err error) {
	dir := filepath.Dir(st.target)
	if !st.through {
		// ROOT/etc may not exist yet under a fresh root directory. The
		// directory of a link's target is never created: a link into a
		// missing directory belongs to a program that is not running.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fileError("write", st.target, err)
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(st.target)+".tmp-*")
	if err != nil {
		return fileError("write", st.target, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
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
	if err := os.Rename(tmp, st.target); err != nil {
		return fileError("write", st.target, err)
	}
	removeStaleTemps(st.target)
	d, err := os.Open(dir)
	if err != nil {
		return fileError("sync directory of", st.target, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fileError("sync directory of", st.target, err)
	}
	return nil
}

// staleAge is the age after which a temporary file of a managed file is
// the leftover of a writer that died between creating and renaming it.
const staleAge = 10 * time.Minute

// removeStaleTemps removes temporary files of target older than staleAge,
// left by writers that were killed. Younger ones may belong to a writer
// still at work and are kept.
func removeStaleTemps(target string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleAge {
			os.Remove(m)
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
