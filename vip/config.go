package vip

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/link"
)

// DefaultOwnerID marks the shared IP's address (IFA_PROTO) when
// Config.Owner is zero. It differs from netprim.DefaultOwnerID on purpose:
// a Reconciler that prunes the addresses of its own owner never touches the
// shared IP, whose only writer is its Controller.
const DefaultOwnerID = netprim.DefaultOwnerID + 1

// DefaultOwner is the owner of the shared IP's address when Config.Owner is
// zero.
func DefaultOwner() netprim.Owner { return netprim.Owner{ID: DefaultOwnerID, Name: "netprim-vip"} }

// Health check defaults.
const (
	DefaultHealthInterval = 500 * time.Millisecond
	DefaultHealthFailures = 2
)

// Config is one shared IP on one link.
type Config struct {
	// Address is the shared IP, IPv4 or IPv6. It is added as a host
	// address (/32 or /128; IPv6 with nodad) and must lie inside a subnet
	// of another address of Link.
	Address netip.Addr `json:"address" yaml:"address"`
	// Link is the link that carries the address: a physical link, a VLAN,
	// a bond or a bridge.
	Link string `json:"link" yaml:"link"`
	// Announce says how often the owner announces the address.
	Announce AnnounceOptions `json:"announce,omitempty" yaml:"announce,omitempty"`
	// Health gates the candidacy; the link's state always does.
	Health HealthOptions `json:"health,omitempty" yaml:"health,omitempty"`
	// Owner marks the address in the kernel; zero means DefaultOwner.
	// Use an owner no Reconciler prunes with.
	Owner netprim.Owner `json:"-" yaml:"-"`
}

// HealthOptions is a caller's health check. A node whose check fails
// Failures times in a row steps down (the address removed, the term
// resigned) and stands again once the check passes.
type HealthOptions struct {
	// Check reports the node's health; nil means always healthy. It is
	// called with a context that ends after Interval, and must return
	// when that context ends: Run waits for it before it returns.
	Check func(ctx context.Context) error `json:"-" yaml:"-"`
	// Interval between checks; 0 means DefaultHealthInterval.
	Interval time.Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Failures in a row that make the node unhealthy; 0 means
	// DefaultHealthFailures.
	Failures int `json:"failures,omitempty" yaml:"failures,omitempty"`
}

// Validate checks the configuration without reading the kernel; New and
// Controller.Run also check it against the link (see Controller.Run).
// Errors wrap netprim.ErrInvalidSpec and name the field.
func (c Config) Validate() error {
	a := c.Address
	switch {
	case !a.IsValid():
		return fieldError("address", "missing")
	case a.Zone() != "":
		return fieldError("address", "%s: a zone is not allowed", a)
	case a.IsUnspecified(), a.IsLoopback(), a.IsMulticast(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fieldError("address", "%s is not a unicast address a node can share", a)
	case a.Is4In6():
		return fieldError("address", "%s: write IPv4 addresses as such", a)
	}
	if c.Link == "" {
		return fieldError("link", "missing")
	}
	if err := link.ValidName(c.Link); err != nil {
		return fieldError("link", "%v", err)
	}
	o := c.Announce
	if o.Count > 1000 {
		return fieldError("announce.count", "%d is more than 1000", o.Count)
	}
	if o.Interval < 0 || (o.Interval > 0 && o.Interval < 10*time.Millisecond) {
		return fieldError("announce.interval", "%v: use at least 10ms", o.Interval)
	}
	if o.Refresh < 0 || (o.Refresh > 0 && o.Refresh < 100*time.Millisecond) {
		return fieldError("announce.refresh", "%v: use at least 100ms (0 turns it off)", o.Refresh)
	}
	h := c.Health
	if h.Interval < 0 || (h.Interval > 0 && h.Interval < 10*time.Millisecond) {
		return fieldError("health.interval", "%v: use at least 10ms", h.Interval)
	}
	if h.Failures < 0 {
		return fieldError("health.failures", "%d is negative", h.Failures)
	}
	if c.Owner != (netprim.Owner{}) {
		if err := c.Owner.Validate(); err != nil {
			return fmt.Errorf("vip: owner: %w", err)
		}
	}
	return nil
}

// normalized fills the defaults.
func (c Config) normalized() Config {
	if c.Owner == (netprim.Owner{}) {
		c.Owner = DefaultOwner()
	}
	if c.Announce.Count == 0 {
		c.Announce.Count = DefaultAnnounceCount
	}
	if c.Announce.Interval == 0 {
		c.Announce.Interval = DefaultAnnounceInterval
	}
	if c.Health.Interval == 0 {
		c.Health.Interval = DefaultHealthInterval
	}
	if c.Health.Failures == 0 {
		c.Health.Failures = DefaultHealthFailures
	}
	return c
}

// prefix is the address as the kernel carries it: a host prefix.
func (c Config) prefix() netip.Prefix { return netip.PrefixFrom(c.Address, c.Address.BitLen()) }

func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("vip: %s: %s: %w", field, fmt.Sprintf(format, args...), netprim.ErrInvalidSpec)
}
