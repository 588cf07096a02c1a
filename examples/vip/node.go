//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/netprim/netprim"
	"github.com/netprim/netprim/vip"
	vipetcd "github.com/netprim/netprim/vip/etcd"
)

// nodeConfig tells a node process what to run.
type nodeConfig struct {
	NS       string        `json:"ns"` // namespace file
	Endpoint string        `json:"endpoint"`
	Identity string        `json:"identity"`
	TTL      time.Duration `json:"ttl"`
	Address  netip.Addr    `json:"address"`
}

// electionPrefix is the etcd key prefix of the election.
const electionPrefix = "/vip-example/election"

// runNode is the node process: a vip.Controller in the node's namespace,
// elected over etcd, its events printed one per line, until SIGTERM.
func runNode(raw string, out io.Writer) error {
	var nc nodeConfig
	if err := json.Unmarshal([]byte(raw), &nc); err != nil {
		return err
	}
	ns, err := netprim.OpenNamespacePath(nc.NS)
	if err != nil {
		return err
	}
	defer ns.Close()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{nc.Endpoint},
		DialTimeout: 5 * time.Second,
		// The node's connections to etcd are made inside its namespace:
		// over its own link, like a real node's.
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			var c net.Conn
			err := ns.Do(func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, "tcp", strings.TrimPrefix(a, "http://"))
				return err
			})
			return c, err
		})},
		Logger: zap.NewNop(),
	})
	if err != nil {
		return err
	}
	defer cli.Close()
	el, err := vipetcd.New(cli, electionPrefix, nc.Identity, vipetcd.Options{TTL: nc.TTL})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	c, err := vip.New(ns, vip.Config{Address: nc.Address, Link: "eth0"}, el, vip.WithEvents(func(e vip.Event) {
		if e.Kind == vip.Announced && e.Round > 1 {
			return
		}
		mu.Lock()
		fmt.Fprintf(out, "%s %s %s\n", e.Time.Format("15:04:05.000"), nc.Identity, e)
		mu.Unlock()
	}))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return c.Run(ctx)
}

// node is a running node process.
type node struct {
	id     string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startNode starts this program as node i's process; its lines are
// copied to out.
func startNode(l *lab, i int, o options, out *lockedWriter) (*node, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	nc := nodeConfig{NS: l.nodes[i].Path(), Endpoint: l.endpoint, Identity: fmt.Sprintf("node%d", i+1), TTL: o.ttl, Address: hostAddr(o.v6, shared)}
	raw, err := json.Marshal(nc)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-node", string(raw))
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &node{id: nc.Identity, cmd: cmd, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			out.println("  " + sc.Text())
		}
		cmd.Wait()
		close(n.exited)
	}()
	return n, nil
}

// stop ends the process with sig and waits for it.
func (n *node) stop(sig syscall.Signal) {
	n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// lockedWriter serializes lines from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) println(s string) {
	w.mu.Lock()
	fmt.Fprintln(w.w, s)
	w.mu.Unlock()
}
