package dhcp

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netprim/netprim"
)

// Defaults of Timing (RFC 2131 section 4.1 and 4.4.5).
const (
	// DefaultInitial is the delay before the first retransmission; it
	// doubles up to DefaultMax, each delay randomized by ±Initial/4 (±1 s,
	// as RFC 2131 says).
	DefaultInitial = 4 * time.Second
	// DefaultMax is the longest delay between retransmissions.
	DefaultMax = 64 * time.Second
	// DefaultRenewMin is the shortest wait between retransmissions while
	// renewing or rebinding: RFC 2131 waits half the time left until T2
	// (or until expiry), down to 60 s.
	DefaultRenewMin = 60 * time.Second
	// DefaultRequestTries is how often a REQUEST (after an offer, or
	// after a restart) is sent before the client starts over.
	DefaultRequestTries = 4
)

// Timing tunes retransmissions. The zero value is RFC 2131's schedule;
// tests shorten it.
type Timing struct {
	// Initial is the delay before the first retransmission (default
	// DefaultInitial).
	Initial time.Duration `json:"initial,omitempty" yaml:"initial,omitempty"`
	// Max caps the doubling delay (default DefaultMax).
	Max time.Duration `json:"max,omitempty" yaml:"max,omitempty"`
	// RenewMin is the shortest wait between renewal or rebinding
	// retransmissions (default DefaultRenewMin).
	RenewMin time.Duration `json:"renewMin,omitempty" yaml:"renewMin,omitempty"`
	// RequestTries is how many REQUESTs are sent in the REQUESTING and
	// INIT-REBOOT states before starting over (default
	// DefaultRequestTries).
	RequestTries int `json:"requestTries,omitempty" yaml:"requestTries,omitempty"`
}

// Config configures a DHCPv4 client for one link.
type Config struct {
	// Link is the name of the link, in the client's namespace. Required.
	Link string `json:"link" yaml:"link"`
	// ClientID is the client identifier (option 61). Empty: hardware type
	// 1 and the link's MAC address, as most clients send it.
	ClientID []byte `json:"clientID,omitempty" yaml:"clientID,omitempty"`
	// Hostname is sent to the server as option 12; empty: none.
	Hostname string `json:"hostname,omitempty" yaml:"hostname,omitempty"`
	// LeaseFile is where the client keeps its lease, so that after a
	// restart it asks for the same address (INIT-REBOOT). Empty: the lease
	// is kept only in memory.
	LeaseFile string `json:"leaseFile,omitempty" yaml:"leaseFile,omitempty"`
	// Release sends a DHCPRELEASE when Run stops because its context
	// ended, and removes the lease file. Without it the lease stays held
	// (the address stays until its lifetime runs out) for a restart to
	// take up.
	Release bool `json:"release,omitempty" yaml:"release,omitempty"`
	// ProbeWait, when positive, probes the acknowledged address with ARP
	// before the lease is reported: three RFC 5227 probes spread evenly
	// over ProbeWait (RFC 5227 waits 1–2 s between probes; a ProbeWait of
	// 3 s comes close), and an answer or another host's probe for the address
	// within ProbeWait means it is in use: the client sends DHCPDECLINE,
	// reports EventDeclined and starts over after 2.5 × Timing.Initial
	// (10 s by default, RFC 2131 3.1.5).
	// Zero: no probe (RFC 2131 says a client SHOULD probe; it delays
	// every binding by ProbeWait).
	ProbeWait time.Duration `json:"probeWait,omitempty" yaml:"probeWait,omitempty"`
	// Specs tunes the specs made from the lease.
	Specs SpecOptions `json:"specs,omitzero" yaml:"specs,omitempty"`
	// Timing tunes retransmissions; the zero value is RFC 2131's.
	Timing Timing `json:"timing,omitzero" yaml:"timing,omitempty"`
	// OnEvent is called from Run's goroutine on every change of the
	// lease. It must not block for long. Nil: events are dropped (Lease
	// still reports the lease).
	OnEvent func(Event) `json:"-" yaml:"-"`
}

// Normalize fills in the defaults of Timing.
func (c *Config) Normalize() {
	c.Timing.normalize()
	c.Link = strings.TrimSpace(c.Link)
}

func (t *Timing) normalize() {
	if t.Initial == 0 {
		t.Initial = DefaultInitial
	}
	if t.Max == 0 {
		t.Max = max(DefaultMax, t.Initial)
	}
	if t.RenewMin == 0 {
		t.RenewMin = DefaultRenewMin
	}
	if t.RequestTries == 0 {
		t.RequestTries = DefaultRequestTries
	}
}

