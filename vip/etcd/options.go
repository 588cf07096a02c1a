package etcd

import (
	"time"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/vip"
)

// DefaultMargin is the safety margin subtracted from each renewal's proof of
// leadership when Options.Margin is zero.
const DefaultMargin = vip.DefaultMargin

// Options tune an Elector. The zero value takes every default.
type Options struct {
	// TTL is the TTL of the election lease: how long after its last
	// renewal a node that stopped renewing keeps the election. It must
	// be a whole number of seconds (etcd counts lease TTLs in seconds)
	// and at least vip.MinTTL; 0 means vip.DefaultTTL.
	TTL time.Duration `json:"ttl,omitempty" yaml:"ttl,omitempty"`
	// RenewInterval is the time between two renewals of a term's lease;
	// 0 means TTL/4. It must be shorter than TTL less Margin, so that a
	// renewal is due before the previous one's proof runs out.
	RenewInterval time.Duration `json:"renewInterval,omitempty" yaml:"renewInterval,omitempty"`
	// Margin is subtracted from each renewal's proof of leadership
	// (Term.ProvenUntil is the renewal's send time plus TTL less Margin),
	// for the time the holder of the shared IP needs to give it up and
	// for clocks that run at slightly different rates; 0 means
	// DefaultMargin. It must be shorter than TTL.
	Margin time.Duration `json:"margin,omitempty" yaml:"margin,omitempty"`
}

// normalize fills defaults and checks o; errors wrap netprim.ErrInvalidSpec
// and name the field.
func (o Options) normalize() (Options, error) {
	const prefix = "etcd elector: "
	var err error
	if o.TTL, err = vip.NormalizeTTL(prefix, o.TTL); err != nil {
		return o, err
	}
	if o.Margin, err = vip.NormalizeMargin(prefix, o.Margin); err != nil {
		return o, err
	}
	if o.Margin >= o.TTL {
		return o, specerr.Invalid(prefix, "margin", "%v is not shorter than ttl %v", o.Margin, o.TTL)
	}
	switch {
	case o.RenewInterval == 0:
		o.RenewInterval = o.TTL / 4
	case o.RenewInterval < 0:
		return o, specerr.Invalid(prefix, "renewInterval", "%v is negative", o.RenewInterval)
	}
	if o.RenewInterval >= o.TTL-o.Margin {
		return o, specerr.Invalid(prefix, "renewInterval", "%v is not shorter than ttl %v less margin %v", o.RenewInterval, o.TTL, o.Margin)
	}
	if hold := vip.HoldLifetime(o.TTL - o.Margin); hold <= o.RenewInterval {
		return o, specerr.Invalid(prefix, "ttl", "%v less margin %v gives the shared IP's address a kernel lifetime of %v (see vip.LifetimeSlack), not longer than renewInterval %v: it would lapse between renewals",
			o.TTL, o.Margin, hold, o.RenewInterval)
	}
	return o, nil
}
