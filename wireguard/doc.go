// Package wireguard manages WireGuard devices and their peers in a network
// namespace, and provides the library functions a product needs to build a
// KubeSpan-style full mesh: key generation, a persisted identity, peer
// health from handshake age, endpoint cycling, the tunnel MTU and policy
// routing by firewall mark.
//
// # Devices and their lifetime
//
// Apply returns a *Device: the handle that hosts the device. Two backends
// exist (see Backend):
//
//   - BackendKernel: the kernel's wireguard module. The link lives in the
//     kernel; Device.Close only releases the handle and the device stays.
//     Device.Delete removes the link.
//   - BackendUserspace: wireguard-go running inside this process over a TUN
//     link created in the target namespace. The device lives exactly as
//     long as the Device handle: Device.Close (or the process exiting)
//     removes the link and every peer. A product that wants the device to
//     stay must keep the handle, and the process, alive.
//
// With BackendAuto (the default) Apply uses the kernel module when the
// kernel can create a wireguard link and the userspace backend otherwise.
// Status.Backend reports which one is in use. List reports the kernel
// devices of a namespace and the userspace devices served on a UAPI
// socket (see below), by this process or another; a userspace device
// hosted without a socket is read through its Device.
//
// # Minimal diff
//
// Apply reads the device, computes the difference (pure code, no I/O) and
// sends only that: unchanged peers are not touched, removed peers are
// removed, and a changed peer gets only its changed fields. A second Apply
// with the same Spec sends nothing (netprim.WithWriteCounter counts one
// write per configuration request and per link request).
//
// # Endpoints and roaming
//
// WireGuard follows a peer that sends from a new address (roaming, for
// example behind NAT). Apply does not undo that while the tunnel works:
// the Spec's endpoint of an existing peer is sent only when
//
//   - the peer has no endpoint at all;
//   - the Spec's endpoint changed since the last Apply through the same
//     Device (a new handle, such as the one the package-level Apply
//     returns for an existing kernel device, knows no earlier Spec); or
//   - the peer is down: no handshake within PeerDownAfter.
//
// In every case a peer already at one of the addresses the endpoint
// resolves to is left alone, so a host name whose DNS answers come back
// in another order causes no change. A new peer always gets the Spec's
// endpoint. So a second Apply while a roamed tunnel is up sends nothing.
//
// # Existing devices
//
// Apply adopts an existing kernel device only when it has no private key
// or the Spec's. A device with another private key is someone else's
// (wg-quick, another product): Apply and Plan return netprim.ErrConflict
// unless WithTakeOver is passed. Replacing a private key and removing a
// peer are marked Disruptive in Plans.
//
// # Secrets
//
// PrivateKey and PresharedKey never print: String, every fmt verb, JSON,
// YAML, slog, errors and Plans show "(hidden)". Only PrivateKey.Reveal and
// PresharedKey.Reveal return the key text, for writing it where it belongs.
//
// # Namespaces
//
// The userspace backend creates its TUN link and its UDP sockets on a
// thread inside the target namespace (netprim.Namespace.Do), so the device,
// its link and its sockets all live there. Endpoint host names are resolved
// at Apply in the caller's namespace.
//
// The userspace backend is configured through the device's own UAPI
// set/get operations, without a socket. WithUAPISocket also opens the
// socket /var/run/wireguard/NAME.sock (SocketDir) so that wg(8), and List
// in any process, can show the device; that directory is shared by all
// namespaces, so the name must then be unique on the host.
//
// # Mesh routing and pruning
//
// ApplyRouting writes the mesh's policy rules and routes with
// route.ApplyRules and route.Apply, passing its options on. Prune is
// owner-wide: with netprim.WithPrune it deletes every rule and route of
// the owner that is not in the Routing, not only mesh ones. So when
// several producers share an owner, only one caller may prune: in a
// composed daemon, the reconcile package's Reconciler, which prunes over
// the merged desired state of all its sources. The others, ApplyRouting
// among them, apply without netprim.WithPrune (or with an owner of their
// own, netprim.WithOwner).
package wireguard
