package dhcp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netprim/netprim"
)

// Defaults of Config6.Timing (RFC 8415 section 7.6, with a shorter cap).
const (
	// DefaultInitial6 is SOL_TIMEOUT and REQ_TIMEOUT.
	DefaultInitial6 = time.Second
	// DefaultMax6 caps the doubling delay between Solicits (RFC 8415's
	// SOL_MAX_RT is 3600 s; a shorter cap finds a returning server
	// sooner).
	DefaultMax6 = 120 * time.Second
	// DefaultRenewMin6 is REN_TIMEOUT and REB_TIMEOUT.
	DefaultRenewMin6 = 10 * time.Second
	// DefaultDADWait is Config6.DADWait's default: longer than the
	// kernel's duplicate address detection with its defaults (a random
	// delay of up to 1 s, then one probe answered within 1 s), plus the
	// time the caller takes to apply the address.
	DefaultDADWait = 5 * time.Second
)

// Config6 configures a DHCPv6 client for one link (stateful address
// assignment: one IA_NA).
type Config6 struct {
	// Link is the name of the link, in the client's namespace. Required.
	// The client waits for the link's IPv6 link-local address.
	Link string `json:"link" yaml:"link"`
	// DUID is the client's DHCP unique identifier (RFC 8415 11), raw: its
	// 2-byte type, then its content, at most 130 bytes in all, e.g. a
	// DUID-UUID (type 4) that stays the same when the network card is
	// replaced. Empty: a DUID-LL (type 3) of the link's hardware address.
	DUID []byte `json:"duid,omitempty" yaml:"duid,omitempty"`
	// NoRapidCommit leaves out the Rapid Commit option from the Solicit;
	// with it (the default) a server that allows rapid commit answers
	// with a Reply at once.
	NoRapidCommit bool `json:"noRapidCommit,omitempty" yaml:"noRapidCommit,omitempty"`
	// LeaseFile is where the client keeps its lease, so that after a
	// restart it takes the lease up again (a Rebind with its address,
	// RFC 8415 18.2.12; without an answer, the lease for what is left of
	// it) instead of soliciting a new one. Each client needs a file of
	// its own. Empty: the lease is kept only in memory.
	LeaseFile string `json:"leaseFile,omitempty" yaml:"leaseFile,omitempty"`
	// Release sends a Release when Run stops because its context ended,
	// and removes the lease file.
	Release bool `json:"release,omitempty" yaml:"release,omitempty"`
	// DADWait is how long the client watches a newly bound address on
	// the link for the kernel's duplicate address detection (RFC 8415
	// 18.2.10.1): when the kernel marks it "dadfailed", the client
	// reports EventDeclined (the caller's source clears: the address
	// goes), sends a Decline and solicits again. The watch ends early
	// once the address is there and no longer tentative; an address
	// nobody applied within DADWait is not checked. Zero takes
	// DefaultDADWait; negative turns the check off.
	DADWait time.Duration `json:"dadWait,omitempty" yaml:"dadWait,omitempty"`
	// Specs tunes the specs made from the lease (NoDNS).
	Specs SpecOptions `json:"specs,omitzero" yaml:"specs,omitempty"`
	// Timing tunes retransmissions: zero fields take DefaultInitial6,
	// DefaultMax6, DefaultRenewMin6 and DefaultRequestTries. Solicits and
	// Requests are retransmitted after Initial doubling up to Max, each
	// randomized by ±10 % (RFC 8415 section 15).
	Timing Timing `json:"timing,omitzero" yaml:"timing,omitempty"`
	// OnEvent is called from Run's goroutine on every change of the
	// lease (Event.Lease6 is set). It must not block for long.
	OnEvent func(Event) `json:"-" yaml:"-"`
}

// Normalize fills in the defaults of Timing.
func (c *Config6) Normalize() {
	c.Link = strings.TrimSpace(c.Link)
	if c.Timing.Initial == 0 {
		c.Timing.Initial = DefaultInitial6
	}
	if c.Timing.Max == 0 {
		c.Timing.Max = max(DefaultMax6, c.Timing.Initial)
	}
	if c.Timing.RenewMin == 0 {
		c.Timing.RenewMin = DefaultRenewMin6
	}
	if c.DADWait == 0 {
		c.DADWait = DefaultDADWait
	}
	c.Timing.normalize()
}

// Validate checks a normalized copy of c. Errors name the field and wrap
// netprim.ErrInvalidSpec.
func (c Config6) Validate() error {
	c.Normalize()
	if err := validLink(c.Link); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	if err := c.Timing.validate(); err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	if len(c.DUID) > 0 {
		if _, err := parseDUID(c.DUID); err != nil {
			return fmt.Errorf("dhcp: duid: %w: %v", netprim.ErrInvalidSpec, err)
		}
	}
	return nil
}

// parseDUID checks a raw DUID: a known type's content, or any other
// type's (RFC 8415 11: 2 to 130 bytes in all).
func parseDUID(b []byte) (dhcpv6.DUID, error) {
	if len(b) < 3 || len(b) > 130 {
		return nil, fmt.Errorf("%d bytes, want 3 to 130 (a 2-byte type and its content)", len(b))
	}
	return dhcpv6.DUIDFromBytes(b)
}

// Client6 is a DHCPv6 client for one link in one network namespace:
// Solicit (with rapid commit), Request, Decline of an address the
// kernel's duplicate address detection refused, Renew at T1, Rebind at
// T2, expiry, and Release on stop when asked.
type Client6 struct {
	ns  *netprim.Namespace
	cfg Config6
	held[Lease6, *Lease6]
}

// NewClient6 returns a DHCPv6 client for cfg.Link in ns (nil: the caller's
// namespace).
func NewClient6(ns *netprim.Namespace, cfg Config6) (*Client6, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Normalize()
	cfg.DUID = slices.Clone(cfg.DUID)
	return &Client6{ns: ns, cfg: cfg}, nil
}

// Lease returns a copy of the lease the client holds, or nil.
func (c *Client6) Lease() *Lease6 { return c.current() }