func (t Timing) validate() error {
	switch {
	case t.Initial < time.Millisecond:
		return fmt.Errorf("timing.initial: %w: %v is shorter than 1ms", netprim.ErrInvalidSpec, t.Initial)
	case t.Max < t.Initial:
		return fmt.Errorf("timing.max: %w: %v is shorter than timing.initial %v", netprim.ErrInvalidSpec, t.Max, t.Initial)
	case t.RenewMin < time.Millisecond:
		return fmt.Errorf("timing.renewMin: %w: %v is shorter than 1ms", netprim.ErrInvalidSpec, t.RenewMin)
	case t.RequestTries < 1:
		return fmt.Errorf("timing.requestTries: %w: %d, want at least 1", netprim.ErrInvalidSpec, t.RequestTries)
	}
	return nil
}

// Validate checks a normalized copy of c. Errors name the field and wrap
// netprim.ErrInvalidSpec.
func (c Config) Validate() error {
	c.Normalize()
	if err := c.validate(); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	return nil
}

func (c Config) validate() error {
	if err := validLink(c.Link); err != nil {
		return err
	}
	if len(c.ClientID) == 1 || len(c.ClientID) > 255 {
		return fmt.Errorf("clientID: %w: %d bytes, want 2 to 255", netprim.ErrInvalidSpec, len(c.ClientID))
	}
	if c.Hostname != "" {
		if _, err := hostName(c.Hostname); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}
	if c.ProbeWait < 0 {
		return fmt.Errorf("probeWait: %w: negative", netprim.ErrInvalidSpec)
	}
	return c.Timing.validate()
}

func validLink(name string) error {
	if name == "" || len(name) > 15 || strings.ContainsAny(name, "/: \t\n") || name == "." || name == ".." {
		return fmt.Errorf("link: %w: %q is not an interface name", netprim.ErrInvalidSpec, name)
	}
	return nil
}

// EventKind says what happened to a lease.
type EventKind int

// Event kinds. After Bound, Renewed and Changed, Event.Specs are the
// objects the lease implies (the caller's source sets them); after
// Expired, Released and Declined they are empty (the caller's source
// clears).
const (
	// EventBound: a lease was obtained, after start, a restart
	// (INIT-REBOOT) or a lease lost before.
	EventBound EventKind = iota + 1
	// EventRenewed: the server extended the lease and nothing in the
	// specs changed but the end of the address's lifetimes (its
	// addr.Spec.ValidUntil, the new expiry). Setting them as a
	// reconcile.Source's state runs a pass, which moves the kernel's
	// countdown to the new end in place.
	EventRenewed
	// EventChanged: the server extended the lease with other parameters
	// (or another address); Specs are the new ones.
	EventChanged
	// EventExpired: the lease ran out without renewal, or the server
	// refused it (DHCPNAK, or a DHCPv6 valid lifetime of 0; Err says
	// so), also the lease of Config.LeaseFile or Config6.LeaseFile
	// refused after a restart (possibly before any EventBound of this
	// Run). The client starts over.
	EventExpired
	// EventReleased: the client released the lease on stop.
	EventReleased
	// EventDeclined: the address is in use by another host, and the
	// client declines it and starts over. DHCPv4: the offered address
	// answered an ARP probe (Config.ProbeWait), before anything was
	// held. DHCPv6: the kernel's duplicate address detection marked the
	// bound address "dadfailed" (Config6.DADWait); the lease is dropped
	// and the address must go.
	EventDeclined
	// EventRefused: a server's message could not be used (Err names the
	// field); nothing changed.
	EventRefused
)

var kindNames = [...]string{"", "bound", "renewed", "changed", "expired", "released", "declined", "refused"}

// String returns the kind's name, e.g. "bound".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change of a client's lease.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Link is the client's link.
	Link string
	// Lease is the IPv4 lease now held (a copy), nil for a DHCPv6 client
	// and after Expired, Released and Declined.
	Lease *Lease
	// Lease6 is the DHCPv6 lease now held (a copy), nil for a DHCPv4
	// client and after Expired, Released and Declined.
	Lease6 *Lease6
	// Specs are the objects the lease implies; empty when no lease is
	// held.
	Specs Specs
	// Dropped are the options of the server's message that were left
	// out, with the reason.
	Dropped []*OptionError
	// Err is why a lease ended early, was declined or refused.
	Err error
}

