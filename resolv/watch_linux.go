package resolv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netprim/netprim"
)

// kindFile is the Kind of the events Watch sends, as in a Plan.
const kindFile = "file"

const (
	// watchQueue is the capacity of the event channel.
	watchQueue = 256
	// watchReadBuf is the default size of the inotify read buffer;
	// watchReadMin holds one event with the longest name.
	watchReadBuf = 64 << 10
	watchReadMin = unix.SizeofInotifyEvent + unix.NAME_MAX + 1
	// watchRetry is how often Watch tries again to watch a directory it
	// could not watch, when no event in the root would say it is back.
	watchRetry = time.Second
)

// Event masks of the two watches: the directory of the managed files
// reports their changes and its own end; the root reports changes of the
// directory's entry ("etc" appearing, disappearing or being replaced) and
// its own end. IN_MASK_ADD keeps both sets when the directory is the root
// itself (ROOT/etc -> "/").
const (
	dirMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE |
		unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_ATTRIB |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR | unix.IN_MASK_ADD
	rootMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	// endMask marks the end of a watch: its directory was removed, moved
	// away or unmounted, or the watch was removed.
	endMask = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_IGNORED | unix.IN_UNMOUNT
)

// Watch reports changes of the files Apply manages under root ("" means
// "/"): ROOT/etc/resolv.conf, ROOT/etc/hosts and ROOT/etc/hostname, until
// ctx ends, then closes the channel. Start it before the first Plan, so that
// nothing falls between them.
//
// Each event has Kind "file" and Object the file's path exactly as a Plan
// shows it: the absolute root joined with the file name, e.g.
// "/srv/node/etc/hosts". A Plan's Recreate and mode changes have that
// Object; its line changes have "PATH: LINE". Action is netprim.Add when
// the file was created, renamed into place (as Apply writes it), written,
// or its mode or owner changed, and netprim.Delete when it was removed or
// renamed away. Other names in the directory, the temporary files of Apply
// included, produce no event. Nothing is coalesced, except that one write
// is not reported twice: events for the same file and action read from the
// kernel together are sent once, and of a sequence of writes through one
// open descriptor the first is reported, and then the close
// (IN_CLOSE_WRITE), after which the file holds what was written.
//
// Watch uses inotify(7) on ROOT/etc, found inside the root as Plan and
// Apply find it (openat2 with RESOLVE_IN_ROOT, see the package
// documentation), and on the root itself for the entry "etc". When
// ROOT/etc is a symbolic link, it is followed inside the root when the
// watch is set: ROOT/etc -> /data/etc watches ROOT/data/etc, never a
// directory outside the root, and events name ROOT/etc/FILE. The link and
// the directory it leads to are watched, the directories on the way there
// are not: if one of them is renamed or replaced, Watch notices when the
// directory it watches is removed or moved, or the link is changed. A
// managed file that is itself a symbolic link is reported when the link
// changes, not when the file it points to does.
//
// Watch never loses a change silently. The channel carries an Event with
// Resync set (Kind "file", no Object), after which the receiver must read
// the files again (Plan), when
//   - the kernel's event queue overflowed (IN_Q_OVERFLOW; its length is
//     fs.inotify.max_queued_events), also because the receiver is slow:
//     Watch does not drop events, it stops reading while the channel is
//     full;
//   - ROOT/etc was removed, moved away or replaced, or the link ROOT/etc
//     changed;
//   - ROOT/etc is watched again after that, or for the first time when it
//     did not exist when Watch started: Watch waits for it in the root and
//     arms itself when it appears (when ROOT/etc is a link that does not
//     lead to a directory, it tries again every second).
//
// An unread Resync is not repeated. The channel is also closed, while ctx
// is alive, when the root directory itself is removed, moved or replaced
// (paths under it would name something else); call Watch again then.
// netprim.WatchBufferSize sets the size of the buffer events are read into
// (default 64 KiB); the kernel's queue has the fixed length
// fs.inotify.max_queued_events (events, not bytes) per inotify instance.
//
// Watch needs /proc (a watch is set on /proc/self/fd/N of the directory
// found inside the root, so no path is looked up twice). The inotify
// descriptor and the goroutine end when the channel is closed.
func Watch(ctx context.Context, root string, opts ...netprim.WatchOption) (<-chan netprim.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := netprim.ResolveWatch(opts...)
	if o.BufferSize < 0 {
		return nil, fmt.Errorf("resolv: watch: %w: negative buffer size %d", netprim.ErrInvalidSpec, o.BufferSize)
	}
	w, err := newWatcher(root, o.BufferSize)
	if err != nil {
		return nil, err
	}
	go w.run(ctx)
	return w.out, nil
}

