package wireguard

import (
	"context"
	"errors"

	"github.com/netprim/netprim"
	"net/netip"
	"time"

	"github.com/netprim/netprim/route"
)

// Mesh defaults, KubeSpan's numbers.
const (
	// DefaultPort is the UDP port of every mesh member.
	DefaultPort = 51820
	// DefaultKeepalive is the persistent keepalive of mesh peers, seconds.
	DefaultKeepalive = 25
	// MinMeshMTU is the smallest tunnel MTU: IPv6 needs 1280.
	MinMeshMTU = 1280
	// StatusInterval is how often a mesh re-reads peer status and
	// re-evaluates health and endpoints (also on every event).
	StatusInterval = 30 * time.Second
)

// Health is the state of a peer as judged from its handshakes.
type Health string

// Peer health states.
const (
	HealthUnknown Health = "unknown" // endpoint just changed, or never had one
	HealthUp      Health = "up"      // recent handshake
	HealthDown    Health = "down"    // no recent handshake
)

// Health thresholds.
//
// WireGuard re-handshakes at least every 2 minutes while traffic flows
// and rejects a session 180 s (RejectAfterTime) after its handshake; a
// handshake attempt times out after 5 s (RekeyTimeout); a further 90 s
// covers the retries of a peer that was idle. So a peer without a
// handshake for PeerDownAfter = 180 + 5 + 90 = 275 s is down. After an
// endpoint change, EndpointConnectTimeout = 15 s is allowed for the
// first handshake before the new endpoint is judged.
const (
	PeerDownAfter          = (180 + 5 + 90) * time.Second
	EndpointConnectTimeout = 15 * time.Second
)

// PeerHealth judges a peer at time now from its last handshake (zero:
// never) and the time its endpoint was last changed (zero: not changed
// since the device started). hasEndpoint reports whether the peer has an
// endpoint at all. The rule:
//
//   - less than EndpointConnectTimeout since the endpoint change: up if
//     a handshake happened after the change, else unknown;
//   - less than PeerDownAfter since the change: up if a handshake happened
//     after the change, else down;
//   - otherwise (or no change): up if the last handshake is less than
//     PeerDownAfter old, else down;
//   - a down peer without any endpoint is unknown: nothing was tried.
func PeerHealth(now, lastHandshake, endpointChanged time.Time, hasEndpoint bool) Health {
	h := judge(now, lastHandshake, endpointChanged)
	if h == HealthDown && !hasEndpoint {
		return HealthUnknown
	}
	return h
}

func judge(now, hs, changed time.Time) Health {
	after := !hs.IsZero() && !changed.IsZero() && hs.After(changed)
	if !changed.IsZero() {
		since := now.Sub(changed)
		if since < EndpointConnectTimeout {
			if after {
				return HealthUp
			}
			return HealthUnknown
		}
		if since < PeerDownAfter {
			if after {
				return HealthUp
			}
			return HealthDown
		}
	}
	if !hs.IsZero() && now.Sub(hs) < PeerDownAfter {
		return HealthUp
	}
	return HealthDown
}

// PeerTracker follows one mesh peer: its health and which of its candidate
// endpoints is in use. While the peer is down it cycles through the
// candidates, round robin, one step per Update. It is a plain value for
// one goroutine; a product calls Update on every status read (events and
// every StatusInterval) and re-applies the Spec when the endpoint changed.
type PeerTracker struct {
	// Endpoints are the candidate endpoints ("addr:port" or "host:port"),
	// in order of preference.
	Endpoints []string

	current int
	changed time.Time
	started bool
}

// Endpoint returns the candidate in use, or "" when there is none.
func (t *PeerTracker) Endpoint() string {
	if len(t.Endpoints) == 0 {
		return ""
	}
	return t.Endpoints[t.current%len(t.Endpoints)]
}

// EndpointChanged returns when the endpoint was last changed.
func (t *PeerTracker) EndpointChanged() time.Time { return t.changed }

// Update judges the peer at now from its status and, when it is down,
// moves to the next candidate endpoint. It returns the health and whether
// the endpoint changed (the caller then sets PeerSpec.Endpoint to
// Endpoint() and applies). The first Update starts the clock: the first
// endpoint gets EndpointConnectTimeout like any change.
func (t *PeerTracker) Update(now time.Time, st PeerStatus) (Health, bool) {
	if !t.started {
		t.started = true
		t.changed = now
	}
	h := PeerHealth(now, st.LastHandshake, t.changed, len(t.Endpoints) > 0 || st.Endpoint.IsValid())
	if h == HealthDown && len(t.Endpoints) > 1 {
		t.current = (t.current + 1) % len(t.Endpoints)
		t.changed = now
		return h, true
	}
	return h, false
}

