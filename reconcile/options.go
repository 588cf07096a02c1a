package reconcile

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/netprim/netprim"
)

// Defaults of the Reconciler's options.
const (
	// DefaultResync is how often a full pass runs without any trigger.
	DefaultResync = time.Minute
	// DefaultRate and DefaultBurst limit passes: at most DefaultBurst at
	// once, then DefaultRate per second.
	DefaultRate  = 20
	DefaultBurst = 10
	// DefaultRetryMin and DefaultRetryMax bound the exponential backoff
	// (with jitter) of the retries after a failed pass.
	DefaultRetryMin = 200 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
)

type config struct {
	owner     netprim.Owner
	prune     bool
	root      string
	resync    time.Duration
	rate      rate.Limit
	burst     int
	retryMin  time.Duration
	retryMax  time.Duration
	stages    []Stage
	applyOpts []netprim.Option
	watchOpts []netprim.WatchOption
	onPass    func(Pass)
}

func defaults() config {
	return config{
		owner:    netprim.DefaultOwner(),
		prune:    true,
		root:     "/",
		resync:   DefaultResync,
		rate:     DefaultRate,
		burst:    DefaultBurst,
		retryMin: DefaultRetryMin,
		retryMax: DefaultRetryMax,
	}
}

// Option configures a Reconciler.
type Option func(*config)

// WithOwner sets the owner recorded on the objects the Reconciler creates
// and used to select the ones it prunes (default netprim.DefaultOwner()).
func WithOwner(o netprim.Owner) Option { return func(c *config) { c.owner = o } }

// WithoutPrune makes the Reconciler only add and change objects, never
// delete any. By default it prunes: every object of its owner that no
// source wants is deleted.
func WithoutPrune() Option { return func(c *config) { c.prune = false } }

// WithRoot makes the resolver files be written under dir (dir/etc/...)
// instead of "/".
func WithRoot(dir string) Option { return func(c *config) { c.root = dir } }

// WithResync sets how often a full pass runs without any trigger; 0 turns
// the periodic pass off (kernel events and source updates still trigger
// passes).
func WithResync(d time.Duration) Option { return func(c *config) { c.resync = d } }

// WithRateLimit limits passes to perSecond per second with bursts of burst
// (default DefaultRate, DefaultBurst). Triggers arriving meanwhile are
// coalesced into the next pass.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.rate, c.burst = rate.Limit(perSecond), burst }
}

// WithRetry sets the bounds of the exponential backoff, with jitter,
// between retries of a pass that failed.
func WithRetry(minWait, maxWait time.Duration) Option {
	return func(c *config) { c.retryMin, c.retryMax = minWait, maxWait }
}

// WithStage adds a product's own stage (see Stage).
func WithStage(s Stage) Option { return func(c *config) { c.stages = append(c.stages, s) } }

// WithApplyOptions passes options to every package's Plan and Apply, for
// example resolv.WithUTSNamespace or wireguard.WithBackend.
func WithApplyOptions(opts ...netprim.Option) Option {
	return func(c *config) { c.applyOpts = append(c.applyOpts, opts...) }
}

// WithWatchOptions passes options to every Watch the Reconciler starts,
// for example netprim.WatchBufferSize.
func WithWatchOptions(opts ...netprim.WatchOption) Option {
	return func(c *config) { c.watchOpts = append(c.watchOpts, opts...) }
}

// OnPass registers f to be called after every pass that ran at least one
// stage or failed to start, from the goroutine that ran it (the
// background loop, or the caller of Apply or Try), holding no lock of the
// Reconciler. f must not block for long, and must not call Close: Close
// waits for the background loop, which is running f.
func OnPass(f func(Pass)) Option { return func(c *config) { c.onPass = f } }