// watchState is what decoding a batch of inotify events needs to know.
type watchState struct {
	dir     string            // the directory of the files, relative to the root: "etc"
	names   map[string]string // name in dir -> Object of its events
	rootWD  int               // the watch on the root
	dirWD   int               // the watch on dir, -1 when none
	writing map[string]bool   // names whose IN_MODIFY was reported, not yet closed
}

// batch is what one read from the inotify descriptor said.
type batch struct {
	events   []netprim.Event // file events, in order
	overflow bool            // the kernel dropped events (IN_Q_OVERFLOW)
	dirLost  bool            // the watch on dir ended, or its entry in the root changed
	rootGone bool            // the root directory was removed, moved or unmounted
}

// managedFiles returns the directory of the managed files, relative to the
// root, and maps their names in it to their paths relative to the root.
func managedFiles() (dir string, names map[string]string) {
	dir = path.Dir(ResolvConfPath)
	names = map[string]string{}
	for _, p := range []string{ResolvConfPath, HostsPath, HostnamePath} {
		if path.Dir(p) == dir {
			names[path.Base(p)] = p
		}
	}
	return dir, names
}

// decode turns the inotify events in p into file events and state changes.
// Events of a watch that ended earlier in p, or of an older watch, are
// dropped: they describe a directory that is no longer ROOT/etc.
func (s *watchState) decode(p []byte) batch {
	var b batch
	dirWD := s.dirWD
	last := map[string]netprim.Action{} // last action per name in this batch
	for len(p) >= unix.SizeofInotifyEvent {
		wd := int(int32(binary.NativeEndian.Uint32(p[0:4])))
		mask := binary.NativeEndian.Uint32(p[4:8])
		end := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(p[12:16]))
		if end > len(p) {
			break
		}
		name := p[unix.SizeofInotifyEvent:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		p = p[end:]
		if mask&unix.IN_Q_OVERFLOW != 0 {
			b.overflow = true
			continue
		}
		if wd == s.rootWD {
			if mask&endMask != 0 {
				b.rootGone = true
				continue
			}
			if string(name) == s.dir {
				b.dirLost = true
				dirWD = -1
			}
		}
		if wd != dirWD || dirWD < 0 {
			continue
		}
		if mask&endMask != 0 {
			b.dirLost = true
			dirWD = -1
			continue
		}
		obj, ok := s.names[string(name)]
		if !ok {
			continue
		}
		var act netprim.Action
		switch {
		case mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
			act = netprim.Delete
		case mask&(unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_ATTRIB) != 0:
			act = netprim.Add
		case mask&unix.IN_MODIFY != 0:
			if s.writing[string(name)] {
				continue
			}
			s.writing[string(name)] = true
			act = netprim.Add
		default:
			continue
		}
		if mask&unix.IN_MODIFY == 0 {
			delete(s.writing, string(name))
		}
		if a, ok := last[string(name)]; ok && a == act {
			continue
		}
		last[string(name)] = act
		b.events = append(b.events, netprim.Event{Kind: kindFile, Action: act, Object: obj})
	}
	return b
}

