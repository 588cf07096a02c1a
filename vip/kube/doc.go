// Package kube elects the owner of a shared IP with a Kubernetes Lease
// (coordination.k8s.io/v1): an Elector is a vip.Elector run by client-go's
// leader election (k8s.io/client-go/tools/leaderelection, LeaseLock), and
// the Term it wins is a vip.Term whose ProvenUntil follows the Lease's
// renewals.
//
// # What a term guarantees
//
// The Lease names its holder, its duration (Options.TTL in whole seconds)
// and its renew time. The API server enforces optimistic concurrency (a
// write carries the resourceVersion it read), so of two candidates that
// read the same Lease only one can write it. A candidate takes the Lease
// over only when it names no holder (released) or when the candidate has
// seen it unchanged for the Lease's duration, timed by the candidate's own
// clock from when it read the change. Whatever it read, the holder wrote
// before then, so a holder that notes the time just before sending a
// write knows that no other node can take over before that time plus the
// duration.
//
// One detail moves that instant: client-go recognises a change by the JSON
// of the record it reads back, in which the renew time has whole seconds.
// Renewals within the same second look alike, and a candidate that saw the
// first of them keeps timing from then. ProvenUntil is therefore the send
// time of the first write of the current renewal second (the first write
// whose record reads back differently from the one before) plus the
// Lease's duration, less Options.Margin, which leaves the holder of the
// shared IP time to remove it and covers clocks running at slightly
// different rates. It moves about once a second and reaches between
// TTL − 1 s − RetryPeriod − Margin and TTL − Margin ahead; Options
// refuses settings that would let it lapse between two renewals.
//
// The LeaderElector renews every Options.RetryPeriod and retries for
// Options.RenewDeadline; when ProvenUntil passes without a renewal (the
// API server unreachable, the node cut off) or the LeaderElector gives up,
// the term ends: Done is closed, ProvenUntil is zero, no more renewals are
// sent. Thus the holder gives up the address before another node can win,
// without having to reach the API server to learn it lost.
//
// # Releasing
//
// Resign ends the term first (Done closed, ProvenUntil zero) and then
// stops the LeaderElector, which releases the Lease (clears its holder):
// the next candidate wins at its next attempt, within about 2.2 ×
// RetryPeriod. client-go's release checks only the record it last wrote
// itself, so after losing the Lease it would clear the new holder's
// record; the Elector sends the release only when the Lease it has just
// read still names this node in this term.
//
// # A crashed owner
//
// When the owner dies or is cut off, the other candidates take over once
// they have seen the Lease unchanged for its duration. A candidate reads
// the Lease every 1 to 2.2 RetryPeriods, so it takes over between TTL − 1 s
// and TTL + 4.4 × RetryPeriod after the owner's last renewal: with the
// default TTL of 10 s, 9 to 15.5 s. The shortest TTL accepted is the one
// whose address lifetime (vip.HoldLifetime of TTL less Margin) outlasts
// the 1 s plus RetryPeriod between two moves of the proof: 4 s with the
// default Margin; a shorter RetryPeriod shortens the tail.
//
// # Identities
//
// Each node campaigns under its own identity, the holder it writes into
// the Lease; it must be unique to one running process. A node restarted
// within the Lease's duration finds its own identity in the Lease and
// renews it at once, under the same transition count (part of Term.ID).
//
// The client needs get, create and update on the Lease (RBAC verbs on
// leases.coordination.k8s.io). Importing this package compiles client-go;
// package vip does not.
package kube
