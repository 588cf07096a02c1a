package wireguard

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// uapiSet renders a configuration request in the WireGuard cross-platform
// UAPI text protocol ("set" operation body, without the "set=1" line).
func uapiSet(c config) string {
	var b strings.Builder
	kv := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	if c.privateKey != nil {
		kv("private_key", hex.EncodeToString(c.privateKey[:]))
	}
	if c.listenPort != nil {
		kv("listen_port", strconv.Itoa(*c.listenPort))
	}
	if c.fwmark != nil {
		kv("fwmark", strconv.FormatUint(uint64(*c.fwmark), 10))
	}
	for _, p := range c.peers {
		kv("public_key", hex.EncodeToString(p.publicKey[:]))
		if p.remove {
			kv("remove", "true")
			continue
		}
		if p.updateOnly {
			kv("update_only", "true")
		}
		if p.psk != nil {
			kv("preshared_key", hex.EncodeToString(p.psk[:]))
		}
		if p.endpoint.IsValid() {
			kv("endpoint", p.endpoint.String())
		}
		if p.keepalive != nil {
			kv("persistent_keepalive_interval", strconv.Itoa(*p.keepalive))
		}
		if p.replaceAllowedIPs {
			kv("replace_allowed_ips", "true")
		}
		for _, a := range p.allowedIPs {
			kv("allowed_ip", a.String())
		}
	}
	return b.String()
}

// parseUAPIGet decodes the body of a UAPI "get" answer. Messages never
// quote a line, so a malformed key line cannot leak into an error.
func parseUAPIGet(s string) (devState, error) {
	var d devState
	var p *peerState
	var hsSec, hsNsec int64
	flush := func() {
		if p == nil {
			return
		}
		if hsSec != 0 || hsNsec != 0 {
			p.lastHandshake = time.Unix(hsSec, hsNsec)
		}
		slices.SortFunc(p.allowedIPs, comparePrefix)
		d.peers = append(d.peers, *p)
		p, hsSec, hsNsec = nil, 0, 0
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" {
			break
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return devState{}, fmt.Errorf("uapi line %d: no '='", line)
		}
		bad := func(err error) error { return fmt.Errorf("uapi line %d: %s: %v", line, k, err) }
		switch k {
		case "private_key":
			if err := hexKey(v, (*[KeyLen]byte)(&d.privateKey)); err != nil {
				return devState{}, fmt.Errorf("uapi line %d: private_key: malformed", line)
			}
		case "listen_port":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return devState{}, bad(err)
			}
			d.listenPort = int(n)
		case "fwmark":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return devState{}, bad(err)
			}
			d.fwmark = uint32(n)
		case "public_key":
			flush()
			p = &peerState{}
			if err := hexKey(v, (*[KeyLen]byte)(&p.publicKey)); err != nil {
				return devState{}, bad(err)
			}
		case "errno":
			if v != "0" {
				return devState{}, fmt.Errorf("uapi: errno %s", v)
			}
		default:
			if p == nil {
				continue // unknown device key: ignore, as wg does
			}
			switch k {
			case "preshared_key":
				if err := hexKey(v, (*[KeyLen]byte)(&p.psk)); err != nil {
					return devState{}, fmt.Errorf("uapi line %d: preshared_key: malformed", line)
				}
			case "endpoint":
				ap, err := netip.ParseAddrPort(v)
				if err != nil {
					return devState{}, bad(err)
				}
				p.endpoint = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			case "persistent_keepalive_interval":
				n, err := strconv.ParseUint(v, 10, 16)
				if err != nil {
					return devState{}, bad(err)
				}
				p.keepalive = int(n)
			case "last_handshake_time_sec":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return devState{}, bad(err)
				}
				hsSec = n
			case "last_handshake_time_nsec":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return devState{}, bad(err)
				}
				hsNsec = n
			case "rx_bytes":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return devState{}, bad(err)
				}
				p.rx = n
			case "tx_bytes":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return devState{}, bad(err)
				}
				p.tx = n
			case "allowed_ip":
				pfx, err := netip.ParsePrefix(v)
				if err != nil {
					return devState{}, bad(err)
				}
				p.allowedIPs = append(p.allowedIPs, pfx.Masked())
			}
		}
	}
	if err := sc.Err(); err != nil {
		return devState{}, fmt.Errorf("uapi: %w", err)
	}
	flush()
	sortPeers(d.peers)
	return d, nil
}

func sortPeers(ps []peerState) {
	slices.SortFunc(ps, func(a, b peerState) int { return strings.Compare(string(a.publicKey[:]), string(b.publicKey[:])) })
}

func hexKey(s string, k *[KeyLen]byte) error {
	if len(s) != 2*KeyLen {
		return fmt.Errorf("key is %d hex digits, want %d", len(s), 2*KeyLen)
	}
	_, err := hex.Decode(k[:], []byte(s))
	if err != nil {
		return fmt.Errorf("key is not hex")
	}
	return nil
}