// Client is a DHCPv4 client for one link in one network namespace. It
// runs the RFC 2131 state machine (INIT, SELECTING, REQUESTING, BOUND,
// RENEWING, REBINDING, INIT-REBOOT) in Run and reports every change of
// its lease through Config.OnEvent.
type Client struct {
	ns  *netprim.Namespace
	cfg Config
	held[Lease, *Lease]
}

// cloner is a lease type whose pointer copies it.
type cloner[L any] interface {
	*L
	Clone() *L
}

// held is what a client shares between Run and its callers: the lease it
// holds (a copy goes out) and whether Run is running.
type held[L any, P cloner[L]] struct {
	mu      sync.Mutex
	lease   *L
	running bool
}

func (h *held[L, P]) current() *L {
	h.mu.Lock()
	defer h.mu.Unlock()
	return P(h.lease).Clone()
}

func (h *held[L, P]) setLease(l *L) {
	h.mu.Lock()
	h.lease = P(l).Clone()
	h.mu.Unlock()
}

// start marks Run as running, refusing a second Run on link.
func (h *held[L, P]) start(link string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		return fmt.Errorf("dhcp: client for %s: %w: Run is already running", link, netprim.ErrInvalidSpec)
	}
	h.running = true
	return nil
}

func (h *held[L, P]) stopped() {
	h.mu.Lock()
	h.running = false
	h.mu.Unlock()
}

// NewClient returns a client for cfg.Link in ns (nil: the caller's
// namespace). It checks cfg; the link is looked up when Run starts.
func NewClient(ns *netprim.Namespace, cfg Config) (*Client, error) {
	cfg.Normalize()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	cfg.ClientID = slices.Clone(cfg.ClientID)
	return &Client{ns: ns, cfg: cfg}, nil
}

// Lease returns a copy of the lease the client holds, or nil.
func (c *Client) Lease() *Lease { return c.current() }

// backoff is RFC 2131's retransmission delay (section 4.1): Initial
// doubling up to Max, each randomized by ±Initial/4 (±1 s by default).
func (t Timing) backoff(i int) time.Duration {
	d := t.nominal(i)
	if j := t.Initial / 4; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j+1))) - j
	}
	return max(d, time.Millisecond)
}

// backoff6 is RFC 8415's retransmission timeout (section 15): Initial
// doubling up to Max, each randomized by ±10 %; the first timeout of a
// Solicit is randomized upwards only, strictly more than Initial.
func (t Timing) backoff6(i int, solicit bool) time.Duration {
	d := t.nominal(i)
	j := int64(d / 10)
	if j <= 0 {
		return max(d, time.Millisecond)
	}
	if solicit && i == 0 {
		return d + time.Duration(1+rand.Int64N(j))
	}
	return max(d+time.Duration(rand.Int64N(2*j+1)-j), time.Millisecond)
}

// nominal is Initial doubled i times, at most Max.
func (t Timing) nominal(i int) time.Duration {
	d := t.Initial
	for ; i > 0 && d < t.Max; i-- {
		d *= 2
	}
	return min(d, t.Max)
}

// tries is backoff for n transmissions.
func (t Timing) tries(n int) func(int) time.Duration {
	return func(i int) time.Duration {
		if i >= n {
			return 0
		}
		return t.backoff(i)
	}
}

// tries6 is backoff6 for n transmissions (not of a Solicit).
func (t Timing) tries6(n int) func(int) time.Duration {
	return func(i int) time.Duration {
		if i >= n {
			return 0
		}
		return t.backoff6(i, false)
	}
}

// until waits half the time left until deadline, at least RenewMin, and
// stops at deadline (RFC 2131 4.4.5).
func (t Timing) until(deadline time.Time) func(int) time.Duration {
	return func(int) time.Duration {
		left := time.Until(deadline)
		if left <= 0 {
			return 0
		}
		return min(max(left/2, t.RenewMin), left)
	}
}

// resume moves a lease's clock from *bound to now: life (the lease time or
// valid lifetime) and each of the other durations counted from *bound
// shrink by the time gone (the others to no less than zero), so that
// the lease still ends when it did. An infinite lease, or a bound time
// not in the past, is left as it is.
func resume(bound *time.Time, now time.Time, life *time.Duration, others ...*time.Duration) {
	gone := now.Sub(*bound)
	if *life >= InfiniteLease || gone <= 0 {
		return
	}
	*bound = now
	*life -= gone
	for _, d := range others {
		*d = max(*d-gone, 0)
	}
}
