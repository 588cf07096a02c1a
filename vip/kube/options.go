package kube

import (
	"log/slog"
	"time"

	"k8s.io/client-go/tools/leaderelection"

	"github.com/netprim/netprim/internal/specerr"
	"github.com/netprim/netprim/vip"
)

// DefaultMargin is the safety margin subtracted from each renewal's proof of
// leadership when Options.Margin is zero.
const DefaultMargin = vip.DefaultMargin

// Options tune an Elector. The zero value takes every default.
type Options struct {
	// TTL is the Lease's duration (spec.leaseDurationSeconds): how long
	// after it last saw the Lease change another candidate waits before it
	// takes the Lease over. It must be a whole number of seconds (a Lease
	// counts in seconds) and at least vip.MinTTL; 0 means vip.DefaultTTL.
	TTL time.Duration `json:"ttl,omitempty" yaml:"ttl,omitempty"`
	// RenewDeadline is how long the leader keeps retrying a failed renewal
	// before it gives the term up; 0 means two thirds of TTL. It must be
	// shorter than TTL.
	RenewDeadline time.Duration `json:"renewDeadline,omitempty" yaml:"renewDeadline,omitempty"`
	// RetryPeriod is the pause between two renewals of the leader and
	// between two attempts of a candidate (candidates add a random jitter
	// of up to 1.2 times as much); 0 means TTL/8. RenewDeadline must be
	// longer than 1.2 times RetryPeriod.
	RetryPeriod time.Duration `json:"retryPeriod,omitempty" yaml:"retryPeriod,omitempty"`
	// Margin is subtracted from each renewal's proof of leadership
	// (Term.ProvenUntil), for the time the holder of the shared IP needs
	// to give it up and for clocks that run at slightly different rates;
	// 0 means DefaultMargin. TTL less Margin must be longer than one
	// second plus RetryPeriod (see the package documentation: the proof
	// moves at most once per second).
	Margin time.Duration `json:"margin,omitempty" yaml:"margin,omitempty"`
	// Logger receives client-go's leader election messages; nil means
	// none.
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// normalize fills defaults and checks o; errors wrap netprim.ErrInvalidSpec
// and name the field.
func (o Options) normalize() (Options, error) {
	const prefix = "kube elector: "
	var err error
	if o.TTL, err = vip.NormalizeTTL(prefix, o.TTL); err != nil {
		return o, err
	}
	switch {
	case o.RenewDeadline == 0:
		o.RenewDeadline = o.TTL * 2 / 3
	case o.RenewDeadline < 0:
		return o, specerr.Invalid(prefix, "renewDeadline", "%v is negative", o.RenewDeadline)
	case o.RenewDeadline >= o.TTL:
		return o, specerr.Invalid(prefix, "renewDeadline", "%v is not shorter than ttl %v", o.RenewDeadline, o.TTL)
	}
	switch {
	case o.RetryPeriod == 0:
		o.RetryPeriod = o.TTL / 8
	case o.RetryPeriod < 0:
		return o, specerr.Invalid(prefix, "retryPeriod", "%v is negative", o.RetryPeriod)
	}
	if float64(o.RenewDeadline) <= leaderelection.JitterFactor*float64(o.RetryPeriod) {
		return o, specerr.Invalid(prefix, "retryPeriod", "%v is too long: renewDeadline %v must be longer than %v times it",
			o.RetryPeriod, o.RenewDeadline, leaderelection.JitterFactor)
	}
	if o.Margin, err = vip.NormalizeMargin(prefix, o.Margin); err != nil {
		return o, err
	}
	if o.Margin >= o.TTL-time.Second-o.RetryPeriod {
		return o, specerr.Invalid(prefix, "margin", "%v is too long: ttl %v less margin must be longer than 1s plus retryPeriod %v",
			o.Margin, o.TTL, o.RetryPeriod)
	}
	// The proof moves once per renewal second, up to 1s plus retryPeriod
	// apart (see the package documentation).
	if hold := vip.HoldLifetime(o.TTL - o.Margin); hold <= time.Second+o.RetryPeriod {
		return o, specerr.Invalid(prefix, "ttl", "%v less margin %v gives the shared IP's address a kernel lifetime of %v (see vip.LifetimeSlack), not longer than 1s plus retryPeriod %v between two moves of the proof: it would lapse",
			o.TTL, o.Margin, hold, o.RetryPeriod)
	}
	return o, nil
}
