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
	"io"
	"os"

	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/dirauth/authority"
	"github.com/splitmix/splitmix/internal/logging"
)

func main() {
	os.Exit(daemon.Main(program, os.Args[1:], os.Stdout, os.Stderr))
}

var program = daemon.Program[*authority.Config]{
	Name:     "dirauth",
	Load:     authority.Load,
	Generate: generateKeys,
	Serve:    serve,
}

// generateKeys makes the authority's keys in its KeyDir and prints the public ones.
func generateKeys(cfg *authority.Config, stdout io.Writer) error {
	k, err := authority.GenerateKeys(cfg.Authority.KeyDir)
	if err != nil {
		return err
	}
	return k.PrintPublicKeys(stdout)
}

// serve runs the authority. Unlike the node daemons, whose packages open
// their own logs, the authority gets its logger from here, so the log file
// is reopened on SIGHUP here too.
func serve(ctx context.Context, hup <-chan struct{}, cfg *authority.Config) error {
	backend, err := logging.New(logging.Options{Disable: cfg.Logging.Disable, File: cfg.Logging.File, Level: cfg.Logging.Level})
	if err != nil {
		return err
	}
	defer backend.Close()
	// The log reopener below stops before the log is closed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := backend.Logger("dirauth")
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
