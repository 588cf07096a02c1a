package wireguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/nl"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// backend is one way of running a device.
type backend interface {
	kind() Backend
	read() (devState, error)
	set(c config) error
	// start makes the device run, before set configures it; a no-op
	// when it runs.
	start() error
	close() error
}

// Device is the handle to one WireGuard device in a namespace. For the
// userspace backend it also hosts the device: the device exists until
// Close. For the kernel backend Close only releases the handle; Delete
// removes the link. A Device is safe for concurrent use.
type Device struct {
	ns   *netprim.Namespace
	name string

	mu     sync.Mutex
	be     backend
	closed bool
	// applied is each peer's Spec endpoint in the last Spec applied
	// through this handle; nil before the first.
	applied map[Key]string
}

// Apply makes the device want.Name in ns match want, creating it when it
// does not exist, and returns its handle and the changes made. When
// Validate fails nothing is applied. A device created by this call is
// removed again if configuring it fails. Apply returns once the device
// runs as configured: its UDP port is bound (a port in use is an error)
// and new peers with a persistent keepalive have sent their first
// handshake.
//
// An existing kernel device is adopted when it has no private key or the
// Spec's; one configured with another private key belongs to someone
// else (wg-quick, another product) and is a conflict
// (netprim.ErrConflict) unless WithTakeOver is passed, since applying
// would replace its key and remove its peers. An existing link that is
// not a kernel wireguard device (for example the TUN of a userspace device
// hosted by another Device or process) is a conflict
// (netprim.ErrConflict): a userspace device can only be changed through
// the Device that hosts it.
func Apply(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (*Device, netprim.Plan, error) {
	if err := want.Validate(); err != nil {
		return nil, netprim.Plan{}, err
	}
	want.Normalize()
	o := netprim.Resolve(opts...)
	choice := backendOf(o)
	if choice != BackendAuto && choice != BackendKernel && choice != BackendUserspace {
		return nil, netprim.Plan{}, fmt.Errorf("wireguard: %s: backend %q: %w: want kernel, userspace or auto", want.Name, choice, netprim.ErrInvalidSpec)
	}
	eps, all, err := resolveEndpoints(ctx, want)
	if err != nil {
		return nil, netprim.Plan{}, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return nil, netprim.Plan{}, err
	}
	defer h.Close()

	var plan netprim.Plan
	d := &Device{ns: ns, name: want.Name}
	created := false
	l, err := h.LinkByName(want.Name)
	switch {
	case err == nil && l.Type() == "wireguard":
		if choice == BackendUserspace {
			return nil, plan, fmt.Errorf("wireguard: %s: %w: a kernel wireguard device of that name exists", want.Name, netprim.ErrConflict)
		}
		if d.be, err = newKernel(ns, want.Name); err != nil {
			return nil, plan, err
		}
		cur, err := d.be.read()
		if err == nil {
			err = checkTakeOver(want.Name, cur, want, takeOverOf(o))
		}
		if err != nil {
			_ = d.be.close()
			return nil, plan, err
		}
	case err == nil:
		return nil, plan, fmt.Errorf("wireguard: %s: %w: link exists and is a %s device, not one this handle hosts", want.Name, netprim.ErrConflict, l.Type())
	case !isNotFound(err):
		return nil, plan, netprim.KernelError("get", "link "+want.Name, err)
	default:
		created = true
		if choice != BackendUserspace {
			la := netlink.NewLinkAttrs()
			la.Name = want.Name
			la.MTU = want.MTU
			count(o)
			err := h.LinkAdd(&netlink.Wireguard{LinkAttrs: la})
			switch {
			case err == nil:
				plan.Append(netprim.Change{Action: netprim.Add, Kind: KindLink, Object: want.Name + " type wireguard"})
				if d.be, err = newKernel(ns, want.Name); err != nil {
					_ = deleteLink(h, want.Name)
					return nil, plan, err
				}
			case errors.Is(err, unix.EOPNOTSUPP) && choice == BackendAuto:
				// No module: fall back to userspace below.
			case errors.Is(err, unix.EOPNOTSUPP):
				return nil, netprim.Plan{}, fmt.Errorf("wireguard: %s: %w", want.Name, netprim.Unsupported("wireguard", "wireguard"))
			default:
				return nil, netprim.Plan{}, netprim.KernelError("add", "link "+want.Name+" type wireguard", err)
			}
		}
		if d.be == nil {
			count(o)
			u, err := newUserspace(ns, want.Name, want.MTU, socketOf(o))
			if err != nil {
				return nil, netprim.Plan{}, err
			}
			d.be = u
			plan.Append(netprim.Change{Action: netprim.Add, Kind: KindLink, Object: want.Name + " type wireguard (userspace)"})
		}
	}
	p, err := d.apply(h, want, eps, all, o)
	plan.Merge(p)
	if err != nil {
		if created {
			if d.be.kind() == BackendKernel {
				_ = deleteLink(h, want.Name)
			}
			_ = d.Close()
		}
		return nil, plan, err
	}
	return d, plan, nil
}

func count(o netprim.Options) {
	if o.Writes != nil {
		atomic.AddInt64(o.Writes, 1)
	}
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}

func deleteLink(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	return h.LinkDel(l)
}

// Name returns the link name.
func (d *Device) Name() string { return d.name }

// Backend returns the backend in use.
func (d *Device) Backend() Backend {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.be == nil {
		return BackendAuto
	}
	return d.be.kind()
}

var errClosed = errors.New("wireguard: device handle is closed")

// Apply makes the device match want (want.Name must be the device's name)
// with the smallest configuration request; see the package documentation.
func (d *Device) Apply(ctx context.Context, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	if err := want.Validate(); err != nil {
		return netprim.Plan{}, err
	}
	if want.Name != d.name {
		return netprim.Plan{}, fmt.Errorf("wireguard: %s: name: %w: handle is for %s", want.Name, netprim.ErrInvalidSpec, d.name)
	}
	want.Normalize()
	eps, all, err := resolveEndpoints(ctx, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	h, err := nl.Handle(d.ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer h.Close()
	return d.apply(h, want, eps, all, netprim.Resolve(opts...))
}

// Plan returns the changes Apply would make, without making them.
func (d *Device) Plan(ctx context.Context, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	if err := want.Validate(); err != nil {
		return netprim.Plan{}, err
	}
	want.Normalize()
	eps, all, err := resolveEndpoints(ctx, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return netprim.Plan{}, errClosed
	}
	cur, err := d.be.read()
	if err != nil {
		return netprim.Plan{}, err
	}
	_, ch := diff(d.name, &cur, want, eps, endpointEnv{now: time.Now(), applied: d.applied, resolved: all})
	var plan netprim.Plan
	plan.Append(ch...)
	h, err := nl.Handle(d.ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer h.Close()
	l, err := h.LinkByName(d.name)
	if err != nil {
		return netprim.Plan{}, netprim.KernelError("get", "link "+d.name, err)
	}
	plan.Append(linkChanges(l, want)...)
	return plan, nil
}

func linkChanges(l netlink.Link, want Spec) []netprim.Change {
	var ch []netprim.Change
	a := l.Attrs()
	if a.MTU != want.MTU {
		ch = append(ch, modify(KindLink, want.Name, "mtu", fmt.Sprint(a.MTU), fmt.Sprint(want.MTU)))
	}
	if a.Flags&net.FlagUp == 0 {
		ch = append(ch, modify(KindLink, want.Name, "state", "down", "up"))
	}
	return ch
}

func (d *Device) apply(h *netlink.Handle, want Spec, eps map[Key]netip.AddrPort, all map[Key][]netip.AddrPort, o netprim.Options) (netprim.Plan, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var plan netprim.Plan
	if d.closed {
		return plan, errClosed
	}
	if err := d.be.start(); err != nil {
		return plan, err
	}
	cur, err := d.be.read()
	if err != nil {
		return plan, err
	}
	cfg, ch := diff(d.name, &cur, want, eps, endpointEnv{now: time.Now(), applied: d.applied, resolved: all})
	if !cfg.empty() {
		count(o)
		if err := d.be.set(cfg); err != nil {
			return plan, err
		}
		plan.Append(ch...)
	}
	d.applied = make(map[Key]string, len(want.Peers))
	for _, p := range want.Peers {
		d.applied[p.PublicKey] = p.Endpoint
	}
	l, err := h.LinkByName(d.name)
	if err != nil {
		return plan, netprim.KernelError("get", "link "+d.name, err)
	}
	for _, c := range linkChanges(l, want) {
		count(o)
		switch c.Field {
		case "mtu":
			err = h.LinkSetMTU(l, want.MTU)
		case "state":
			err = h.LinkSetUp(l)
		}
		if err != nil {
			return plan, netprim.KernelError("set", "link "+d.name+" "+c.Field, err)
		}
		plan.Append(c)
	}
	return plan, nil
}

// Status reads the device: keys (public only), port, peers with endpoint,
// last handshake and byte counters, and the link's MTU and state.
func (d *Device) Status(ctx context.Context) (Status, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Status{}, errClosed
	}
	cur, err := d.be.read()
	if err != nil {
		return Status{}, err
	}
	h, err := nl.Handle(d.ns)
	if err != nil {
		return Status{}, err
	}
	defer h.Close()
	l, err := h.LinkByName(d.name)
	if err != nil {
		return Status{}, netprim.KernelError("get", "link "+d.name, err)
	}
	return cur.status(d.name, d.be.kind(), l.Attrs().MTU, l.Attrs().Flags&net.FlagUp != 0), nil
}

// Close releases the handle. A userspace device, its link and its UDP
// sockets are removed; a kernel device stays. Close is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.be == nil {
		d.closed = true
		return nil
	}
	d.closed = true
	return d.be.close()
}

// Delete removes the device: the kernel link, or the userspace device
// (as Close). The handle is closed afterwards.
func (d *Device) Delete(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Backend() == BackendKernel {
		h, err := nl.Handle(d.ns)
		if err != nil {
			return err
		}
		defer h.Close()
		if err := deleteLink(h, d.name); err != nil && !isNotFound(err) {
			return netprim.KernelError("delete", "link "+d.name, err)
		}
	}
	return d.Close()
}

// List reports the WireGuard devices in ns, sorted by name: the kernel
// devices, and the userspace devices that some process (this one or
// another, e.g. wireguard-go or "netctl apply --serve") serves on a UAPI
// socket SocketDir/NAME.sock, with Backend BackendUserspace. A userspace
// device is listed when ns has a TUN link NAME and that socket answers;
// a socket nobody serves any longer is ignored. SocketDir is shared by
// all namespaces, so List trusts the name: a TUN link that merely shares
// its name with a device served for another namespace is reported with
// that device's configuration. Userspace devices hosted without a socket
// are read through their Device (Device.Status).
func List(ctx context.Context, ns *netprim.Namespace) ([]Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	links, err := nl.LinkList(h)
	if err != nil {
		return nil, err
	}
	var out []Status
	var k *kernel
	for _, l := range links {
		a := l.Attrs()
		up := a.Flags&net.FlagUp != 0
		switch l.Type() {
		case "wireguard":
			if k == nil {
				if k, err = newKernel(ns, ""); err != nil {
					return nil, err
				}
				defer k.close()
			}
			k.name = a.Name
			st, err := k.read()
			if err != nil {
				return nil, err
			}
			out = append(out, st.status(a.Name, BackendKernel, a.MTU, up))
		case "tuntap":
			if t, ok := l.(*netlink.Tuntap); ok && t.Mode == netlink.TUNTAP_MODE_TAP {
				continue
			}
			st, err := readSocket(ctx, a.Name)
			if errors.Is(err, errNoServer) {
				continue // a TUN link that is not a served WireGuard device
			}
			if err != nil {
				return nil, err
			}
			out = append(out, st.status(a.Name, BackendUserspace, a.MTU, up))
		}
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Plan returns the changes Apply(ctx, ns, want) would make to a device
// that does not exist yet or to an existing kernel device. A userspace
// device is planned through the Device that hosts it (Device.Plan); any
// other existing link of that name is a conflict.
func Plan(ctx context.Context, ns *netprim.Namespace, want Spec, opts ...netprim.Option) (netprim.Plan, error) {
	if err := want.Validate(); err != nil {
		return netprim.Plan{}, err
	}
	want.Normalize()
	eps, all, err := resolveEndpoints(ctx, want)
	if err != nil {
		return netprim.Plan{}, err
	}
	h, err := nl.Handle(ns)
	if err != nil {
		return netprim.Plan{}, err
	}
	defer h.Close()
	var plan netprim.Plan
	l, err := h.LinkByName(want.Name)
	switch {
	case err == nil && l.Type() == "wireguard":
		k, err := newKernel(ns, want.Name)
		if err != nil {
			return plan, err
		}
		defer k.close()
		cur, err := k.read()
		if err != nil {
			return plan, err
		}
		if err := checkTakeOver(want.Name, cur, want, takeOverOf(netprim.Resolve(opts...))); err != nil {
			return plan, err
		}
		_, ch := diff(want.Name, &cur, want, eps, endpointEnv{now: time.Now(), resolved: all})
		plan.Append(ch...)
		plan.Append(linkChanges(l, want)...)
		return plan, nil
	case err == nil:
		return plan, fmt.Errorf("wireguard: %s: %w: link exists and is a %s device; plan a userspace device through its Device", want.Name, netprim.ErrConflict, l.Type())
	case !isNotFound(err):
		return plan, netprim.KernelError("get", "link "+want.Name, err)
	}
	plan.Append(netprim.Change{Action: netprim.Add, Kind: KindLink, Object: want.Name + " type wireguard (backend " + backendOf(netprim.Resolve(opts...)).String() + ")"})
	_, ch := diff(want.Name, nil, want, eps, endpointEnv{})
	plan.Append(ch...)
	plan.Append(modify(KindLink, want.Name, "state", "down", "up"))
	return plan, nil
}
