package resolv

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// eventWait bounds the wait for one event; reaching it means the event
// never came.
const eventWait = 10 * time.Second

// watching is a running Watch in a test.
type watching struct {
	t    *testing.T
	ch   <-chan netprim.Event
	last netprim.Event // the last event expected
}

// requireInotify skips a test when the file system under dir reports no
// inotify events for changes made through it: hostfs, the root file
// system of the kernel tier (user-mode Linux), is one. The probe watches
// dir, creates a file in it and waits for the event.
func requireInotify(t *testing.T, dir string) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, ".inotify-probe")
	must(t, os.WriteFile(f, nil, 0o600))
	defer os.Remove(f)
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n, _ := unix.Read(fd, buf); n > 0 {
			return
		}
	}
	t.Skipf("the file system under %s reports no inotify events (hostfs, the kernel tier's root, does not): Watch is tested on the host tier", dir)
}

func startWatch(t *testing.T, root string) *watching {
	t.Helper()
	requireInotify(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := Watch(ctx, root)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch {
		}
	})
	return &watching{t: t, ch: ch}
}

func (w *watching) next() netprim.Event {
	w.t.Helper()
	select {
	case ev, ok := <-w.ch:
		if !ok {
			w.t.Fatal("channel closed")
		}
		return ev
	case <-time.After(eventWait):
		w.t.Fatalf("no event within %v (last expected: %v)", eventWait, w.last)
	}
	panic("unreachable")
}

// expect reads the next event, which must be want. Only a repeat of the
// previous Add may come first: a write is reported at its first write and
// again at its close when the two are read from the kernel apart.
func (w *watching) expect(want netprim.Event) {
	w.t.Helper()
	for {
		ev := w.next()
		if ev == want {
			w.last = want
			return
		}
		if ev == w.last && ev.Action == netprim.Add {
			continue
		}
		w.t.Fatalf("got event %v, want %v", ev, want)
	}
}

// eventually repeats do until want arrives, ignoring Resync events and
// repeats of want: for a directory replaced while Watch follows it, where
// a change made before Watch re-armed is covered by a Resync, not reported.
func (w *watching) eventually(do func(), want netprim.Event) {
	w.t.Helper()
	deadline := time.Now().Add(eventWait)
	for time.Now().Before(deadline) {
		do()
		tick := time.After(100 * time.Millisecond)
		for waiting := true; waiting; {
			select {
			case ev, ok := <-w.ch:
				switch {
				case !ok:
					w.t.Fatal("channel closed")
				case ev == want:
					w.last = want
					return
				case !ev.Resync && ev != w.last:
					w.t.Fatalf("got event %v, want %v", ev, want)
				}
			case <-tick:
				waiting = false
			}
		}
	}
	w.t.Fatalf("no event %v within %v", want, eventWait)
}

// added, deleted and resync return the events Watch sends.
func added(p string) netprim.Event {
	return netprim.Event{Kind: "file", Action: netprim.Add, Object: p}
}

func deleted(p string) netprim.Event {
	return netprim.Event{Kind: "file", Action: netprim.Delete, Object: p}
}

func resync() netprim.Event { return netprim.Event{Kind: "file", Resync: true} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeTo(t *testing.T, p, content string) {
	t.Helper()
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

// sh runs a shell command in dir.
func sh(t *testing.T, dir, cmd string) {
	t.Helper()
	c := exec.Command("sh", "-c", cmd)
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, out)
	}
}

// fileOf returns the managed file, among files, that the change c is about:
// c.Object is the file's path, or "PATH: LINE" for a line change.
func fileOf(c netprim.Change, files []string) string {
	for _, f := range files {
		if c.Object == f || strings.HasPrefix(c.Object, f+": ") {
			return f
		}
	}
	return ""
}

