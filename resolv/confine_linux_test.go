package resolv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netprim/netprim"
)

// TestConfinedToRoot: symbolic links, in the managed file or in any
// directory above it, absolute or relative, are resolved inside the root
// directory as under chroot; a file outside the root is never written.
// "Outside" is another temporary directory standing for the host.
func TestConfinedToRoot(t *testing.T) {
	ctx := context.Background()
	spec := *exampleConfig.Resolver
	want := string(RenderResolvConf(spec))
	const host = "nameserver 198.51.100.1\n"
	// outside returns a directory outside root holding file rel.
	outside := func(t *testing.T, rel string) (dir, file string) {
		dir = t.TempDir()
		file = filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, []byte(host), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, file
	}
	untouched := func(t *testing.T, file string) {
		t.Helper()
		if got := readFile(t, file); got != host {
			t.Errorf("file outside the root %s was written: %q", file, got)
		}
	}
	symlink := func(t *testing.T, old, new string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(new), 0o755)
		if err := os.Symlink(old, new); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("etc is an absolute link", func(t *testing.T) {
		root := t.TempDir()
		out, file := outside(t, "etc/resolv.conf")
		symlink(t, filepath.Join(out, "etc"), filepath.Join(root, "etc"))
		// ROOT/etc leads to ROOT/OUT/etc, which does not exist, and the
		// link is not replaced by a directory.
		if _, err := ApplyResolver(ctx, root, spec); err == nil {
			t.Error("Apply wrote through a dangling directory link")
		}
		untouched(t, file)
		// Once ROOT/OUT/etc exists, the file is written there.
		os.MkdirAll(filepath.Join(root, out, "etc"), 0o755)
		if _, err := ApplyResolver(ctx, root, spec); err != nil {
			t.Fatal(err)
		}
		untouched(t, file)
		if got := readFile(t, filepath.Join(root, out, "etc/resolv.conf")); got != want {
			t.Errorf("file inside the root: %q", got)
		}
	})

	t.Run("etc is a relative link out", func(t *testing.T) {
		root := t.TempDir()
		out, file := outside(t, "etc/hosts")
		symlink(t, "../../../../../../../../.."+out+"/etc", filepath.Join(root, "etc"))
		os.MkdirAll(filepath.Join(root, out, "etc"), 0o755)
		if _, err := ApplyHosts(ctx, root, HostsSpec{}); err != nil {
			t.Fatal(err)
		}
		untouched(t, file)
		if got := readFile(t, filepath.Join(root, out, "etc/hosts")); got != string(RenderHosts(HostsSpec{})) {
			t.Errorf("file inside the root: %q", got)
		}
	})

	t.Run("var/run is an absolute link, write-through", func(t *testing.T) {
		// Debian and Ubuntu images: /var/run -> /run and
		// /etc/resolv.conf -> /var/run/systemd/resolve/stub-resolv.conf.
		root := t.TempDir()
		out, file := outside(t, "systemd/resolve/stub-resolv.conf")
		symlink(t, out, filepath.Join(root, "var/run"))
		symlink(t, "/var/run/systemd/resolve/stub-resolv.conf", filepath.Join(root, "etc/resolv.conf"))
		_, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough))
		if !errors.Is(err, netprim.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound (ROOT/OUT/systemd/resolve is missing)", err)
		}
		untouched(t, file)
		inside := filepath.Join(root, out, "systemd/resolve/stub-resolv.conf")
		os.MkdirAll(filepath.Dir(inside), 0o755)
		p, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough))
		if err != nil {
			t.Fatal(err)
		}
		if real, _ := filepath.EvalSymlinks(filepath.Dir(inside)); !strings.Contains(p.String(), "writing through it to "+filepath.Join(real, "stub-resolv.conf")) {
			t.Errorf("the warning does not name the real target %s:\n%s", inside, p)
		}
		untouched(t, file)
		if got := readFile(t, inside); got != want {
			t.Errorf("file inside the root: %q", got)
		}
		if fi, err := os.Lstat(filepath.Join(root, "var/run")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("ROOT/var/run is no longer a link: %v", err)
		}
		var writes int64
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough), netprim.WithWriteCounter(&writes)); err != nil || writes != 0 {
			t.Errorf("second Apply: %d writes, %v", writes, err)
		}
	})

	t.Run("relative escape, write-through", func(t *testing.T) {
		root := t.TempDir()
		out, file := outside(t, "stub.conf")
		symlink(t, "../../../../../../../../.."+out+"/stub.conf", filepath.Join(root, "etc/resolv.conf"))
		// ".." stops at the root: the target is ROOT/OUT/stub.conf.
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough)); !errors.Is(err, netprim.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		untouched(t, file)
		os.MkdirAll(filepath.Join(root, out), 0o755)
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough)); err != nil {
			t.Fatal(err)
		}
		untouched(t, file)
		if got := readFile(t, filepath.Join(root, out, "stub.conf")); got != want {
			t.Errorf("file inside the root: %q", got)
		}
	})

	t.Run("replace under a linked directory", func(t *testing.T) {
		root := t.TempDir()
		out, file := outside(t, "etc/resolv.conf")
		symlink(t, out+"/etc", filepath.Join(root, "etc"))
		os.MkdirAll(filepath.Join(root, out, "etc"), 0o755)
		symlink(t, "/run/stub.conf", filepath.Join(root, out, "etc/resolv.conf"))
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkReplace)); err != nil {
			t.Fatal(err)
		}
		untouched(t, file)
		if got := readFile(t, filepath.Join(root, out, "etc/resolv.conf")); got != want {
			t.Errorf("file inside the root: %q", got)
		}
	})
}
