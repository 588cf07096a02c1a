// Command netctl inspects and configures the network of a namespace with
// netprim, in the manner of talosctl get and nmstatectl:
//
//	netctl get links|bonds|vlans|bridges|addresses|routes|rules|firewall|wireguard [-o table|wide|json|yaml] [--netns NAME] [--table NAME]
//	netctl plan -f DOC.yaml [--prune] [--owner ID] [--netns NAME] [--root DIR] [--uts PATH]
//	netctl apply -f DOC.yaml [--serve] [--try DURATION] [--prune] [--owner ID] [--netns NAME] [--root DIR] [--uts PATH]
//
// See README.md beside this file for the document format.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  netctl get links|bonds|vlans|bridges|addresses|routes|rules|firewall|wireguard [-o table|wide|json|yaml] [--netns NAME] [--table NAME]
  netctl plan  -f DOC.yaml [--prune] [--owner ID] [--netns NAME] [--root DIR] [--uts PATH]
  netctl apply -f DOC.yaml [--serve] [--try DURATION] [--prune] [--owner ID] [--netns NAME] [--root DIR] [--uts PATH]
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one netctl command and returns the exit status: 0 success,
// 1 a failure, 2 a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "get":
		err = cmdGet(ctx, args[1:], stdout)
	case "plan":
		err = cmdApply(ctx, args[1:], stdin, stdout, true)
	case "apply":
		err = cmdApply(ctx, args[1:], stdin, stdout, false)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "netctl:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return 1
}

type usageError string

func (e usageError) Error() string { return string(e) }

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