// TestWatchApply: Apply produces one event per file it changed, naming the
// file as the Plan does, and none when it changes nothing.
func TestWatchApply(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "etc"), 0o755))
	files := []string{filepath.Join(root, ResolvConfPath), filepath.Join(root, HostsPath), filepath.Join(root, HostnamePath)}
	w := startWatch(t, root)

	plan, err := Plan(ctx, root, exampleConfig)
	must(t, err)
	applied, err := Apply(ctx, root, exampleConfig)
	must(t, err)
	if d := cmp.Diff(plan.Changes, applied.Changes); d != "" {
		t.Fatalf("Apply changed other than planned (-plan +applied):\n%s", d)
	}
	changed := map[string]bool{}
	for _, c := range plan.Changes {
		f := fileOf(c, files)
		if f == "" {
			t.Fatalf("plan change %v names none of %v", c, files)
		}
		changed[f] = true
	}
	if len(changed) != 3 {
		t.Fatalf("plan changes %d files, want 3:\n%s", len(changed), plan)
	}
	seen := map[string]int{}
	for len(seen) < len(changed) {
		ev := w.next()
		if ev.Kind != "file" || ev.Action != netprim.Add || ev.Resync || !changed[ev.Object] {
			t.Fatalf("unexpected event %v; the plan changed %v", ev, changed)
		}
		seen[ev.Object]++
	}

	// A mode change: the Plan's change names the file, exactly as the
	// event does. The chmod itself is an event too.
	hostname := filepath.Join(root, HostnamePath)
	must(t, os.Chmod(hostname, 0o600))
	w.expect(added(hostname))
	plan, err = Apply(ctx, root, exampleConfig)
	must(t, err)
	if len(plan.Changes) != 1 || plan.Changes[0].Field != "mode" {
		t.Fatalf("want one mode change, got:\n%s", plan)
	}
	ev := w.next()
	if ev != added(plan.Changes[0].Object) {
		t.Errorf("event %v, want Add of the plan's object %q", ev, plan.Changes[0].Object)
	}

	// An Apply that writes nothing yields no event: the next one is the
	// chmod after it.
	var writes int64
	_, err = Apply(ctx, root, exampleConfig, netprim.WithWriteCounter(&writes))
	must(t, err)
	if writes != 0 {
		t.Fatalf("third Apply made %d writes", writes)
	}
	hosts := filepath.Join(root, HostsPath)
	must(t, os.Chmod(hosts, 0o644))
	w.last = netprim.Event{}
	w.expect(added(hosts))
	for f, n := range seen {
		t.Logf("%s: %d event(s) for the first Apply", f, n)
	}
}

// TestWatchExternalChanges: edits by other programs (echo, mv, rm, chmod)
// are reported, changes of other files are not.
func TestWatchExternalChanges(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	must(t, os.Mkdir(etc, 0o755))
	hosts, hostname, resolvConf := filepath.Join(root, HostsPath), filepath.Join(root, HostnamePath), filepath.Join(root, ResolvConfPath)
	w := startWatch(t, root)

	sh(t, root, "echo '127.0.0.1 localhost' > etc/hosts")
	w.expect(added(hosts))
	sh(t, root, "echo '192.0.2.1 node1' >> etc/hosts")
	w.expect(added(hosts))
	sh(t, root, "echo 'nameserver 192.0.2.53' > etc/resolv.conf.new && mv etc/resolv.conf.new etc/resolv.conf")
	w.expect(added(resolvConf))
	sh(t, root, "mv etc/hosts etc/hosts.old")
	w.expect(deleted(hosts))
	sh(t, root, "mv etc/hosts.old etc/hosts")
	w.expect(added(hosts))
	sh(t, root, "echo node1 > etc/hostname")
	w.expect(added(hostname))
	sh(t, root, "chmod 600 etc/hosts")
	w.expect(added(hosts))
	sh(t, root, "rm etc/hosts")
	w.expect(deleted(hosts))
	sh(t, root, "mv etc/resolv.conf hosts")
	w.expect(deleted(resolvConf))

	// Other files in etc, a managed name outside etc, a directory: none.
	sh(t, root, strings.Join([]string{
		"echo x > etc/passwd", "mv etc/passwd etc/group", "chmod 600 etc/group", "rm etc/group",
		"echo x > etc/hosts.allow", "touch etc/.hosts.tmp-1", "rm etc/.hosts.tmp-1",
		"mkdir etc/hosts.d", "echo x > etc/hosts.d/hosts", "ln -s hostname etc/hostname2",
		"echo x > hostname", "chmod 600 hosts", "mkdir other",
	}, " && "))
	sh(t, root, "chmod 644 etc/hostname")
	w.expect(added(hostname))
}

