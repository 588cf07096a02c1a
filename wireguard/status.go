package wireguard

import (
	"net/netip"
	"time"
)

// Backend selects how a device is implemented.
type Backend string

// Backends. BackendAuto (the zero value) picks the kernel module when the
// kernel can create a wireguard link, else the userspace backend.
const (
	BackendAuto      Backend = ""
	BackendKernel    Backend = "kernel"
	BackendUserspace Backend = "userspace"
)

// String returns the backend name, "auto" for BackendAuto.
func (b Backend) String() string {
	if b == BackendAuto {
		return "auto"
	}
	return string(b)
}

// Status is a WireGuard device as it reports itself. It carries public
// keys only.
type Status struct {
	// Name is the link name.
	Name string `json:"name" yaml:"name"`
	// Backend is the backend in use: kernel or userspace.
	Backend Backend `json:"backend" yaml:"backend"`
	// PublicKey is derived from the device's private key.
	PublicKey Key `json:"publicKey" yaml:"publicKey"`
	// ListenPort is the UDP port in use.
	ListenPort int `json:"listenPort" yaml:"listenPort"`
	// FirewallMark is the mark on the device's UDP packets; 0 is none.
	FirewallMark uint32 `json:"firewallMark,omitempty" yaml:"firewallMark,omitempty"`
	// MTU is the link MTU.
	MTU int `json:"mtu" yaml:"mtu"`
	// Up reports whether the link is administratively up.
	Up bool `json:"up" yaml:"up"`
	// Peers are sorted by public key.
	Peers []PeerStatus `json:"peers,omitempty" yaml:"peers,omitempty"`
}

// PeerStatus is one peer as the device reports it.
type PeerStatus struct {
	// PublicKey identifies the peer.
	PublicKey Key `json:"publicKey" yaml:"publicKey"`
	// HasPresharedKey reports whether a preshared key is set (the key
	// itself is never reported).
	HasPresharedKey bool `json:"hasPresharedKey,omitempty" yaml:"hasPresharedKey,omitempty"`
	// Endpoint is the address the device sends to: the configured one or
	// the last one the peer sent from. Invalid when unknown.
	Endpoint netip.AddrPort `json:"endpoint,omitzero" yaml:"endpoint"`
	// LastHandshake is the time of the last completed handshake; zero if
	// none.
	LastHandshake time.Time `json:"lastHandshake,omitzero" yaml:"lastHandshake"`
	// RxBytes and TxBytes count the bytes received from and sent to the
	// peer.
	RxBytes int64 `json:"rxBytes" yaml:"rxBytes"`
	TxBytes int64 `json:"txBytes" yaml:"txBytes"`
	// AllowedIPs are sorted.
	AllowedIPs []netip.Prefix `json:"allowedIPs,omitempty" yaml:"allowedIPs,omitempty"`
	// PersistentKeepalive is the keepalive interval in seconds; 0 is off.
	PersistentKeepalive int `json:"persistentKeepalive,omitempty" yaml:"persistentKeepalive,omitempty"`
}

// devState is the full device state a backend reads, secrets included. It
// never leaves the package.
type devState struct {
	privateKey PrivateKey
	listenPort int
	fwmark     uint32
	peers      []peerState
}

type peerState struct {
	publicKey     Key
	psk           PresharedKey
	endpoint      netip.AddrPort
	keepalive     int
	lastHandshake time.Time
	rx, tx        int64
	allowedIPs    []netip.Prefix
}

// config is one configuration request: only the fields set are changed.
type config struct {
	privateKey *PrivateKey
	listenPort *int
	fwmark     *uint32
	peers      []peerConfig
}

func (c config) empty() bool {
	return c.privateKey == nil && c.listenPort == nil && c.fwmark == nil && len(c.peers) == 0
}

type peerConfig struct {
	publicKey         Key
	remove            bool
	updateOnly        bool
	psk               *PresharedKey
	endpoint          netip.AddrPort // set when valid
	keepalive         *int
	replaceAllowedIPs bool
	allowedIPs        []netip.Prefix
}

func (d devState) status(name string, b Backend, mtu int, up bool) Status {
	st := Status{Name: name, Backend: b, ListenPort: d.listenPort, FirewallMark: d.fwmark, MTU: mtu, Up: up}
	if !d.privateKey.IsZero() {
		st.PublicKey = d.privateKey.PublicKey()
	}
	for _, p := range d.peers {
		st.Peers = append(st.Peers, PeerStatus{
			PublicKey:           p.publicKey,
			HasPresharedKey:     !p.psk.IsZero(),
			Endpoint:            p.endpoint,
			LastHandshake:       p.lastHandshake,
			RxBytes:             p.rx,
			TxBytes:             p.tx,
			AllowedIPs:          p.allowedIPs,
			PersistentKeepalive: p.keepalive,
		})
	}
	return st
}
