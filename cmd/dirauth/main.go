// Command dirauth is the non-voting directory authority: it accepts the
// allowed nodes' signed descriptors and publishes a signed document per
// epoch. See internal/dirauth/authority for what it does and docs/spec/dirauth.md for
// the protocol.
//
//	dirauth -f FILE -g    generate the authority's keys, print the public key, exit
//	dirauth -f FILE       serve
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/dirauth/authority"
	"github.com/splitmix/splitmix/internal/logging"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags, err := daemon.ParseFlags("dirauth", args, true)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return daemon.ExitCode(err)
	}
	// Before any key or file is touched.
	if err := daemon.Harden(); err != nil {
		fmt.Fprintf(stderr, "dirauth: %v\n", err)
		return 1
	}
	cfg, err := authority.Load(flags.ConfigPath)
	if err != nil {
		fmt.Fprintf(stderr, "dirauth: %v\n", err)
		return 1
	}
	if flags.Generate {
		k, err := authority.GenerateKeys(cfg.Authority.KeyDir)
		if err == nil {
			err = k.PrintPublicKeys(stdout)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dirauth: %v\n", err)
			return 1
		}
		return 0
	}
	if err := serve(cfg); err != nil {
		fmt.Fprintf(stderr, "dirauth: %v\n", err)
		return 1
	}
	return 0
}

func serve(cfg *authority.Config) error {
	backend, err := logging.New(logging.Options{Disable: cfg.Logging.Disable, File: cfg.Logging.File, Level: cfg.Logging.Level})
	if err != nil {
		return err
	}
	defer backend.Close()
	log := backend.Logger("dirauth")
	ctx, hup, stop := daemon.SignalContext(context.Background())
	defer stop()
	a, err := authority.New(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Listen(); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := backend.Reopen(); err != nil {
					log.Error("reopening the log", "error", err)
				}
			}
		}
	}()
	log.Notice("directory authority started", "identity", a.Keys().IdentityPublic.String(), "epoch_period", cfg.Authority.EpochPeriod.String())
	daemon.NotifyReady()
	go daemon.Watchdog(ctx)
	err = a.Run(ctx)
	daemon.NotifyStopping()
	log.Notice("directory authority stopped")
	return err
}