// TestWatchDirectoryReplaced: Watch waits for a missing etc, and follows
// etc when it is removed, moved away or replaced, with a Resync each time.
func TestWatchDirectoryReplaced(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	hosts, hostname, resolvConf := filepath.Join(root, HostsPath), filepath.Join(root, HostnamePath), filepath.Join(root, ResolvConfPath)
	w := startWatch(t, root) // no etc yet

	must(t, os.Mkdir(etc, 0o755))
	w.expect(resync())
	writeTo(t, hosts, "127.0.0.1 localhost\n")
	w.expect(added(hosts))

	// Removed and created again.
	must(t, os.RemoveAll(etc))
	w.expect(deleted(hosts))
	w.expect(resync())
	must(t, os.Mkdir(etc, 0o755))
	w.expect(resync())
	writeTo(t, hostname, "node1\n")
	w.expect(added(hostname))

	// Moved away: what happens to the old directory is not reported.
	must(t, os.Rename(etc, etc+".old"))
	w.expect(resync())
	writeTo(t, filepath.Join(etc+".old", "hostname"), "node2\n")
	must(t, os.Mkdir(etc, 0o755))
	w.expect(resync())
	writeTo(t, resolvConf, "nameserver 192.0.2.53\n")
	w.expect(added(resolvConf))

	// Replaced by another directory in two renames.
	must(t, os.Mkdir(etc+".new", 0o755))
	sh(t, root, "mv etc etc.gone && mv etc.new etc")
	w.eventually(func() { writeTo(t, hosts, "127.0.0.1 localhost\n") }, added(hosts))
	writeTo(t, filepath.Join(root, "etc.gone", "hosts"), "x\n")
	writeTo(t, hostname, "node1\n")
	w.expect(added(hostname))
}

// TestWatchLinkedDirectory: a linked etc is followed inside the root, and
// watched again when its target appears.
func TestWatchLinkedDirectory(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "data/etc"), 0o755))
	must(t, os.Symlink("/data/etc", filepath.Join(root, "etc")))
	hosts, hostname := filepath.Join(root, HostsPath), filepath.Join(root, HostnamePath)
	w := startWatch(t, root)

	writeTo(t, filepath.Join(root, "data/etc/hosts"), "127.0.0.1 localhost\n")
	w.expect(added(hosts))

	// A link to a directory outside the root leads inside it, to a
	// directory that does not exist yet: the outside one is not watched.
	out := t.TempDir()
	must(t, os.Mkdir(filepath.Join(out, "etc"), 0o755))
	must(t, os.Remove(filepath.Join(root, "etc")))
	must(t, os.Symlink(filepath.Join(out, "etc"), filepath.Join(root, "etc")))
	w.expect(resync())
	writeTo(t, filepath.Join(out, "etc/hosts"), "x\n")
	must(t, os.MkdirAll(filepath.Join(root, out, "etc"), 0o755))
	w.expect(resync()) // within watchRetry
	writeTo(t, filepath.Join(root, out, "etc/hostname"), "node1\n")
	w.expect(added(hostname))

	// ROOT/etc -> "/" is the root itself: ROOT/hosts is ROOT/etc/hosts.
	must(t, os.Remove(filepath.Join(root, "etc")))
	must(t, os.Symlink("/", filepath.Join(root, "etc")))
	w.eventually(func() { writeTo(t, filepath.Join(root, "hosts"), "x\n") }, added(hosts))
	must(t, os.Remove(filepath.Join(root, "hosts")))
	w.expect(deleted(hosts))
	// The link removed: the root's watch stays, its files are not
	// reported any more.
	must(t, os.Remove(filepath.Join(root, "etc")))
	w.expect(resync())
	writeTo(t, filepath.Join(root, "hosts"), "x\n")
	must(t, os.Mkdir(filepath.Join(root, "etc"), 0o755))
	w.expect(resync())
	writeTo(t, hostname, "node1\n")
	w.expect(added(hostname))
}

