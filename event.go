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
