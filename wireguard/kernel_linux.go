package wireguard

import (
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/netprim/netprim"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// kernel configures a device of the kernel's wireguard module through
// wgctrl's generic netlink socket, opened inside the namespace.
type kernel struct {
	name string
	c    *wgctrl.Client
}

func newKernel(ns *netprim.Namespace, name string) (*kernel, error) {
	var c *wgctrl.Client
	err := ns.Do(func() error {
		var err error
		c, err = wgctrl.New()
		return err
	})
	if err != nil {
		return nil, netprim.KernelError("open", "wireguard netlink", err)
	}
	return &kernel{name: name, c: c}, nil
}

func (k *kernel) kind() Backend { return BackendKernel }

func (k *kernel) read() (devState, error) {
	d, err := k.c.Device(k.name)
	if err != nil {
		return devState{}, netprim.KernelError("get", "wireguard "+k.name, err)
	}
	return fromWgtypes(d), nil
}

func (k *kernel) set(c config) error {
	return netprim.KernelError("set", "wireguard "+k.name, k.c.ConfigureDevice(k.name, toWgtypes(c)))
}

// start is a no-op: the kernel runs the device while its link is up.
func (k *kernel) start() error { return nil }

func (k *kernel) close() error { return k.c.Close() }

func fromWgtypes(d *wgtypes.Device) devState {
	s := devState{privateKey: PrivateKey(d.PrivateKey), listenPort: d.ListenPort, fwmark: uint32(d.FirewallMark)}
	for _, p := range d.Peers {
		ps := peerState{
			publicKey:     Key(p.PublicKey),
			psk:           PresharedKey(p.PresharedKey),
			keepalive:     int(p.PersistentKeepaliveInterval / time.Second),
			lastHandshake: p.LastHandshakeTime,
			rx:            p.ReceiveBytes,
			tx:            p.TransmitBytes,
		}
		if !p.LastHandshakeTime.IsZero() && p.LastHandshakeTime.Unix() == 0 {
			ps.lastHandshake = time.Time{}
		}
		if p.Endpoint != nil {
			ps.endpoint = p.Endpoint.AddrPort()
			ps.endpoint = netip.AddrPortFrom(ps.endpoint.Addr().Unmap(), ps.endpoint.Port())
		}
		for _, n := range p.AllowedIPs {
			a, _ := netip.AddrFromSlice(n.IP)
			if n.IP.To4() != nil {
				a = a.Unmap()
			}
			bits, _ := n.Mask.Size()
			ps.allowedIPs = append(ps.allowedIPs, netip.PrefixFrom(a, bits).Masked())
		}
		slices.SortFunc(ps.allowedIPs, comparePrefix)
		s.peers = append(s.peers, ps)
	}
	sortPeers(s.peers)
	return s
}

func toWgtypes(c config) wgtypes.Config {
	var w wgtypes.Config
	if c.privateKey != nil {
		k := wgtypes.Key(*c.privateKey)
		w.PrivateKey = &k
	}
	if c.listenPort != nil {
		p := *c.listenPort
		w.ListenPort = &p
	}
	if c.fwmark != nil {
		m := int(*c.fwmark)
		w.FirewallMark = &m
	}
	for _, p := range c.peers {
		pc := wgtypes.PeerConfig{PublicKey: wgtypes.Key(p.publicKey), Remove: p.remove, UpdateOnly: p.updateOnly, ReplaceAllowedIPs: p.replaceAllowedIPs}
		if p.psk != nil {
			k := wgtypes.Key(*p.psk)
			pc.PresharedKey = &k
		}
		if p.endpoint.IsValid() {
			pc.Endpoint = net.UDPAddrFromAddrPort(p.endpoint)
		}
		if p.keepalive != nil {
			d := time.Duration(*p.keepalive) * time.Second
			pc.PersistentKeepaliveInterval = &d
		}
		for _, a := range p.allowedIPs {
			pc.AllowedIPs = append(pc.AllowedIPs, net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())})
		}
		w.Peers = append(w.Peers, pc)
	}
	return w
}
