package vip

import (
	"fmt"
	"net/netip"
	"time"
)

// EventKind says what happened to the shared IP on this node.
type EventKind string

// Event kinds.
const (
	// Acquired: this node won and the address is up; the announcements
	// (Announced) and handlers follow at once.
	Acquired EventKind = "acquired"
	// Released: this node gave the address up on purpose (stop, health
	// check, link down) and resigned.
	Released EventKind = "released"
	// Lost: the term ended without this node asking (the backend deposed
	// it, or its lease could not be proven alive); the address is removed.
	Lost EventKind = "lost"
	// Announced: one announcement round went out.
	Announced EventKind = "announced"
	// Failed: something went wrong that the controller retries (the
	// campaign, a write, a handler); Err says what.
	Failed EventKind = "failed"
)

// Event is one change of the shared IP on this node.
type Event struct {
	Kind    EventKind  `json:"kind"`
	Time    time.Time  `json:"time"`
	Address netip.Addr `json:"address"`
	Link    string     `json:"link"`
	// Term is the term's ID for Acquired, Released and Lost.
	Term string `json:"term,omitempty"`
	// Reason explains Released and Lost.
	Reason string `json:"reason,omitempty"`
	// Round counts announcement rounds from 1.
	Round int `json:"round,omitempty"`
	// Err is set for Failed.
	Err error `json:"-"`
}

// String renders the event on one line, e.g. "vip 10.0.0.50: acquired".
func (e Event) String() string {
	s := fmt.Sprintf("vip %s: %s", e.Address, e.Kind)
	switch {
	case e.Kind == Announced:
		s += fmt.Sprintf(" (round %d)", e.Round)
	case e.Err != nil:
		s += ": " + e.Err.Error()
	case e.Reason != "":
		s += " (" + e.Reason + ")"
	}
	return s
}

// Status is what a Controller reports about its shared IP.
type Status struct {
	Address netip.Addr `json:"address"`
	Link    string     `json:"link"`
	// Leading reports that this node owns the address.
	Leading bool `json:"leading"`
	// Term is the current term's ID while leading.
	Term string `json:"term,omitempty"`
	// Since is when this node acquired the address (while leading) or
	// last gave it up.
	Since time.Time `json:"since,omitempty"`
	// ProvenUntil is the term's ProvenUntil while leading.
	ProvenUntil time.Time `json:"provenUntil,omitempty"`
	// Healthy reports that the link is up and the health check passes;
	// Reason says why not.
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"`
}
