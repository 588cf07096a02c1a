// This example tests a small TCP service the way a project tests its own
// daemon: the service listens in one throwaway namespace, a client connects
// from another over a veth pair, and nothing of the host is touched.
package nstest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/netprim/netprim/nstest"
)

// serveEcho stands for the daemon under test: it echoes every connection.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// testEchoOverVeth is what goes in a TestXxx function.
func testEchoOverVeth(t *testing.T) {
	server, client := nstest.New(t), nstest.New(t)
	nstest.Veth(t, server, "srv0", client, "cli0")
	server.Run(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "srv0")
	client.Run(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "cli0")

	// A socket belongs to the namespace it was created in: Do creates it
	// there, and the daemon keeps serving from any goroutine.
	var ln net.Listener
	err := server.Do(func() (err error) {
		ln, err = net.Listen("tcp", "192.0.2.1:7007")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serveEcho(ln)

	var conn net.Conn
	err = client.Do(func() (err error) {
		conn, err = net.Dial("tcp", "192.0.2.1:7007")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintln(conn, "hello")
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || got != "hello\n" {
		t.Fatalf("echo: got %q, %v", got, err)
	}
}

func Example() {
	// In the package's _test.go files:
	//
	//	func TestMain(m *testing.M) { nstest.Main(m) } // rootless support
	//
	//	func TestEcho(t *testing.T) { testEchoOverVeth(t) }
	//
	//	func TestEchoOverBond(t *testing.T) {
	//		nstest.RequireModules(t, "bonding") // skips on kernels without it
	//		...
	//	}
	//
	// Then "go test ./..." runs them on the running kernel (as root, or
	// rootless in a user namespace), and "scripts/kerneltest ./..." on the
	// User-Mode Linux kernel, where TestEchoOverBond runs too.
}
