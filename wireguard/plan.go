package wireguard

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/netprim/netprim"
)

// Change kinds used in Plans.
const (
	KindDevice = "wireguard"      // the device: private key, port, mark
	KindPeer   = "wireguard-peer" // one peer, Object "KEY dev NAME"
	KindLink   = "link"           // the link: creation, MTU, up
)

// endpointEnv is what the endpoint rule needs beyond the two states.
type endpointEnv struct {
	// now judges whether a peer's last handshake is recent.
	now time.Time
	// applied is the Spec endpoint (as written, "" for none) of each
	// peer in the last Spec this handle applied; nil when unknown.
	applied map[Key]string
	// resolved holds every address a host-name endpoint resolved to.
	resolved map[Key][]netip.AddrPort
}

// sendEndpoint decides whether an existing peer's endpoint is set to the
// configured address ep (see "Endpoints and roaming" in the package
// documentation). Pure.
func sendEndpoint(c *peerState, w PeerSpec, ep netip.AddrPort, env endpointEnv) bool {
	if c.endpoint == ep || slices.Contains(env.resolved[w.PublicKey], c.endpoint) {
		return false // already at a configured address
	}
	if !c.endpoint.IsValid() {
		return true // no endpoint at all
	}
	if prev, ok := env.applied[w.PublicKey]; ok && prev != w.Endpoint {
		return true // the Spec's endpoint changed since the last Apply
	}
	// The peer is at another address: it roamed there, or the endpoint
	// was set by someone else. Leave a live tunnel alone.
	return !peerLive(c.lastHandshake, env.now)
}

// peerLive reports whether a handshake completed less than PeerDownAfter
// before now.
func peerLive(hs, now time.Time) bool {
	return !hs.IsZero() && now.Sub(hs) < PeerDownAfter
}

// checkTakeOver refuses to adopt an existing device configured with
// another private key: it belongs to someone else (wg-quick, another
// product), and applying the Spec would replace its key and remove its
// peers. A device without a private key is adopted. Pure.
func checkTakeOver(name string, cur devState, want Spec, takeOver bool) error {
	if takeOver || cur.privateKey.IsZero() || cur.privateKey == want.PrivateKey {
		return nil
	}
	return fmt.Errorf("wireguard: %s: %w: the existing device has another private key (public key %s); pass WithTakeOver to replace its configuration",
		name, netprim.ErrConflict, cur.privateKey.PublicKey())
}

