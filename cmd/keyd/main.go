// Command keyd is the key daemon: it holds the node's identity and link
// private keys and its Sphinx key store, and serves mixd over a UNIX socket.
// See internal/keyd for what it does and ipc/keyproto/PROTOCOL.md for what it
// answers.
//
//	keyd -f FILE -g    generate the keys, print the public keys, exit
//	keyd -f FILE       serve
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/keyd"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags, err := daemon.ParseFlags("keyd", args, true)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return daemon.ExitCode(err)
	}
	// Before any key or file is touched.
	if err := daemon.Harden(); err != nil {
		fmt.Fprintf(stderr, "keyd: %v\n", err)
		return 1
	}
	cfg, err := config.Load(flags.ConfigPath)
	if err != nil {
		fmt.Fprintf(stderr, "keyd: %v\n", err)
		return 1
	}
	if flags.Generate || cfg.Debug.GenerateOnly {
		if err := keyd.Generate(cfg, stdout); err != nil {
			fmt.Fprintf(stderr, "keyd: %v\n", err)
			return 1
		}
		return 0
	}
	ctx, hup, stop := daemon.SignalContext(context.Background())
	defer stop()
	k, err := keyd.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "keyd: %v\n", err)
		return 1
	}
	if err := k.Run(ctx, hup); err != nil {
		fmt.Fprintf(stderr, "keyd: %v\n", err)
		return 1
	}
	return 0
}
