package resolv

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprim/netprim"
)

var exampleConfig = Config{
	Resolver: &ResolverSpec{
		Nameservers:   []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")},
		SearchDomains: []string{"example.internal"},
	},
	Hosts:    []HostEntry{{Address: netip.MustParseAddr("192.0.2.10"), Names: []string{"node1.example.internal", "node1"}}},
	Hostname: &HostnameSpec{Hostname: "node1", Domainname: "example.internal"},
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestApplyFiles: Apply writes the three files under a root directory, a
// second Apply writes nothing, a manual edit shows in the Plan as a diff
// and is overwritten.
func TestApplyFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	var writes int64
	p, err := Apply(ctx, root, exampleConfig, netprim.WithWriteCounter(&writes))
	if err != nil {
		t.Fatal(err)
	}
	if writes != 3 {
		t.Errorf("first Apply: %d writes, want 3 (one per file)\n%s", writes, p)
	}
	if !strings.Contains(p.String(), "+ file "+filepath.Join(root, "etc/resolv.conf")+": nameserver 192.0.2.53") {
		t.Errorf("plan lacks the added nameserver line:\n%s", p)
	}
	if !strings.Contains(p.String(), "! kernel host name not managed") {
		t.Errorf("plan lacks the UTS warning:\n%s", p)
	}
	wantHosts := generatedComment + "127.0.0.1\tlocalhost\n192.0.2.10\tnode1.example.internal node1\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	if got := readFile(t, filepath.Join(root, "etc/hosts")); got != wantHosts {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, wantHosts)
	}
	if got := readFile(t, filepath.Join(root, "etc/hostname")); got != "node1\n" {
		t.Errorf("hostname: %q", got)
	}
	for _, f := range []string{ResolvConfPath, HostsPath, HostnamePath} {
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(root, "etc"))
	if len(entries) != 3 {
		t.Errorf("etc has %d entries, want 3 (no temporary files left)", len(entries))
	}

	// Idempotent: zero writes.
	writes = 0
	p, err = Apply(ctx, root, exampleConfig, netprim.WithWriteCounter(&writes))
	if err != nil || writes != 0 || !p.Empty() {
		t.Fatalf("second Apply: %d writes, err %v, plan:\n%s", writes, err, p)
	}

	// A manual edit: the Plan shows the diff, Apply overwrites it.
	rc := filepath.Join(root, "etc/resolv.conf")
	edited := strings.Replace(readFile(t, rc), "nameserver 192.0.2.53\n", "nameserver 8.8.8.8\n", 1)
	if err := os.WriteFile(rc, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = Plan(ctx, root, exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := "- file " + rc + ": nameserver 8.8.8.8\n+ file " + rc + ": nameserver 192.0.2.53\n! kernel host name not managed: no UTS namespace given (resolv.WithUTSNamespace or resolv.WithCallerUTSNamespace)"
	if p.String() != want {
		t.Errorf("plan after edit:\n%s\nwant:\n%s", p, want)
	}
	writes = 0
	if _, err := Apply(ctx, root, exampleConfig, netprim.WithWriteCounter(&writes)); err != nil || writes != 1 {
		t.Fatalf("Apply after edit: %d writes, %v", writes, err)
	}
	if strings.Contains(readFile(t, rc), "8.8.8.8") {
		t.Error("manual edit survived Apply")
	}

	// A wrong mode is repaired without rewriting the content.
	if err := os.Chmod(rc, 0o600); err != nil {
		t.Fatal(err)
	}
	writes = 0
	p, err = ApplyResolver(ctx, root, *exampleConfig.Resolver, netprim.WithWriteCounter(&writes))
	if err != nil || writes != 1 || p.String() != "~ file "+rc+" mode 0600 -> 0644" {
		t.Errorf("mode repair: %d writes, %v\n%s", writes, err, p)
	}
}

// TestApplyKeepsOwner: the new file has the owner of the one it replaces.
func TestApplyKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file another owner (chown)")
	}
	root := t.TempDir()
	hosts := filepath.Join(root, "etc/hosts")
	os.MkdirAll(filepath.Dir(hosts), 0o755)
	if err := os.WriteFile(hosts, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(hosts, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyHosts(context.Background(), root, HostsSpec{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(hosts)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 1234 || st.Gid != 5678 || fi.Mode().Perm() != 0o644 {
		t.Errorf("owner %d:%d mode %v, want 1234:5678 0644", st.Uid, st.Gid, fi.Mode().Perm())
	}
}

// TestApplyBadInputWritesNothing: invalid specs are rejected with the field
// named, before any file is written.
func TestApplyBadInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	var writes int64
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Resolver: &ResolverSpec{SearchDomains: []string{"exa mple.com"}}, Hostname: &HostnameSpec{Hostname: "ok"}}, "resolvers.searchDomains[0]"},
		{Config{Resolver: &ResolverSpec{}, Hostname: &HostnameSpec{Hostname: "node_1"}}, "hostname.hostname"},
		{Config{Hostname: &HostnameSpec{Hostname: "node1", Domainname: strings.Repeat("abcdefghi.", 30)[:294]}}, "hostname.domainname: invalid spec: FQDN"},
		{Config{Resolver: &ResolverSpec{Nameservers: []netip.Addr{{}}}}, "resolvers.nameservers[0]"},
		{Config{Hosts: []HostEntry{{Address: netip.MustParseAddr("192.0.2.1"), Names: []string{"a b"}}}}, "hosts[0].names[0]"},
	} {
		_, err := Apply(ctx, root, tc.c, netprim.WithWriteCounter(&writes))
		if err == nil || !errors.Is(err, netprim.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Apply: %v, want an ErrInvalidSpec naming %s", err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 || writes != 0 {
		t.Errorf("bad input wrote %d times: %v", writes, entries)
	}
}

