// Command spoold is the spool daemon of a Provider: it owns the user
// database and the message spool and serves mixd over a UNIX socket. See
// internal/spoold for what it does and ipc/spoolproto/PROTOCOL.md for what
// it answers.
//
//	spoold -f FILE     serve
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/spoold"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	flags, err := daemon.ParseFlags("spoold", args, false)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return daemon.ExitCode(err)
	}
	// Before any file is touched.
	if err := daemon.Harden(); err != nil {
		fmt.Fprintf(stderr, "spoold: %v\n", err)
		return 1
	}
	cfg, err := config.Load(flags.ConfigPath)
	if err != nil {
		fmt.Fprintf(stderr, "spoold: %v\n", err)
		return 1
	}
	ctx, hup, stop := daemon.SignalContext(context.Background())
	defer stop()
	sd, err := spoold.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "spoold: %v\n", err)
		return 1
	}
	if err := sd.Run(ctx, hup); err != nil {
		fmt.Fprintf(stderr, "spoold: %v\n", err)
		return 1
	}
	return 0
}
