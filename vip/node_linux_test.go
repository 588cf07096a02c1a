package vip_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/internal/etcdtest"
	"github.com/netprim/netprim/vip"
	vipetcd "github.com/netprim/netprim/vip/etcd"
)

// nodeEnv carries a node's configuration to a child process.
const nodeEnv = "NETPRIM_VIP_TEST_NODE"

// nodeConfig is one node of the lab.
type nodeConfig struct {
	NS       string              `json:"ns"` // namespace path
	Endpoint string              `json:"endpoint"`
	Prefix   string              `json:"prefix"`
	Identity string              `json:"identity"`
	TTL      time.Duration       `json:"ttl"`
	VIP      netip.Addr          `json:"vip"`
	Announce vip.AnnounceOptions `json:"announce"`
}

// nodeEvent is an Event as a child prints it.
type nodeEvent struct {
	Kind   vip.EventKind `json:"kind"`
	Time   time.Time     `json:"time"`
	Term   string        `json:"term,omitempty"`
	Reason string        `json:"reason,omitempty"`
	Err    string        `json:"err,omitempty"`
}

// runNode runs one node's controller until ctx ends.
func runNode(ctx context.Context, nc nodeConfig, events func(vip.Event)) error {
	ns, err := netprim.OpenNamespacePath(nc.NS)
	if err != nil {
		return err
	}
	defer ns.Close()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{nc.Endpoint},
		DialTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(etcdtest.DialerIn(ns))},
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return err
	}
	defer cli.Close()
	el, err := vipetcd.New(cli, nc.Prefix, nc.Identity, vipetcd.Options{TTL: nc.TTL})
	if err != nil {
		return err
	}
	c, err := vip.New(ns, vip.Config{Address: nc.VIP, Link: nodeLink, Announce: nc.Announce}, el, vip.WithEvents(events))
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// runChild runs this test binary as a node process when the environment
// asks for one: events go to stdout as JSON lines; SIGTERM stops the node
// gracefully.
func runChild() bool {
	raw := os.Getenv(nodeEnv)
	if raw == "" {
		return false
	}
	var nc nodeConfig
	if err := json.Unmarshal([]byte(raw), &nc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	err := runNode(ctx, nc, func(e vip.Event) {
		ne := nodeEvent{Kind: e.Kind, Time: e.Time, Term: e.Term, Reason: e.Reason}
		if e.Err != nil {
			ne.Err = e.Err.Error()
		}
		mu.Lock()
		enc.Encode(ne)
		mu.Unlock()
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

// node is a node process of the lab.
type node struct {
	t      testing.TB
	index  int
	cmd    *exec.Cmd
	events chan nodeEvent
	exited chan struct{}
	err    error
}

// startNode starts node i of the lab as a child process.
func (l *lab) startNode(i int, nc nodeConfig) *node {
	l.t.Helper()
	nc.NS = l.nodes[i].Path
	nc.Endpoint = l.endpoint()
	nc.Prefix = l.prefix
	if nc.Identity == "" {
		nc.Identity = fmt.Sprintf("node%d", i)
	}
	raw, _ := json.Marshal(nc)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	n := &node{t: l.t, index: i, cmd: cmd, events: make(chan nodeEvent, 1024), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e nodeEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				select {
				case n.events <- e:
				default:
				}
			}
		}
		n.err = cmd.Wait()
		close(n.exited)
	}()
	l.t.Cleanup(n.kill)
	return n
}

// stop sends SIGTERM and waits for the process to exit.
func (n *node) stop() {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.t.Errorf("node %d: no exit 10 s after SIGTERM", n.index)
		n.kill()
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (n *node) kill() {
	n.cmd.Process.Kill()
	<-n.exited
}

// waitEvent waits for an event of kind, failing the test after timeout.
func (n *node) waitEvent(kind vip.EventKind, timeout time.Duration) nodeEvent {
	n.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-n.events:
			if e.Kind == kind {
				return e
			}
		case <-n.exited:
			n.t.Fatalf("node %d exited (%v) while waiting for %s", n.index, n.err, kind)
		case <-deadline:
			n.t.Fatalf("node %d: no %s event within %v", n.index, kind, timeout)
		}
	}
}