// TunnelMTU returns the MTU of a WireGuard link over an underlying link
// of MTU underlying: 80 bytes less for an IPv6 outer header (40 IPv6 + 8
// UDP + 32 WireGuard), 60 less for IPv4. KubeSpan uses the IPv6 figure so
// either outer family fits. Results below MinMeshMTU are returned as they
// are; a mesh that carries IPv6 needs at least MinMeshMTU.
func TunnelMTU(underlying int, ipv6Outer bool) int {
	if ipv6Outer {
		return underlying - 80
	}
	return underlying - 60
}

// Mesh routing defaults, KubeSpan's: the device marks its own UDP packets
// MarkDevice so they are never routed into the tunnel; packets marked
// MarkTunnel (by the firewall) are looked up in RouteTable by a rule of
// priority RulePriority.
const (
	MarkDevice   uint32 = 0x20
	MarkTunnel   uint32 = 0x40
	MarkMask     uint32 = 0x60
	RouteTable   uint32 = 180
	RulePriority uint32 = 32500
)

// Routing is the policy routing that sends mesh traffic into the tunnel:
// rules "fwmark Mark/Mask lookup Table priority Priority" for IPv4 and
// IPv6, and in Table one route per prefix to Link. Zero fields take the
// defaults above. Marking the packets (MarkTunnel) is the firewall's job.
type Routing struct {
	Link     string         // the WireGuard link, e.g. "kubespan"
	Prefixes []netip.Prefix // the mesh's addresses, routed into Link
	Table    uint32         // default RouteTable
	Priority uint32         // default RulePriority
	Mark     uint32         // default MarkTunnel
	Mask     uint32         // default MarkMask
}

func (r Routing) withDefaults() Routing {
	if r.Table == 0 {
		r.Table = RouteTable
	}
	if r.Priority == 0 {
		r.Priority = RulePriority
	}
	if r.Mark == 0 {
		r.Mark = MarkTunnel
	}
	if r.Mask == 0 {
		r.Mask = MarkMask
	}
	return r
}

// Rules returns the policy rules, one per family, for route.ApplyRules.
func (r Routing) Rules() []route.Rule {
	r = r.withDefaults()
	var rules []route.Rule
	for _, f := range []route.Family{route.FamilyIPv4, route.FamilyIPv6} {
		rules = append(rules, route.Rule{Priority: r.Priority, Family: f, FwMark: r.Mark, FwMask: r.Mask, Table: r.Table})
	}
	return rules
}

// Routes returns the routes of Table, one per prefix via Link, for
// route.Apply.
func (r Routing) Routes() []route.Spec {
	r = r.withDefaults()
	var rs []route.Spec
	for _, p := range r.Prefixes {
		rs = append(rs, route.Spec{Destination: p.Masked(), Link: r.Link, Table: r.Table})
	}
	return rs
}

// ApplyRouting installs r: its rules with route.ApplyRules, then its
// routes with route.Apply (opts are passed to both). It returns the
// changes of both; errors of both are joined. With netprim.WithPrune it
// deletes every rule and route of the owner that r does not hold, mesh or
// not: pass it only when r is the owner's whole desired routing (see
// "Mesh routing and pruning" in the package doc).
func ApplyRouting(ctx context.Context, ns *netprim.Namespace, r Routing, opts ...netprim.Option) (netprim.Plan, error) {
	var plan netprim.Plan
	p, err1 := route.ApplyRules(ctx, ns, r.Rules(), opts...)
	plan.Merge(p)
	var err2 error
	if routes := r.Routes(); len(routes) > 0 {
		p, err2 = route.Apply(ctx, ns, routes, opts...)
		plan.Merge(p)
	}
	return plan, errors.Join(err1, err2)
}

// Health judges the peer at now by PeerHealth, for a peer whose endpoint
// has not been changed by a PeerTracker (use the tracker's Update for
// those).
func (p PeerStatus) Health(now time.Time) Health {
	return PeerHealth(now, p.LastHandshake, time.Time{}, p.Endpoint.IsValid())
}
