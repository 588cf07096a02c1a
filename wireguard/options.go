package wireguard

import "github.com/netprim/netprim"

// SocketDir is where userspace WireGuard implementations (wireguard-go,
// boringtun, this package with WithUAPISocket) serve the UAPI socket
// NAME.sock of each device. It is shared by all network namespaces.
const SocketDir = "/var/run/wireguard"

type backendKey struct{}
type socketKey struct{}
type takeOverKey struct{}

// WithBackend chooses the backend of a device Apply creates: BackendKernel
// fails with netprim.ErrUnsupported when the kernel lacks the module,
// BackendUserspace always runs wireguard-go in this process, BackendAuto
// (the default) prefers the kernel. An existing device keeps its backend.
func WithBackend(b Backend) netprim.Option {
	return func(o *netprim.Options) { o.Set(backendKey{}, b) }
}

// WithUAPISocket makes a userspace device also listen on
// /var/run/wireguard/NAME.sock, so that wg(8) and wgctrl can read and
// configure it. That directory is shared by all namespaces: the device
// name must be unique on the host.
func WithUAPISocket() netprim.Option {
	return func(o *netprim.Options) { o.Set(socketKey{}, true) }
}

func backendOf(o netprim.Options) Backend {
	b, _ := o.Value(backendKey{}).(Backend)
	return b
}

func socketOf(o netprim.Options) bool {
	b, _ := o.Value(socketKey{}).(bool)
	return b
}

// BackendOf returns the backend opts choose with WithBackend: BackendAuto
// when none. Callers that wrap Apply use it to check a choice before
// passing the options on.
func BackendOf(opts ...netprim.Option) Backend {
	return backendOf(netprim.Resolve(opts...))
}

// WithTakeOver lets Apply adopt an existing kernel device configured with
// another private key: its key is replaced and its peers not in the Spec
// are removed. Without it such a device is a conflict
// (netprim.ErrConflict), as it belongs to someone else.
func WithTakeOver() netprim.Option {
	return func(o *netprim.Options) { o.Set(takeOverKey{}, true) }
}

func takeOverOf(o netprim.Options) bool {
	b, _ := o.Value(takeOverKey{}).(bool)
	return b
}
