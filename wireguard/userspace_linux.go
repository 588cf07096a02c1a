package wireguard

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/netprim/netprim"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/ipc"
	"golang.zx2c4.com/wireguard/tun"
)

// userspace hosts a wireguard-go device in this process. Its TUN link and
// UDP sockets are created on a thread inside the target namespace.
type userspace struct {
	ns   *ownNS
	name string
	dev  *device.Device
	uapi net.Listener
	wg   sync.WaitGroup

	// conns are the UAPI connections being served. A client may keep
	// one open for as long as it likes: close ends them all.
	connMu  sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
}

// ownNS is the device's own handle on its namespace, a duplicate of the
// caller's: wireguard-go's goroutines call into it (MTU queries, socket
// opens) for as long as they run, even after Close returned, and must
// never setns through a closed (and possibly reused) descriptor.
type ownNS struct {
	mu     sync.RWMutex
	ns     *netprim.Namespace // nil: the caller's namespace
	closed bool
}

func (o *ownNS) Do(fn func() error) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return errClosed
	}
	return o.ns.Do(fn)
}

func (o *ownNS) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.closed = true
		o.ns.Close()
	}
}

// nsTUN runs the TUN's MTU query inside the namespace: wireguard-go asks
// by link name on the calling thread, which would look in the wrong
// namespace.
type nsTUN struct {
	tun.Device
	ns *ownNS
}

func (t *nsTUN) MTU() (int, error) {
	var mtu int
	err := t.ns.Do(func() error {
		var err error
		mtu, err = t.Device.MTU()
		return err
	})
	return mtu, err
}

// nsBind opens the UDP sockets inside the namespace. wireguard-go opens
// them when the link goes up and when the port changes, from its own
// goroutines, which run in the process's namespace.
type nsBind struct {
	conn.Bind
	ns *ownNS
}

func (b *nsBind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	var fns []conn.ReceiveFunc
	var actual uint16
	err := b.ns.Do(func() error {
		var err error
		fns, actual, err = b.Bind.Open(port)
		return err
	})
	return fns, actual, err
}

func newUserspace(callerNS *netprim.Namespace, name string, mtu int, socket bool) (*userspace, error) {
	ns := &ownNS{}
	if callerNS != nil {
		dup, err := netprim.NamespaceFromFD(callerNS.FD())
		if err != nil {
			return nil, err
		}
		ns.ns = dup
	}
	var td tun.Device
	err := ns.Do(func() error {
		var err error
		td, err = tun.CreateTUN(name, mtu)
		return err
	})
	if err != nil {
		ns.close()
		return nil, netprim.KernelError("create", "tun "+name, err)
	}
	u := &userspace{ns: ns, name: name}
	u.dev = device.NewDevice(&nsTUN{Device: td, ns: ns}, &nsBind{Bind: conn.NewDefaultBind(), ns: ns}, device.NewLogger(device.LogLevelSilent, ""))
	if socket {
		if err := u.listen(); err != nil {
			u.dev.Close()
			ns.close()
			return nil, err
		}
	}
	return u, nil
}

// listen opens /var/run/wireguard/NAME.sock so wg(8) can read the device.
func (u *userspace) listen() error {
	f, err := ipc.UAPIOpen(u.name)
	if err != nil {
		return fmt.Errorf("wireguard: %s: open UAPI socket (the name must be unique on the host): %w", u.name, err)
	}
	l, err := ipc.UAPIListen(u.name, f)
	if err != nil {
		f.Close()
		return fmt.Errorf("wireguard: %s: listen on UAPI socket: %w", u.name, err)
	}
	u.uapi = l
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !u.track(c) {
				c.Close()
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer u.untrack(c)
				u.dev.IpcHandle(c)
			}()
		}
	}()
	return nil
}

// track records an accepted connection; false once the device closes.
func (u *userspace) track(c net.Conn) bool {
	u.connMu.Lock()
	defer u.connMu.Unlock()
	if u.closing {
		return false
	}
	if u.conns == nil {
		u.conns = make(map[net.Conn]struct{})
	}
	u.conns[c] = struct{}{}
	return true
}

func (u *userspace) untrack(c net.Conn) {
	u.connMu.Lock()
	delete(u.conns, c)
	u.connMu.Unlock()
	c.Close()
}

func (u *userspace) kind() Backend { return BackendUserspace }

func (u *userspace) read() (devState, error) {
	s, err := u.dev.IpcGet()
	if err != nil {
		return devState{}, fmt.Errorf("wireguard: %s: read device: %w", u.name, err)
	}
	return parseUAPIGet(s)
}

func (u *userspace) set(c config) error {
	if err := u.dev.IpcSet(uapiSet(c)); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) && c.listenPort != nil {
			return netprim.KernelError("configure", fmt.Sprintf("wireguard %s listen port %d", u.name, *c.listenPort), syscall.EADDRINUSE)
		}
		var ie *device.IPCError
		if errors.As(err, &ie) {
			// The device's messages may quote values; keep only the code.
			return fmt.Errorf("wireguard: %s: configure: device refused the request (uapi errno %d)", u.name, ie.ErrorCode())
		}
		return fmt.Errorf("wireguard: %s: configure: device refused the request", u.name)
	}
	return nil
}

// start brings the device up (binds its UDP port, starts its peers) and
// returns when it runs. wireguard-go brings it up by itself too, on a
// goroutine of its own, when the TUN reports up: the first report comes
// right after the TUN is created (the kernel's answer to its probe does
// not depend on the link state), so that start happens at any moment
// before, during or after Apply configures the device. Started first, the
// device takes each configuration request at once: the request binds the
// listen port or fails if the port is in use, and starts each new peer,
// which sends its first handshake if it has a persistent keepalive.
// Otherwise a port in use went unreported (a failed start forgets the
// port; the next start binds a random one), the device did not answer for
// a while after Apply, and devices applied one after the other started at
// the same moment and sent each other crossing handshake initiations,
// which leave the pair without a session until a retry 5 s later.
func (u *userspace) start() error {
	if err := u.dev.Up(); err != nil {
		return netprim.KernelError("start", "wireguard "+u.name, err)
	}
	return nil
}

func (u *userspace) close() error {
	if u.uapi != nil {
		u.uapi.Close()
	}
	// Connections already accepted stay open until the client hangs up:
	// end them, or a client that keeps one idle would block Wait.
	u.connMu.Lock()
	u.closing = true
	for c := range u.conns {
		c.Close()
	}
	u.connMu.Unlock()
	u.dev.Close()
	u.ns.close()
	u.wg.Wait()
	return nil
}