// TestWatchRootGone: the channel closes when the root directory is
// removed or moved, while ctx is alive.
func TestWatchRootGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(root string) error
	}{
		{"removed", os.RemoveAll},
		{"moved", func(root string) error { return os.Rename(root, root+".old") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
			w := startWatch(t, root)
			must(t, tc.do(root))
			// Removing the root removes etc first: a Resync may come.
			for deadline := time.After(eventWait); ; {
				select {
				case ev, ok := <-w.ch:
					if !ok {
						return
					}
					if !ev.Resync {
						t.Fatalf("event %v, want the channel closed", ev)
					}
				case <-deadline:
					t.Fatal("channel not closed")
				}
			}
		})
	}
}

// TestWatchOverflow: a receiver that does not read lets the kernel queue
// overflow; Watch reports a Resync and goes on.
func TestWatchOverflow(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skipf("cannot read the inotify queue length: %v", err)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || limit > 1<<18 {
		t.Skipf("inotify queue length %q: too long to fill in a test", b)
	}
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	must(t, os.Mkdir(etc, 0o755))
	hosts, hostname := filepath.Join(root, HostsPath), filepath.Join(root, HostnamePath)
	writeTo(t, hosts, "127.0.0.1 localhost\n")
	w := startWatch(t, root)

	// Each rename is two kernel events (one Delete or Add of hosts); the
	// channel holds watchQueue of them, the kernel queue limit.
	for i := 0; i < limit/2+watchQueue+1000; i++ {
		must(t, os.Rename(hosts, hosts+".x"))
		must(t, os.Rename(hosts+".x", hosts))
	}
	n := 0
	for ev := w.next(); !ev.Resync; ev = w.next() {
		if ev != added(hosts) && ev != deleted(hosts) {
			t.Fatalf("unexpected event %v", ev)
		}
		n++
	}
	t.Logf("Resync after %d events", n)
	writeTo(t, hostname, "node1\n")
	w.expect(added(hostname))
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(ents)
}

// TestWatchCancel: the channel closes soon after ctx ends, whatever Watch
// is doing, and no goroutine or descriptor is left.
func TestWatchCancel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
		fill  bool // send more events than the channel holds, unread
	}{
		{name: "armed", setup: func(t *testing.T, root string) { must(t, os.Mkdir(filepath.Join(root, "etc"), 0o755)) }},
		{name: "waiting for etc", setup: func(*testing.T, string) {}},
		{name: "retrying a link", setup: func(t *testing.T, root string) { must(t, os.Symlink("nowhere", filepath.Join(root, "etc"))) }},
		{name: "blocked on a full channel", setup: func(t *testing.T, root string) { must(t, os.Mkdir(filepath.Join(root, "etc"), 0o755)) }, fill: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			goroutines, fds := runtime.NumGoroutine(), countFDs(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := Watch(ctx, root)
			must(t, err)
			if tc.fill {
				p := filepath.Join(root, HostsPath)
				for i := 0; i < 2*watchQueue; i++ {
					writeTo(t, p, "x\n")
					must(t, os.Remove(p))
				}
			}
			time.Sleep(50 * time.Millisecond) // let Watch block in poll or send
			start := time.Now()
			cancel()
			var closed time.Duration
			for deadline := time.After(eventWait); closed == 0; {
				select {
				case _, ok := <-ch:
					if !ok {
						closed = time.Since(start)
					}
				case <-deadline:
					t.Fatal("channel not closed after cancel")
				}
			}
			t.Logf("closed %v after cancel", closed)
			// A wake-up that did not work would show as the retry
			// period (watchRetry) or never.
			if closed > watchRetry/2 {
				t.Errorf("channel closed %v after cancel", closed)
			}
			for end := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; time.Sleep(time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("%d goroutines, %d before Watch", runtime.NumGoroutine(), goroutines)
				}
			}
			if n := countFDs(t); n != fds {
				t.Errorf("%d descriptors open, %d before Watch", n, fds)
			}
		})
	}
}

func TestWatchErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Watch(ctx, filepath.Join(t.TempDir(), "missing")); !errors.Is(err, netprim.ErrNotFound) {
		t.Errorf("missing root: %v, want ErrNotFound", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	writeTo(t, file, "")
	if _, err := Watch(ctx, file); err == nil {
		t.Error("root is a file: no error")
	}
	if _, err := Watch(ctx, t.TempDir(), netprim.WatchBufferSize(-1)); !errors.Is(err, netprim.ErrInvalidSpec) {
		t.Errorf("negative buffer: %v, want ErrInvalidSpec", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Watch(done, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("ended ctx: %v", err)
	}
}

func TestManagedFiles(t *testing.T) {
	dir, names := managedFiles()
	if dir != "etc" || len(names) != 3 || names["resolv.conf"] != ResolvConfPath || names["hosts"] != HostsPath || names["hostname"] != HostnamePath {
		t.Errorf("managedFiles() = %q, %v: Watch watches one directory of the root for all three files", dir, names)
	}
}

// record encodes one struct inotify_event with its name, padded as the
// kernel pads it.
func record(wd int32, mask uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 1 + 15) / 16 * 16
	}
	b := make([]byte, unix.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(b[0:], uint32(wd))
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(n))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

// TestWatchDecode: inotify events to file events, overflow and the end of
// watches, without a kernel.
func TestWatchDecode(t *testing.T) {
	const rootWD, dirWD = 1, 2
	hosts, hostname := "/r/etc/hosts", "/r/etc/hostname"
	type rec struct {
		wd   int32
		mask uint32
		name string
	}
	for _, tc := range []struct {
		name    string
		batches [][]rec
		want    []batch // one per batch
	}{
		{
			name:    "overflow",
			batches: [][]rec{{{dirWD, unix.IN_CLOSE_WRITE, "hosts"}, {-1, unix.IN_Q_OVERFLOW, ""}}},
			want:    []batch{{events: []netprim.Event{added(hosts)}, overflow: true}},
		},
		{
			name:    "one write read at once",
			batches: [][]rec{{{dirWD, unix.IN_MODIFY, "hosts"}, {dirWD, unix.IN_MODIFY, "hosts"}, {dirWD, unix.IN_CLOSE_WRITE, "hosts"}}},
			want:    []batch{{events: []netprim.Event{added(hosts)}}},
		},
		{
			name: "one write read apart",
			batches: [][]rec{
				{{dirWD, unix.IN_MODIFY, "hosts"}},
				{{dirWD, unix.IN_MODIFY, "hosts"}, {dirWD, unix.IN_MODIFY, "hostname"}},
				{{dirWD, unix.IN_CLOSE_WRITE, "hosts"}},
				{{dirWD, unix.IN_MODIFY, "hosts"}},
			},
			want: []batch{
				{events: []netprim.Event{added(hosts)}},
				{events: []netprim.Event{added(hostname)}},
				{events: []netprim.Event{added(hosts)}},
				{events: []netprim.Event{added(hosts)}},
			},
		},
		{
			name: "rename, remove, create, attributes",
			batches: [][]rec{{
				{dirWD, unix.IN_MOVED_FROM, ".hosts.tmp-1"}, {dirWD, unix.IN_MOVED_TO, "hosts"},
				{dirWD, unix.IN_MOVED_FROM, "hosts"}, {dirWD, unix.IN_CREATE, "hosts"},
				{dirWD, unix.IN_DELETE, "hosts"}, {dirWD, unix.IN_ATTRIB, "hostname"},
				{dirWD, unix.IN_CREATE | unix.IN_ISDIR, "hosts.d"}, {dirWD, unix.IN_ATTRIB, "passwd"},
			}},
			want: []batch{{events: []netprim.Event{added(hosts), deleted(hosts), added(hosts), deleted(hosts), added(hostname)}}},
		},
		{
			name:    "names in the root are not the files",
			batches: [][]rec{{{rootWD, unix.IN_CREATE, "hosts"}, {rootWD, unix.IN_DELETE, "other"}}},
			want:    []batch{{}},
		},
		{
			name:    "etc replaced in the root: later events of the old directory dropped",
			batches: [][]rec{{{dirWD, unix.IN_ATTRIB, "hosts"}, {rootWD, unix.IN_MOVED_FROM | unix.IN_ISDIR, "etc"}, {dirWD, unix.IN_ATTRIB, "hostname"}}},
			want:    []batch{{events: []netprim.Event{added(hosts)}, dirLost: true}},
		},
		{
			name: "etc removed, moved, unmounted",
			batches: [][]rec{
				{{dirWD, unix.IN_DELETE_SELF, ""}, {dirWD, unix.IN_IGNORED, ""}},
				{{dirWD, unix.IN_MOVE_SELF, ""}, {dirWD, unix.IN_CREATE, "hosts"}},
				{{dirWD, unix.IN_UNMOUNT, ""}},
				{{dirWD, unix.IN_IGNORED, ""}},
			},
			want: []batch{{dirLost: true}, {dirLost: true}, {dirLost: true}, {dirLost: true}},
		},
		{
			name:    "stale watch",
			batches: [][]rec{{{7, unix.IN_CREATE, "hosts"}, {7, unix.IN_IGNORED, ""}}},
			want:    []batch{{}},
		},
		{
			name: "root gone",
			batches: [][]rec{
				{{rootWD, unix.IN_DELETE_SELF, ""}},
				{{rootWD, unix.IN_MOVE_SELF, ""}},
				{{rootWD, unix.IN_IGNORED, ""}},
			},
			want: []batch{{rootGone: true}, {rootGone: true}, {rootGone: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := watchState{dir: "etc", names: map[string]string{"hosts": hosts, "hostname": hostname},
				rootWD: rootWD, dirWD: dirWD, writing: map[string]bool{}}
			var got []batch
			for _, recs := range tc.batches {
				var p []byte
				for _, r := range recs {
					p = append(p, record(r.wd, r.mask, r.name)...)
				}
				got = append(got, s.decode(p))
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(batch{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	t.Run("truncated", func(t *testing.T) {
		s := watchState{dir: "etc", names: map[string]string{"hosts": hosts}, rootWD: rootWD, dirWD: dirWD, writing: map[string]bool{}}
		p := append(record(dirWD, unix.IN_CREATE, "hosts"), record(dirWD, unix.IN_DELETE, "hosts")[:20]...)
		if d := cmp.Diff(batch{events: []netprim.Event{added(hosts)}}, s.decode(p), cmp.AllowUnexported(batch{})); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})

	t.Run("etc is the root", func(t *testing.T) {
		// ROOT/etc -> "/": one watch for both.
		s := watchState{dir: "etc", names: map[string]string{"hosts": hosts}, rootWD: rootWD, dirWD: rootWD, writing: map[string]bool{}}
		p := append(record(rootWD, unix.IN_CREATE, "hosts"), record(rootWD, unix.IN_DELETE, "etc")...)
		p = append(p, record(rootWD, unix.IN_DELETE, "hosts")...)
		want := batch{events: []netprim.Event{added(hosts)}, dirLost: true}
		if d := cmp.Diff(want, s.decode(p), cmp.AllowUnexported(batch{})); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}
