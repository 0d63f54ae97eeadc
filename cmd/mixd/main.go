// Command mixd is the network-facing daemon of a mix node: links, Sphinx
// processing, the scheduler and the PKI client. It holds no long-term
// private key (keyd does). See internal/mixd for what it does.
//
//	mixd -f FILE
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/mixd"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	flags, err := daemon.ParseFlags("mixd", args, false)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return daemon.ExitCode(err)
	}
	// Before any key or file is touched.
	if err := daemon.Harden(); err != nil {
		fmt.Fprintf(stderr, "mixd: %v\n", err)
		return 1
	}
	cfg, err := config.Load(flags.ConfigPath)
	if err != nil {
		fmt.Fprintf(stderr, "mixd: %v\n", err)
		return 1
	}
	ctx, hup, stop := daemon.SignalContext(context.Background())
	defer stop()
	m, err := mixd.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mixd: %v\n", err)
		return 1
	}
	if err := m.Run(ctx, hup); err != nil {
		fmt.Fprintf(stderr, "mixd: %v\n", err)
		return 1
	}
	return 0
}
