// Package nl opens netlink sockets bound to a netprim.Namespace, sends
// batched rtnetlink requests, dumps, and watches notifications. It is
// internal: packages above it expose typed Specs, never netlink messages.
// It exists only on Linux.
package nl
