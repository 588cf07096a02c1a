//go:build linux

// Command vip shares one virtual IP among three throwaway network
// namespaces with package vip, elected over an embedded etcd, and shows
// what happens when its owner stops and when it is killed. It touches
// nothing of the host's own network and needs nothing installed.
//
// A hub namespace holds a bridge that joins the nodes and a client; etcd
// runs in this process, listening on the bridge's address inside the hub.
// Each node is a child process (this program, re-executed) that runs a
// vip.Controller in its namespace. The parent samples every node's
// addresses every 2 ms, pings the shared IP from the client every 10 ms,
// prints each owner change with its takeover time, stops the owner
// gracefully (SIGTERM), restarts it, kills the new owner (SIGKILL),
// restarts it, and removes everything.
//
//	sudo go run ./examples/vip                # IPv4, election TTL 3 s
//	sudo go run ./examples/vip -6 -ttl 3s     # an IPv6 shared IP
//	sudo go run ./examples/vip -check         # exit status 1 on two owners, a late takeover or a long ping loss
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
)

func main() {
	var o options
	flag.IntVar(&o.nodes, "n", 3, "number of nodes (2-20)")
	flag.DurationVar(&o.ttl, "ttl", vip.MinTTL, "election TTL (whole seconds, at least 3s)")
	flag.BoolVar(&o.v6, "6", false, "share an IPv6 address instead of an IPv4 one")
	check := flag.Bool("check", false, "exit non-zero if two owners were seen, a takeover was late or pings were lost longer than the takeover bound")
	node := flag.String("node", "", "internal: run as the node process described by this JSON")
	flag.Parse()
	if *node != "" {
		if err := runNode(*node, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "vip node:", err)
			os.Exit(1)
		}
		return
	}
	rep, err := run(context.Background(), os.Stdout, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vip:", err)
		if errors.Is(err, netprim.ErrPermission) {
			fmt.Fprintln(os.Stderr, "vip: run it as root: sudo go run ./examples/vip")
		}
		os.Exit(1)
	}
	if problems := rep.problems(o.ttl); *check && len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "vip: check:", p)
		}
		os.Exit(1)
	}
}

// options are the command line's settings.
type options struct {
	nodes int
	ttl   time.Duration
	v6    bool
}

// report is what a run observed.
type report struct {
	overlaps       []string
	graceful       time.Duration // signal to the successor holding the address
	crash          time.Duration
	longestPingGap time.Duration
}

// Bounds of -check. A graceful stop hands over at once (the owner resigns);
// after a crash the successor waits for the election TTL, plus etcd's
// lease expiry check (every 0.5 s) and some slack.
func gracefulBound() time.Duration               { return time.Second }
func crashBound(ttl time.Duration) time.Duration { return ttl + 1500*time.Millisecond }

func (r report) problems(ttl time.Duration) []string {
	var out []string
	for _, o := range r.overlaps {
		out = append(out, "two owners at once: "+o)
	}
	if r.graceful > gracefulBound() {
		out = append(out, fmt.Sprintf("graceful takeover took %v (bound %v)", r.graceful, gracefulBound()))
	}
	if r.crash > crashBound(ttl) {
		out = append(out, fmt.Sprintf("takeover after a crash took %v (bound %v)", r.crash, crashBound(ttl)))
	}
	if r.longestPingGap > crashBound(ttl) {
		out = append(out, fmt.Sprintf("pings to the shared IP went unanswered for %v (bound %v)", r.longestPingGap, crashBound(ttl)))
	}
	return out
}
