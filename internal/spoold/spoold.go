package spoold

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/spoold/boltstore"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// Spoold is a running spool daemon: New builds it, Run serves until the
// context ends, Close tears it down.
type Spoold struct {
	cfg     *config.Config
	backend *logging.Backend
	log     *logging.Logger
	store   *boltstore.Store
	ln      net.Listener
	srv     *ipc.Server

	closeOnce sync.Once
	closeErr  error
}

// StoreOptions maps the configuration onto the bolt store's options, or
// says why spoold cannot serve it.
func StoreOptions(cfg *config.Config) (boltstore.Options, error) {
	if !cfg.Server.IsProvider || cfg.Provider == nil {
		return boltstore.Options{}, fmt.Errorf("%s: Server.IsProvider is false: a mix has no user database or spool; do not run spoold", cfg.File())
	}
	p := cfg.Provider
	if p.UserDB.Backend != "bolt" {
		return boltstore.Options{}, fmt.Errorf("%s: Provider.UserDB.Backend %q is not implemented by this version of spoold: only \"bolt\"", cfg.File(), p.UserDB.Backend)
	}
	if p.SpoolDB.Backend != "bolt" {
		return boltstore.Options{}, fmt.Errorf("%s: Provider.SpoolDB.Backend %q is not implemented by this version of spoold: only \"bolt\"", cfg.File(), p.SpoolDB.Backend)
	}
	return boltstore.Options{UserDB: p.UserDB.Bolt.UserDB, SpoolDB: p.SpoolDB.Bolt.SpoolDB}, nil
}

// New sets spoold up in order: logging, store, authoriser, socket, IPC
// server. It does not serve yet. On failure it closes what it built.
func New(cfg *config.Config) (sd *Spoold, err error) {
	opts, err := StoreOptions(cfg)
	if err != nil {
		return nil, err
	}
	backend, err := logging.New(logging.Options{Disable: cfg.Logging.Disable, File: cfg.Logging.File, Level: cfg.Logging.Level})
	if err != nil {
		return nil, err
	}
	sd = &Spoold{cfg: cfg, backend: backend, log: backend.Logger("spoold")}
	// Past this point, failures must call sd.Close.
	defer func() {
		if err != nil {
			sd.log.Error("start-up failed", "error", err)
			_ = sd.Close()
			sd = nil
		}
	}()
	for _, w := range cfg.Warnings() {
		sd.log.Warning(w)
	}
	for _, path := range []string{opts.UserDB, opts.SpoolDB} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return sd, err
		}
	}
	if sd.store, err = boltstore.Open(opts); err != nil {
		return sd, err
	}
	mixdUID, err := daemon.LookupUID(cfg.Privsep.MixdUser)
	if err != nil {
		return sd, fmt.Errorf("%s: Privsep.MixdUser: %w", cfg.File(), err)
	}
	ownUID, err := daemon.LookupUID("")
	if err != nil {
		return sd, err
	}
	if sd.ln, err = daemon.ListenUnix(cfg.Privsep.SpooldSocket, socketMode(mixdUID == ownUID), -1); err != nil {
		return sd, fmt.Errorf("spoold socket: %w", err)
	}
	sd.srv, err = spoolproto.NewServer(sd.store, ipc.AllowUIDs(spoolproto.RoleMixd, mixdUID), sd.log.Named("ipc"))
	if err != nil {
		return sd, err
	}
	sd.log.Notice("databases open", "users", opts.UserDB, "spool", opts.SpoolDB, "mixd_uid", mixdUID)
	return sd, nil
}

// socketMode is the socket file's mode: private when mixd runs as
// spoold's own uid, else open to spoold's group, which the operator
// shares with mixd (under systemd, spoold.socket decides instead).
func socketMode(sameUser bool) os.FileMode {
	if sameUser {
		return 0o600
	}
	return 0o660
}

// Run serves mixd until ctx ends (or the socket fails), then closes
// spoold. hup delivers SIGHUP: reopen the log file.
func (sd *Spoold) Run(ctx context.Context, hup <-chan struct{}) error {
	defer sd.Close()
	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- sd.srv.Serve(serveCtx, sd.ln) }()
	daemon.CloseUnusedActivation()
	sd.log.Notice("serving", "socket", sd.cfg.Privsep.SpooldSocket)
	daemon.NotifyReady()
	daemon.Watchdog(serveCtx)
	for {
		select {
		case <-hup:
			if err := sd.backend.Reopen(); err != nil {
				sd.log.Error("reopening the log file failed", "error", err)
			} else {
				sd.log.Notice("log file reopened")
			}
		case err := <-served:
			sd.log.Notice("shutting down")
			daemon.NotifyStopping()
			if err != nil && !errors.Is(err, ipc.ErrServerClosed) {
				sd.log.Error("serving stopped", "error", err)
				return err
			}
			return nil
		case <-ctx.Done():
			sd.log.Notice("shutting down")
			daemon.NotifyStopping()
			cancel()
			if err := <-served; err != nil && !errors.Is(err, ipc.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
}

// Close stops spoold in the reverse order of New.
//
// WARNING: the order matters. The IPC server goes first (it stops
// accepting, closes the connections and waits for every handler), so
// that no handler is inside a transaction when the databases close; the
// log goes last so every step can still log.
func (sd *Spoold) Close() error {
	sd.closeOnce.Do(func() {
		var errs []error
		if sd.srv != nil {
			if err := sd.srv.Close(); err != nil && !errors.Is(err, ipc.ErrServerClosed) {
				errs = append(errs, err)
			}
		}
		if sd.ln != nil {
			_ = sd.ln.Close() // Serve closed it already, unless it never ran
		}
		if sd.store != nil {
			c := sd.store.Counters()
			sd.log.Notice("spool totals", "stored", c.Stored, "retried", c.Duplicates, "removed", c.Removed,
				"refused_full", c.RefusedFull, "refused_too_large", c.RefusedTooLarge)
			if err := sd.store.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		sd.log.Notice("stopped")
		if sd.backend != nil {
			if err := sd.backend.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		sd.closeErr = errors.Join(errs...)
	})
	return sd.closeErr
}
