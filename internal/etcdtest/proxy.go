package etcdtest

import (
	"net"
	"strings"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a local port to an etcd endpoint. A
// client given Proxy.Endpoint instead of the server's can be cut off with
// Block, the way a network partition cuts a node off: nothing is closed or
// refused, the bytes just stop arriving, in both directions, on the
// connections already open and on new ones.
type Proxy struct {
	l      net.Listener
	target string

	mu      sync.Mutex
	blocked bool
	changed chan struct{} // closed and replaced when blocked changes
	closed  bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// NewProxy listens on 127.0.0.1 on an ephemeral port and forwards every
// connection to endpoint (an etcd client URL such as
// "http://127.0.0.1:2379"). It is closed when the test ends.
func NewProxy(t testing.TB, endpoint string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: proxy: %v", err)
	}
	p := &Proxy{
		l:       l,
		target:  strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://"),
		changed: make(chan struct{}),
		conns:   make(map[net.Conn]struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Endpoint returns the proxy's client URL, "http://127.0.0.1:PORT".
func (p *Proxy) Endpoint() string { return "http://" + p.l.Addr().String() }

// Block stops forwarding. The bytes that arrive meanwhile are held back,
// as a network that drops them makes the sender retransmit them: they are
// delivered after Unblock, unless the connection was closed first.
func (p *Proxy) Block() { p.set(true) }

// Unblock resumes forwarding.
func (p *Proxy) Unblock() { p.set(false) }

func (p *Proxy) set(blocked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked == blocked {
		return
	}
	p.blocked = blocked
	close(p.changed)
	p.changed = make(chan struct{})
}

// Close stops listening, closes every connection and waits for the
// forwarding goroutines. It may be called more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.l.Close()
	for c := range p.conns {
		c.Close()
	}
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track registers c for Close; it reports false (and closes c) when the
// proxy is already closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve(down net.Conn) {
	defer p.wg.Done()
	if !p.track(down) {
		return
	}
	defer p.untrack(down)
	// A connection accepted while blocked is not forwarded yet: the
	// client sees its connection open and nothing coming back.
	if !p.waitOpen() {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, down); done <- struct{}{} }()
	go func() { p.pipe(down, up); done <- struct{}{} }()
	<-done
	// One direction ended: end the other one too.
	up.Close()
	down.Close()
	<-done
}

// waitOpen waits until the proxy is not blocked; false means it was closed.
func (p *Proxy) waitOpen() bool {
	for {
		p.mu.Lock()
		blocked, closed, changed := p.blocked, p.closed, p.changed
		p.mu.Unlock()
		if closed {
			return false
		}
		if !blocked {
			return true
		}
		<-changed
	}
}

// pipe copies from src to dst, holding each chunk back while blocked.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitOpen() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
