package addr

// WatchOption tunes Watch.
type WatchOption func(*watchOptions)

type watchOptions struct {
	bufferSize int
}

// WatchBufferSize sets the kernel receive buffer of the subscription in
// bytes; the default is 8 MiB. A smaller buffer overflows sooner under a
// burst of changes. An overflow is never lost silently: Watch reports it as
// a Resync event, after which the receiver lists again.
func WatchBufferSize(bytes int) WatchOption {
	return func(o *watchOptions) { o.bufferSize = bytes }
}

func watchResolve(opts []WatchOption) watchOptions {
	var o watchOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
