// Package etcdtest runs an embedded etcd server for tests: one member, a
// temporary data directory, listeners on ephemeral ports, stopped when the
// test ends. Its Proxy cuts a client off from the server the way a network
// partition does, without closing any connection.
package etcdtest

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"

	"github.com/netprim/netprim"
)

// ReadyTimeout bounds how long Start waits for the server to be ready.
const ReadyTimeout = 30 * time.Second

// Server is a running embedded etcd member owned by one test.
type Server struct {
	etcd      *embed.Etcd
	endpoints []string
	log       *testLog
	stopOnce  sync.Once
}

// Option configures Start.
type Option func(*options)

type options struct {
	ns *netprim.Namespace
	ip netip.Addr
}

// InNamespace makes Start create the server's listening sockets inside ns,
// bound to ip (an address ns has), so that processes in other namespaces
// reach the server over whatever links ns has, and a firewall in their
// namespaces can cut them off. Without it the server listens on 127.0.0.1 of
// the test's own namespace.
func InNamespace(ns *netprim.Namespace, ip netip.Addr) Option {
	return func(o *options) { o.ns, o.ip = ns, ip }
}

// Start starts an embedded etcd server and waits until it serves clients;
// the test fails if it is not ready within ReadyTimeout. The server stops
// when the test ends (Stop stops it earlier). Its log goes to the test log,
// errors only.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{ip: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.ip.IsValid() {
		t.Fatal("etcdtest: InNamespace needs a valid IP address")
	}
	hostPort := netip.AddrPortFrom(o.ip, 0).String()
	listen := []url.URL{{Scheme: "http", Host: hostPort}}

	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = t.TempDir()
	cfg.ListenClientUrls = listen
	cfg.AdvertiseClientUrls = listen
	cfg.ListenPeerUrls = listen
	cfg.AdvertisePeerUrls = listen
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// The gateway dials the server's own address from a goroutine that
	// runs in the process's namespace, which cannot reach a server in
	// another one. Tests speak gRPC.
	cfg.EnableGRPCGateway = false
	log := &testLog{t: t}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(zapcore.NewCore(
		zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(log),
		zapcore.ErrorLevel,
	)))

	var e *embed.Etcd
	err := o.ns.Do(func() error {
		var err error
		e, err = embed.StartEtcd(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("etcdtest: start: %v", err)
	}
	s := &Server{etcd: e, log: log}
	t.Cleanup(s.Stop)
	for _, l := range e.Clients {
		s.endpoints = append(s.endpoints, "http://"+l.Addr().String())
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcdtest: server failed before it was ready: %v", err)
	case <-time.After(ReadyTimeout):
		t.Fatalf("etcdtest: server not ready after %v", ReadyTimeout)
	}
	return s
}

// Endpoints returns the client URLs of the server, e.g.
// "http://127.0.0.1:41235".
func (s *Server) Endpoints() []string { return append([]string(nil), s.endpoints...) }

// Client returns a client of the server, dialing from the test's own
// namespace; it is closed when the test ends.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	return NewClient(t, s.endpoints)
}

// ClientIn returns a client of the server whose connections are made inside
// ns (nil: the test's own namespace); it is closed when the test ends.
func (s *Server) ClientIn(t testing.TB, ns *netprim.Namespace) *clientv3.Client {
	t.Helper()
	return NewClient(t, s.endpoints, grpc.WithContextDialer(DialerIn(ns)))
}

// NewClient returns a client of endpoints, closed when the test ends.
func NewClient(t testing.TB, endpoints []string, dialOpts ...grpc.DialOption) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		DialOptions: dialOpts,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: client of %v: %v", endpoints, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DialerIn returns a dialer for grpc.WithContextDialer that opens its TCP
// connections inside ns (nil: the caller's namespace).
func DialerIn(ns *netprim.Namespace) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, "tcp", strings.TrimPrefix(addr, "http://"))
			return err
		})
		return c, err
	}
}

// Stop stops the server and waits until it has closed its listeners and
// connections. It may be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		// Closing makes the server log every listener it stops as an
		// error; only errors before are worth reading.
		s.log.stop()
		s.etcd.Close()
	})
}

// testLog writes the server's log lines to the test log until stop.
type testLog struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("etcd: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}
