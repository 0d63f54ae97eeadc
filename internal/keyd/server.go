package keyd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keyd/keystore"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/keyproto"
)

// Keyd is a running key daemon: New builds it, Run serves until the
// context ends, Close tears it down.
type Keyd struct {
	cfg     *config.Config
	backend *logging.Backend
	log     *logging.Logger
	store   *keystore.Store
	ln      net.Listener
	srv     *ipc.Server

	closeOnce sync.Once
	closeErr  error
}

// storeOptions maps the configuration onto the key store's options.
func storeOptions(cfg *config.Config, log *logging.Logger) (keystore.Options, error) {
	clock, err := epochtime.New(cfg.Privsep.EpochPeriod)
	if err != nil {
		return keystore.Options{}, fmt.Errorf("%s: Privsep.EpochPeriod: %w", cfg.File(), err)
	}
	return keystore.Options{
		Dir:             cfg.Privsep.KeyDir,
		Identifier:      cfg.Server.Identifier,
		IsProvider:      cfg.Server.IsProvider,
		Clock:           clock,
		IdentityKeyText: cfg.Debug.IdentityKey,
		Log:             log.Named("keystore"),
	}, nil
}

// New sets keyd up in order: logging, key store, authoriser, socket, IPC
// server. It does not serve yet. On failure it closes what it built.
func New(cfg *config.Config) (k *Keyd, err error) {
	backend, err := newLogging(cfg)
	if err != nil {
		return nil, err
	}
	k = &Keyd{cfg: cfg, backend: backend, log: backend.Logger("keyd")}
	// Past this point, failures must call k.Close.
	defer func() {
		if err != nil {
			k.log.Error("start-up failed", "error", err)
			_ = k.Close()
			k = nil
		}
	}()
	logWarnings(cfg, k.log)

	opts, err := storeOptions(cfg, k.log)
	if err != nil {
		return k, err
	}
	if k.store, err = keystore.Open(opts); err != nil {
		if errors.Is(err, keystore.ErrNoKeys) {
			return k, fmt.Errorf("no keys in %s: run `keyd -f %s -g` first", opts.Dir, cfg.File())
		}
		return k, err
	}

	mixdUID, err := daemon.LookupUID(cfg.Privsep.MixdUser)
	if err != nil {
		return k, fmt.Errorf("%s: Privsep.MixdUser: %w", cfg.File(), err)
	}
	ownUID, err := daemon.LookupUID("")
	if err != nil {
		return k, err
	}
	mode := socketMode(mixdUID == ownUID)
	if k.ln, err = daemon.ListenUnix(cfg.Privsep.KeydSocket, mode, -1); err != nil {
		return k, fmt.Errorf("keyd socket: %w", err)
	}
	k.srv, err = keyproto.NewServer(k.store, ipc.AllowUIDs(keyproto.RoleMixd, mixdUID), k.log.Named("ipc"))
	if err != nil {
		return k, err
	}
	k.log.Notice("keys loaded", "dir", opts.Dir, "identity", k.publicIdentity(), "mixd_uid", mixdUID)
	return k, nil
}

// socketMode is the socket file's mode: private when mixd runs as keyd's
// own uid, else open to keyd's group, which the operator shares with mixd
// (under systemd, keyd.socket decides instead).
func socketMode(sameUser bool) os.FileMode {
	if sameUser {
		return 0o600
	}
	return 0o660
}

func (k *Keyd) publicIdentity() string {
	pk, err := k.store.PublicKeys(context.Background())
	if err != nil {
		return "?"
	}
	return pk.Identity.String()
}

// Run serves mixd until ctx ends (or the socket fails), then closes keyd.
// hup delivers SIGHUP: reopen the log file.
func (k *Keyd) Run(ctx context.Context, hup <-chan struct{}) error {
	defer k.Close()
	if err := k.store.Protection(); err != nil {
		daemon.NotifyStatus("private keys not in locked memory")
	}
	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- k.srv.Serve(serveCtx, k.ln) }()
	daemon.CloseUnusedActivation()
	k.log.Notice("serving", "socket", k.cfg.Privsep.KeydSocket)
	daemon.NotifyReady()
	daemon.Watchdog(serveCtx)

	sweep := time.NewTimer(k.untilNextEpoch())
	defer sweep.Stop()
	for {
		select {
		case <-hup:
			if err := k.backend.Reopen(); err != nil {
				k.log.Error("reopening the log file failed", "error", err)
			} else {
				k.log.Notice("log file reopened")
			}
		case <-sweep.C:
			if _, err := k.store.Sweep(); err != nil {
				k.log.Warning("erasing expired Sphinx keys failed", "error", err)
			}
			sweep.Reset(k.untilNextEpoch())
		case err := <-served:
			if err != nil && !errors.Is(err, ipc.ErrServerClosed) {
				k.log.Error("serving stopped", "error", err)
				return err
			}
			k.log.Notice("shutting down")
			daemon.NotifyStopping()
			return nil
		case <-ctx.Done():
			k.log.Notice("shutting down")
			daemon.NotifyStopping()
			cancel()
			if err := <-served; err != nil && !errors.Is(err, ipc.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
}

// untilNextEpoch is how long until the next epoch starts, plus a little so
// the sweep runs inside the new epoch, not at its last instant.
func (k *Keyd) untilNextEpoch() time.Duration {
	clock, _ := epochtime.New(k.cfg.Privsep.EpochPeriod)
	_, _, till := clock.Current()
	return till + 10*time.Millisecond
}

// Close stops keyd in the reverse order of New.
//
// WARNING: the order matters. The IPC server goes first (it stops
// accepting, closes the connections and waits for every handler), so that
// no handler can be using a key when the key store wipes and unmaps it;
// the log goes last so every step can still log.
func (k *Keyd) Close() error {
	k.closeOnce.Do(func() {
		var errs []error
		if k.srv != nil {
			if err := k.srv.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if k.ln != nil {
			_ = k.ln.Close() // Serve closed it already, unless it never ran
		}
		if k.store != nil {
			if err := k.store.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		k.log.Notice("stopped")
		if k.backend != nil {
			if err := k.backend.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		k.closeErr = errors.Join(errs...)
	})
	return k.closeErr
}