// TestSymlinkPolicies: refuse by default, write through or replace on
// request.
func TestSymlinkPolicies(t *testing.T) {
	ctx := context.Background()
	spec := *exampleConfig.Resolver
	setup := func(t *testing.T) (root, rc, target string) {
		root = t.TempDir()
		os.MkdirAll(filepath.Join(root, "etc"), 0o755)
		os.MkdirAll(filepath.Join(root, "run/systemd/resolve"), 0o755)
		target = filepath.Join(root, "run/systemd/resolve/stub-resolv.conf")
		if err := os.WriteFile(target, []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		rc = filepath.Join(root, "etc/resolv.conf")
		// An absolute link, resolved inside root.
		if err := os.Symlink("/run/systemd/resolve/stub-resolv.conf", rc); err != nil {
			t.Fatal(err)
		}
		return root, rc, target
	}
	t.Run("refuse", func(t *testing.T) {
		root, rc, target := setup(t)
		var writes int64
		_, err := ApplyResolver(ctx, root, spec, netprim.WithWriteCounter(&writes))
		if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), "/run/systemd/resolve/stub-resolv.conf") {
			t.Errorf("err = %v, want ErrSymlink naming the target", err)
		}
		if _, err := PlanResolver(ctx, root, spec); !errors.Is(err, ErrSymlink) {
			t.Errorf("Plan err = %v", err)
		}
		if l, _ := os.Readlink(rc); l == "" || readFile(t, target) != "nameserver 127.0.0.53\n" || writes != 0 {
			t.Error("refuse changed something")
		}
	})
	t.Run("write-through", func(t *testing.T) {
		root, rc, target := setup(t)
		p, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough))
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := os.Readlink(rc); l != "/run/systemd/resolve/stub-resolv.conf" {
			t.Errorf("link changed to %q", l)
		}
		if got := readFile(t, target); got != string(RenderResolvConf(spec)) {
			t.Errorf("target: %q", got)
		}
		if !strings.Contains(p.String(), "writing through it to "+target) {
			t.Errorf("plan lacks the warning:\n%s", p)
		}
		var writes int64
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough), netprim.WithWriteCounter(&writes)); err != nil || writes != 0 {
			t.Errorf("second write-through: %d writes, %v", writes, err)
		}
	})
	t.Run("replace", func(t *testing.T) {
		root, rc, target := setup(t)
		p, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkReplace))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p.String(), "± file "+rc+" (symbolic link to /run/systemd/resolve/stub-resolv.conf replaced by a regular file)") ||
			!strings.Contains(p.String(), "- file "+rc+": nameserver 127.0.0.53") {
			t.Errorf("plan:\n%s", p)
		}
		fi, err := os.Lstat(rc)
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("resolv.conf is not a regular file: %v %v", fi.Mode(), err)
		}
		if readFile(t, target) != "nameserver 127.0.0.53\n" {
			t.Error("the old target was modified")
		}
		var writes int64
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkReplace), netprim.WithWriteCounter(&writes)); err != nil || writes != 0 {
			t.Errorf("second replace: %d writes, %v", writes, err)
		}
	})
	t.Run("dangling into a missing directory", func(t *testing.T) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "etc"), 0o755)
		os.Symlink("/run/systemd/resolve/stub-resolv.conf", filepath.Join(root, "etc/resolv.conf"))
		if _, err := ApplyResolver(ctx, root, spec, WithSymlinkPolicy(SymlinkWriteThrough)); !errors.Is(err, netprim.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		if _, err := os.Stat(filepath.Join(root, "run")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the target's directory was created: %v", err)
		}
	})
}

// TestStaleTemps: a temporary file left by a killed writer is removed by
// the next write once it is old; a young one may be another writer's and
// stays.
func TestStaleTemps(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	os.MkdirAll(etc, 0o755)
	old, young := filepath.Join(etc, ".hosts.tmp-1"), filepath.Join(etc, ".hosts.tmp-2")
	for _, f := range []string{old, young} {
		if err := os.WriteFile(f, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	if _, err := ApplyHosts(context.Background(), root, HostsSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old temporary file: %v, want removed", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temporary file: %v, want kept", err)
	}
}

// TestApplyDoesNotChangeSpec: Apply normalizes a copy, not the caller's
// slices.
func TestApplyDoesNotChangeSpec(t *testing.T) {
	s := ResolverSpec{Nameservers: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, SearchDomains: []string{"Example.COM."}}
	if _, err := ApplyResolver(context.Background(), t.TempDir(), s); err != nil {
		t.Fatal(err)
	}
	if s.SearchDomains[0] != "Example.COM." {
		t.Errorf("caller's spec changed to %q", s.SearchDomains[0])
	}
}