// diff computes the configuration request that turns cur into want and
// the changes it makes. want must be normalized and valid; eps holds the
// resolved endpoint of every peer whose Endpoint is set, env what the
// endpoint rule needs (sendEndpoint). cur nil means a new, empty device.
// Pure: no I/O.
func diff(name string, cur *devState, want Spec, eps map[Key]netip.AddrPort, env endpointEnv) (config, []netprim.Change) {
	var cfg config
	var ch []netprim.Change
	if cur == nil {
		cur = &devState{}
	}
	if cur.privateKey != want.PrivateKey {
		k := want.PrivateKey
		cfg.privateKey = &k
		from := "none"
		if !cur.privateKey.IsZero() {
			from = hiddenKey(cur.privateKey)
		}
		ch = append(ch, netprim.Change{Action: netprim.Modify, Kind: KindDevice, Object: name, Field: "private-key",
			From: from, To: hiddenKey(want.PrivateKey), Disruptive: !cur.privateKey.IsZero(),
			Reason: reasonIf(!cur.privateKey.IsZero(), "peers must learn the new public key")})
	}
	if want.ListenPort != 0 && cur.listenPort != want.ListenPort {
		p := want.ListenPort
		cfg.listenPort = &p
		ch = append(ch, modify(KindDevice, name, "listen-port", itoaOrNone(cur.listenPort), strconv.Itoa(p)))
	}
	if cur.fwmark != want.FirewallMark {
		m := want.FirewallMark
		cfg.fwmark = &m
		ch = append(ch, modify(KindDevice, name, "fwmark", markOrNone(cur.fwmark), markOrNone(m)))
	}

	have := make(map[Key]*peerState, len(cur.peers))
	for i := range cur.peers {
		have[cur.peers[i].publicKey] = &cur.peers[i]
	}
	wanted := make(map[Key]bool, len(want.Peers))
	for _, w := range want.Peers {
		wanted[w.PublicKey] = true
		obj := w.PublicKey.String() + " dev " + name
		ep, hasEP := eps[w.PublicKey]
		c, ok := have[w.PublicKey]
		if !ok {
			pc := peerConfig{publicKey: w.PublicKey, allowedIPs: w.AllowedIPs}
			if !w.PresharedKey.IsZero() {
				k := w.PresharedKey
				pc.psk = &k
			}
			if hasEP {
				pc.endpoint = ep
			}
			if w.PersistentKeepalive != 0 {
				k := w.PersistentKeepalive
				pc.keepalive = &k
			}
			cfg.peers = append(cfg.peers, pc)
			ch = append(ch, netprim.Change{Action: netprim.Add, Kind: KindPeer, Object: obj + peerDetail(w, ep)})
			continue
		}
		pc := peerConfig{publicKey: w.PublicKey, updateOnly: true}
		changed := false
		if hasEP && sendEndpoint(c, w, ep, env) {
			pc.endpoint = ep
			changed = true
			ch = append(ch, modify(KindPeer, obj, "endpoint", addrPortOrNone(c.endpoint), ep.String()))
		}
		if c.keepalive != w.PersistentKeepalive {
			k := w.PersistentKeepalive
			pc.keepalive = &k
			changed = true
			ch = append(ch, modify(KindPeer, obj, "persistent-keepalive", itoaOrNone(c.keepalive), itoaOrNone(k)))
		}
		if c.psk != w.PresharedKey {
			k := w.PresharedKey
			pc.psk = &k
			changed = true
			ch = append(ch, modify(KindPeer, obj, "preshared-key", c.psk.String(), k.String()))
		}
		if !slices.Equal(c.allowedIPs, w.AllowedIPs) {
			changed = true
			if missing, ok := onlyAdditions(c.allowedIPs, w.AllowedIPs); ok {
				pc.allowedIPs = missing
			} else {
				pc.replaceAllowedIPs = true
				pc.allowedIPs = w.AllowedIPs
			}
			ch = append(ch, modify(KindPeer, obj, "allowed-ips", prefixList(c.allowedIPs), prefixList(w.AllowedIPs)))
		}
		if changed {
			cfg.peers = append(cfg.peers, pc)
		}
	}
	for _, c := range cur.peers {
		if !wanted[c.publicKey] {
			cfg.peers = append(cfg.peers, peerConfig{publicKey: c.publicKey, remove: true})
			ch = append(ch, netprim.Change{Action: netprim.Delete, Kind: KindPeer, Object: c.publicKey.String() + " dev " + name,
				Disruptive: true, Reason: "traffic to the peer stops"})
		}
	}
	return cfg, ch
}

// onlyAdditions reports whether want is have plus some prefixes, and
// returns those. Both are sorted and de-duplicated.
func onlyAdditions(have, want []netip.Prefix) ([]netip.Prefix, bool) {
	var add []netip.Prefix
	for _, h := range have {
		if _, found := slices.BinarySearchFunc(want, h, comparePrefix); !found {
			return nil, false
		}
	}
	for _, w := range want {
		if _, found := slices.BinarySearchFunc(have, w, comparePrefix); !found {
			add = append(add, w)
		}
	}
	return add, true
}

func peerDetail(w PeerSpec, ep netip.AddrPort) string {
	s := ""
	if ep.IsValid() {
		s += " endpoint " + ep.String()
	}
	s += " allowed-ips " + prefixList(w.AllowedIPs)
	if w.PersistentKeepalive != 0 {
		s += " persistent-keepalive " + strconv.Itoa(w.PersistentKeepalive)
	}
	if !w.PresharedKey.IsZero() {
		s += " preshared-key " + hidden
	}
	return s
}

func modify(kind, obj, field, from, to string) netprim.Change {
	return netprim.Change{Action: netprim.Modify, Kind: kind, Object: obj, Field: field, From: from, To: to}
}

func hiddenKey(k PrivateKey) string { return hidden + " public-key " + k.PublicKey().String() }

func reasonIf(cond bool, r string) string {
	if cond {
		return r
	}
	return ""
}

func itoaOrNone(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func markOrNone(m uint32) string {
	if m == 0 {
		return ""
	}
	return fmt.Sprintf("0x%x", m)
}

func addrPortOrNone(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}