type watcher struct {
	// root is the root directory's absolute path; rootID its device and
	// inode when Watch started. The root is opened again for each look-up
	// and must still be that directory: a descriptor kept open would
	// delay the kernel's IN_DELETE_SELF until it is closed.
	root   string
	rootID [2]uint64
	gone   bool // the root was removed, moved or replaced

	ino int // inotify descriptor, non-blocking
	st  watchState
	buf []byte
	out chan netprim.Event

	retry  bool // arm again after watchRetry
	resync bool // a Resync is due

	mu   sync.Mutex // guards wake for the ctx.AfterFunc callback
	wake int        // eventfd that interrupts poll; -1 once closed

	sent      uint64 // events sent so far
	resyncSeq uint64 // sequence number of the last Resync, 0 for none
}

func newWatcher(root string, bufSize int) (w *watcher, err error) {
	if root == "" {
		root = "/"
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolv: root %q: %w", root, err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, fileError("use root", root, err)
	}
	r, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.close()
	var sb unix.Stat_t
	if err := unix.Fstat(r.fd, &sb); err != nil {
		return nil, fileError("use root", root, err)
	}
	if bufSize == 0 {
		bufSize = watchReadBuf
	}
	dir, names := managedFiles()
	w = &watcher{
		root:   root,
		rootID: [2]uint64{uint64(sb.Dev), sb.Ino},
		ino:    -1,
		wake:   -1,
		buf:    make([]byte, max(bufSize, watchReadMin)),
		out:    make(chan netprim.Event, watchQueue),
		st:     watchState{dir: dir, names: map[string]string{}, dirWD: -1, writing: map[string]bool{}},
	}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	for name, rel := range names {
		w.st.names[name] = r.show(rel)
	}
	w.ino, err = unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, watchError(root, fmt.Errorf("inotify_init1: %w (limit: fs.inotify.max_user_instances)", err))
	}
	w.st.rootWD, err = w.addWatch(r.fd, rootMask)
	if err != nil {
		return nil, watchError(root, err)
	}
	if _, err := w.arm(r); err != nil && !notThere(err) {
		return nil, watchError(r.show(dir), err)
	}
	w.wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, watchError(root, fmt.Errorf("eventfd: %w", err))
	}
	return w, nil
}

// watchError wraps err of watching dir in an OpError, classified as
// fileError does.
func watchError(dir string, err error) error {
	e := fileError("watch", dir, err)
	if oe, ok := e.(*netprim.OpError); ok {
		oe.Object = "directory " + dir
	}
	return e
}

// notThere reports whether err says that ROOT/etc is not (yet) a
// directory: missing, a file, or a link that leads nowhere.
func notThere(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)
}

// addWatch watches the directory open as fd, through its /proc/self/fd
// entry: the directory found inside the root, not a path looked up again.
func (w *watcher) addWatch(fd int, mask uint32) (int, error) {
	p := "/proc/self/fd/" + strconv.Itoa(fd)
	for {
		wd, err := unix.InotifyAddWatch(w.ino, p, mask)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ENOSPC:
			return -1, fmt.Errorf("inotify_add_watch: %w (limit: fs.inotify.max_user_watches)", err)
		case err == unix.ENOENT && !procMounted():
			return -1, fmt.Errorf("inotify_add_watch %s: %w (is /proc mounted?)", p, err)
		case err != nil:
			return -1, &fs.PathError{Op: "inotify_add_watch", Path: p, Err: err}
		}
		return wd, nil
	}
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
}

// openRoot opens the root directory again, and fails unless it is the
// one Watch started with.
func (w *watcher) openRoot() (*rootDir, error) {
	r, err := openRoot(w.root)
	if err != nil {
		return nil, err
	}
	var sb unix.Stat_t
	if err := unix.Fstat(r.fd, &sb); err != nil || [2]uint64{uint64(sb.Dev), sb.Ino} != w.rootID {
		r.close()
		return nil, fileError("use root", w.root, errors.New("replaced"))
	}
	return r, nil
}

