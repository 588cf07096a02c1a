package netprim

// Event is one change observed by a package's Watch.
//
// When the kernel drops notifications (the socket receive buffer overflowed,
// ENOBUFS) or the subscription had to be reopened, Watch sends an Event with
// Resync set: the receiver must List again, because drift may have been
// missed. Watch never loses drift silently.
type Event struct {
	// Kind is the object type: "link", "address", "route", "rule".
	Kind string `json:"kind"`
	// Action is Add for a new or changed object, Delete for a removed one.
	// It is zero for a Resync event.
	Action Action `json:"action,omitempty"`
	// Object identifies the object as in a Plan, e.g. "veth0" or
	// "192.0.2.10/24 dev veth0".
	Object string `json:"object,omitempty"`
	// Resync reports that notifications were lost and state must be
	// re-read. Object is empty then.
	Resync bool `json:"resync,omitempty"`
}

// String renders the event on one line.
func (e Event) String() string {
	if e.Resync {
		return "resync " + e.Kind
	}
	return e.Action.String() + " " + e.Kind + " " + e.Object
}

// WatchOptions are the settings of every package's Watch.
type WatchOptions struct {
	// BufferSize is the kernel receive buffer of the subscription in
	// bytes; 0 means the default (8 MiB).
	BufferSize int
}

// WatchOption changes WatchOptions.
type WatchOption func(*WatchOptions)

// WatchBufferSize sets the kernel receive buffer of the subscription in
// bytes. A smaller buffer overflows sooner under a burst of changes. An
// overflow is never lost silently: Watch reports it as a Resync event, after
// which the receiver lists again.
func WatchBufferSize(bytes int) WatchOption {
	return func(o *WatchOptions) { o.BufferSize = bytes }
}

// ResolveWatch applies opts over the defaults.
func ResolveWatch(opts ...WatchOption) WatchOptions {
	var o WatchOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}
