package selector

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// sysfs reads a sysfs tree through an fs.FS rooted at the filesystem root,
// so that "sys/class/net/eth0" is /sys/class/net/eth0. Symbolic links are
// resolved with fs.ReadLink, so fsys must implement fs.ReadLinkFS (os.DirFS
// and testing/fstest.MapFS do).
type sysfs struct {
	fsys fs.FS
}

// device is one sysfs device directory, by its resolved path under
// sys/devices.
type device struct {
	fs   sysfs
	path string
}

const maxLinks = 40

// resolve returns p with every symbolic link in it resolved, relative to
// the root of the tree.
func (s sysfs) resolve(p string) (string, error) {
	p = path.Clean(p)
	done := ""
	rest := strings.Split(p, "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			done = path.Dir(done)
			if done == "." {
				done = ""
			}
			continue
		}
		next := path.Join(done, c)
		fi, err := fs.Lstat(s.fsys, next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := fs.ReadLink(s.fsys, next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = ""
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if done == "" {
		return ".", nil
	}
	return done, nil
}

// attr returns the content of the attribute file name of d, without the
// trailing newline.
func (d device) attr(name string) (string, error) {
	b, err := fs.ReadFile(d.fs.fsys, path.Join(d.path, name))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// raw returns the bytes of the attribute file name of d.
func (d device) raw(name string) ([]byte, error) {
	return fs.ReadFile(d.fs.fsys, path.Join(d.path, name))
}

// uint parses an unsigned decimal attribute.
func (d device) uint(name string) (uint64, error) {
	v, err := d.attr(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
}

// sysname is the last element of the device path.
func (d device) sysname() string { return path.Base(d.path) }

// subsystem is the name of the directory the "subsystem" link points to,
// "" when there is none.
func (d device) subsystem() string {
	t, err := fs.ReadLink(d.fs.fsys, path.Join(d.path, "subsystem"))
	if err != nil {
		return ""
	}
	return path.Base(t)
}

// uevent returns the value of key in the device's uevent file.
func (d device) uevent(key string) string {
	v, err := d.attr("uevent")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(v, "\n") {
		if k, val, ok := strings.Cut(line, "="); ok && k == key {
			return val
		}
	}
	return ""
}

// parent returns the nearest ancestor directory that is a device (has a
// uevent file) below sys/devices.
func (d device) parent() (device, bool) {
	p := d.path
	for {
		p = path.Dir(p)
		if p == "sys/devices" || p == "sys" || p == "." || p == "/" {
			return device{}, false
		}
		if _, err := fs.Stat(d.fs.fsys, path.Join(p, "uevent")); err == nil {
			return device{fs: d.fs, path: p}, true
		}
	}
}

// parentWith returns the nearest ancestor in subsystem (and of devtype, when
// not empty).
func (d device) parentWith(subsystem, devtype string) (device, bool) {
	for p, ok := d.parent(); ok; p, ok = p.parent() {
		if p.subsystem() == subsystem && (devtype == "" || p.uevent("DEVTYPE") == devtype) {
			return p, true
		}
	}
	return device{}, false
}

// child resolves the link or directory name inside d to a device.
func (d device) child(name string) (device, error) {
	p, err := d.fs.resolve(path.Join(d.path, name))
	if err != nil {
		return device{}, err
	}
	return device{fs: d.fs, path: p}, nil
}