// arm watches ROOT/etc, resolved inside the root r. It reports whether it
// did; on failure it sets w.retry when the directory may become usable
// without an event in the root (ROOT/etc is a link, or watching failed for
// another reason than its absence).
func (w *watcher) arm(r *rootDir) (bool, error) {
	w.retry = false
	fd, err := r.open(w.st.dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		sb, lerr := lstatAt(r.fd, w.st.dir)
		w.retry = !notThere(err) || (lerr == nil && isLink(sb))
		return false, err
	}
	defer unix.Close(fd)
	wd, err := w.addWatch(fd, dirMask)
	if err != nil {
		w.retry = true
		return false, err
	}
	w.st.dirWD = wd
	return true, nil
}

// disarm removes the watch on ROOT/etc, unless it is the root's own.
func (w *watcher) disarm() {
	if w.st.dirWD >= 0 && w.st.dirWD != w.st.rootWD {
		// EINVAL when the kernel already removed it: nothing to do.
		_, _ = unix.InotifyRmWatch(w.ino, uint32(w.st.dirWD))
	}
	w.st.dirWD = -1
}

// rearm replaces the watch on ROOT/etc and schedules a Resync when a watch
// ended or began (or always, with force). It sets w.gone when the root
// directory is no longer there.
func (w *watcher) rearm(force bool) {
	if w.st.dirWD >= 0 {
		w.disarm()
		force = true
	}
	clear(w.st.writing)
	r, err := w.openRoot()
	if err != nil {
		w.gone = true
		return
	}
	defer r.close()
	if ok, _ := w.arm(r); ok {
		force = true
	}
	if force {
		w.resync = true
	}
}

// interrupt wakes a blocked poll; called when ctx ends.
func (w *watcher) interrupt() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wake >= 0 {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(w.wake, one[:])
	}
}

func (w *watcher) close() {
	w.mu.Lock()
	if w.wake >= 0 {
		unix.Close(w.wake)
		w.wake = -1
	}
	w.mu.Unlock()
	if w.ino >= 0 {
		unix.Close(w.ino)
		w.ino = -1
	}
}

func (w *watcher) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, w.interrupt)
	defer func() {
		stop()
		w.close()
		close(w.out)
	}()
	fds := make([]unix.PollFd, 2)
	for {
		if w.resync {
			if !w.send(ctx, netprim.Event{Kind: kindFile, Resync: true}) {
				return
			}
			w.resync = false
		}
		timeout := -1
		if w.st.dirWD < 0 && w.retry {
			timeout = int(watchRetry / time.Millisecond)
		}
		fds[0] = unix.PollFd{Fd: int32(w.ino), Events: unix.POLLIN}
		fds[1] = unix.PollFd{Fd: int32(w.wake), Events: unix.POLLIN}
		n, err := unix.Poll(fds, timeout)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return
		case n == 0:
			if w.rearm(false); w.gone {
				return
			}
			continue
		case fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0:
			return
		case fds[0].Revents&unix.POLLIN == 0:
			continue
		}
		n, err = unix.Read(w.ino, w.buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			continue
		case err != nil || n <= 0:
			return
		}
		b := w.st.decode(w.buf[:n])
		for _, ev := range b.events {
			if !w.send(ctx, ev) {
				return
			}
		}
		if b.rootGone {
			return
		}
		if b.overflow || b.dirLost {
			// After an overflow the root's own events may be lost too:
			// rearm finds out whether it is still there.
			if w.rearm(b.overflow); w.gone {
				return
			}
		}
	}
}

// send delivers ev unless ctx ends first. A Resync is dropped while an
// earlier one is still unread: the receiver re-reads after reading that
// one, that is after the loss just noticed.
func (w *watcher) send(ctx context.Context, ev netprim.Event) bool {
	if ev.Resync && w.resyncSeq > 0 && uint64(len(w.out)) > w.sent-w.resyncSeq {
		return true
	}
	select {
	case w.out <- ev:
	case <-ctx.Done():
		return false
	}
	w.sent++
	if ev.Resync {
		w.resyncSeq = w.sent
	}
	return true
}
