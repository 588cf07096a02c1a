//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/addr"
	"github.com/netprim/netprim/vip"
)

// run builds the lab, runs the scenario and reports what it saw.
func run(ctx context.Context, out io.Writer, o options) (report, error) {
	var rep report
	if o.nodes < 2 || o.nodes > 20 {
		return rep, fmt.Errorf("-n %d: want 2-20 nodes", o.nodes)
	}
	if o.ttl < vip.MinTTL || o.ttl%time.Second != 0 {
		return rep, fmt.Errorf("-ttl %v: want whole seconds, at least %v", o.ttl, vip.MinTTL)
	}
	l, err := newLab(ctx, o.nodes)
	if err != nil {
		return rep, err
	}
	defer l.close()
	w := &lockedWriter{w: out}
	ip := hostAddr(o.v6, shared)
	w.println(fmt.Sprintf("%d nodes share %s, elected over etcd at %s with a TTL of %v", o.nodes, ip, l.endpoint, o.ttl))

	wt := watchOwners(l, ip, w)
	defer wt.stop()
	nodes := make([]*node, o.nodes)
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.stop(syscall.SIGTERM)
			}
		}
	}()
	for i := range nodes {
		if nodes[i], err = startNode(l, i, o, w); err != nil {
			return rep, err
		}
	}
	owner, err := wt.waitOwner(-1, 30*time.Second)
	if err != nil {
		return rep, err
	}
	p, err := startPing(l.client, ip)
	if err != nil {
		return rep, err
	}
	defer p.stop()

	restart := func(i int) error {
		var err error
		nodes[i], err = startNode(l, i, o, w)
		return err
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		time.Sleep(time.Second)
		what := map[syscall.Signal]string{syscall.SIGTERM: "stopping (SIGTERM)", syscall.SIGKILL: "killing (SIGKILL)"}[sig]
		w.println(fmt.Sprintf("%s %s the owner, %s", time.Now().Format("15:04:05.000"), what, nodes[owner].id))
		start := time.Now()
		nodes[owner].stop(sig)
		next, err := wt.waitOwner(owner, 3*o.ttl+10*time.Second)
		if err != nil {
			return rep, err
		}
		took := time.Since(start)
		w.println(fmt.Sprintf("%s takeover by %s %v after the signal", time.Now().Format("15:04:05.000"), nodes[next].id, took.Round(time.Millisecond)))
		if sig == syscall.SIGTERM {
			rep.graceful = took
		} else {
			rep.crash = took
		}
		if err := restart(owner); err != nil {
			return rep, err
		}
		owner = next
	}
	time.Sleep(time.Second)
	rep.longestPingGap = p.stop()
	rep.overlaps = wt.stop()
	w.println(fmt.Sprintf("graceful takeover %v, takeover after a crash %v, longest ping gap %v, two owners seen %d times",
		rep.graceful.Round(time.Millisecond), rep.crash.Round(time.Millisecond), rep.longestPingGap.Round(time.Millisecond), len(rep.overlaps)))
	return rep, nil
}

// watcher samples every node's addresses every 2 ms (a goroutine per
// node) and keeps who holds the shared IP.
type watcher struct {
	mu       sync.Mutex
	holding  []bool
	since    []time.Time // start of the current holding
	overlaps []string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	w        *lockedWriter
}

func watchOwners(l *lab, ip netip.Addr, w *lockedWriter) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	wt := &watcher{holding: make([]bool, len(l.nodes)), since: make([]time.Time, len(l.nodes)), cancel: cancel, w: w}
	for i, ns := range l.nodes {
		wt.wg.Add(1)
		go func() {
			defer wt.wg.Done()
			for ctx.Err() == nil {
				has, err := holds(ctx, ns, ip)
				if err == nil {
					wt.set(i, has)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return wt
}

func holds(ctx context.Context, ns *netprim.Namespace, ip netip.Addr) (bool, error) {
	as, err := addr.List(ctx, ns)
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if a.Address.Addr() == ip {
			return true, nil
		}
	}
	return false, nil
}

func (wt *watcher) set(i int, has bool) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if has == wt.holding[i] {
		return
	}
	now := time.Now()
	wt.holding[i] = has
	if !has {
		wt.w.println(fmt.Sprintf("%s node%d no longer holds the shared IP (held it %v)", now.Format("15:04:05.000"), i+1, now.Sub(wt.since[i]).Round(time.Millisecond)))
		return
	}
	wt.since[i] = now
	wt.w.println(fmt.Sprintf("%s node%d holds the shared IP", now.Format("15:04:05.000"), i+1))
	for j, h := range wt.holding {
		if j != i && h {
			o := fmt.Sprintf("node%d and node%d at %s", j+1, i+1, now.Format("15:04:05.000"))
			wt.overlaps = append(wt.overlaps, o)
			wt.w.println("TWO OWNERS: " + o)
		}
	}
}

// waitOwner waits until exactly one node other than except holds the
// address.
func (wt *watcher) waitOwner(except int, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		wt.mu.Lock()
		owner, count := -1, 0
		for i, h := range wt.holding {
			if h {
				owner, count = i, count+1
			}
		}
		wt.mu.Unlock()
		if count == 1 && owner != except {
			return owner, nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("no single new owner within %v", within)
}

// stop ends the sampling and returns the overlaps seen.
func (wt *watcher) stop() []string {
	wt.cancel()
	wt.wg.Wait()
	wt.mu.Lock()
	defer wt.mu.Unlock()
	return wt.overlaps
}

// pinger pings the shared IP from the client every 10 ms and measures the
// longest time without a reply.
type pinger struct {
	c       *icmp.PacketConn
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	last    time.Time
	longest time.Duration
	once    sync.Once
}

func startPing(ns *netprim.Namespace, dst netip.Addr) (*pinger, error) {
	network, laddr, proto := "ip4:icmp", "0.0.0.0", 1
	var req, rep icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, laddr, proto = "ip6:ipv6-icmp", "::", 58
		req, rep = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	p := &pinger{done: make(chan struct{}), last: time.Now()}
	if err := ns.Do(func() error {
		var err error
		p.c, err = icmp.ListenPacket(network, laddr)
		return err
	}); err != nil {
		return nil, err
	}
	id := os.Getpid() & 0xffff
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for seq := 1; ; seq++ {
			b, _ := (&icmp.Message{Type: req, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff, Data: []byte("vip")}}).Marshal(nil)
			p.c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()})
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := p.c.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != rep || from.String() != dst.String() {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
				p.reply(time.Now())
			}
		}
	}()
	return p, nil
}

func (p *pinger) reply(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.longest = max(p.longest, at.Sub(p.last))
	p.last = at
}

// stop ends the pings and returns the longest time without a reply,
// counting up to now.
func (p *pinger) stop() time.Duration {
	p.once.Do(func() {
		close(p.done)
		p.c.Close()
		p.wg.Wait()
		p.reply(time.Now())
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.longest
}
