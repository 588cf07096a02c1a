// Package hcloud moves a shared IP between Hetzner Cloud servers through
// the Hetzner Cloud API: it implements vip.Handler for floating IPs.
//
// When this node wins the election of a shared IP, Acquire finds the
// floating IP whose address is the shared IP (an IPv4 floating IP by its
// address, an IPv6 floating IP by the /64 it routes, which must contain the
// shared IP) and assigns it to this server, unless it is assigned here
// already, then waits for Hetzner's action to finish. The server's ID comes
// from Options.ServerID or, when that is zero, from the server metadata
// service (once; the answer is kept). Release does nothing: the floating IP
// stays where it is until the next owner assigns it to itself.
//
// Every API call is fenced with vip.Fence on the election term: it is made
// only while the term provably leads and is cut off when the term's proof
// (ProvenUntil) runs out or the term ends, so a node that lost the election
// never moves the address. A wait for the assignment to finish continues
// under a renewed proof; it stops with an error wrapping vip.ErrNotLeader
// when the term ends or its proof runs out unrenewed.
//
// The API token needs read and write permission on the project's floating
// IPs. Alias IPs in private networks, which Talos Linux also moves, are not
// handled here.
//
// Equinix Metal, the other provider whose API Talos Linux used to move a
// shared IP, was shut down on 2026-06-30; netprim implements nothing for it.
package hcloud
