package mixd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// The management socket (docs/management.md, served by
// internal/management): mixd is its Backend on mixes and Providers.

// listenManagement opens the management socket unless Management.Disable;
// it is served from Run.
func (m *Mixd) listenManagement() error {
	if m.cfg.Management.Disable {
		return nil
	}
	gid, err := management.LookupAdminGID(m.cfg.Privsep.AdminGroup)
	if err != nil {
		return fmt.Errorf("%s: Privsep.AdminGroup: %w", m.cfg.File(), err)
	}
	b := &nodeBackend{shutdown: m.requestShutdown, stats: m.stats}
	if m.cfg.Server.IsProvider && m.store != nil {
		b.store = m.store
		b.control = func() providerControl {
			if p := m.provider(); p != nil {
				return p
			}
			return nil
		}
	}
	m.mgmt, err = management.NewServer(management.ServerConfig{
		Identifier: m.cfg.Server.Identifier,
		Backend:    b,
		Log:        m.log.Named("management"),
		OwnerUID:   uint32(os.Geteuid()),
		AdminGID:   gid,
	})
	if err != nil {
		return err
	}
	if m.mgmtLn, err = management.Listen(m.cfg.Management.Path, gid); err != nil {
		return fmt.Errorf("management socket %s: %w", m.cfg.Management.Path, err)
	}
	m.log.Notice("management socket open", "path", m.cfg.Management.Path)
	return nil
}

// serveManagement serves the management socket until Close.
func (m *Mixd) serveManagement() {
	if m.mgmt == nil || m.mgmtLn == nil {
		return
	}
	srv, ln := m.mgmt, m.mgmtLn
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		if err := srv.Serve(m.bgCtx, ln); err != nil && m.bgCtx.Err() == nil {
			m.log.Error("management socket failed", "error", err)
		}
	}()
}

// requestShutdown is SHUTDOWN: Run then shuts down as on SIGTERM.
func (m *Mixd) requestShutdown() {
	m.shutdownOnce.Do(func() { close(m.shutdownReq) })
}

// providerControl is the part of *provider.Provider the management socket
// drives.
type providerControl interface {
	SetSendRate(ctx context.Context, perMinute uint64) error
	SetSendBurst(ctx context.Context, n uint64) error
	StartKaetzchen(ctx context.Context, capability string) error
	StopKaetzchen(ctx context.Context, capability string) error
}

// nodeBackend is mixd's management.Backend. On a mix store and control
// are nil, and the user, rate and Kaetzchen commands are not available.
type nodeBackend struct {
	// store is spoold (user commands).
	store spoolproto.Store
	// control returns the running Provider, or nil before the first PKI
	// document started it.
	control  func() providerControl
	shutdown func()
	stats    func(ctx context.Context) management.Stats
}

var _ management.Backend = (*nodeBackend)(nil)

// errNotStarted: a Provider command before the Provider runs.
var errNotStarted = errors.New("the Provider is not running yet: it starts with the first PKI document that lists this node")

func (b *nodeBackend) users() (spoolproto.Store, error) {
	if b.store == nil {
		return nil, fmt.Errorf("%w: a mix has no users", management.ErrNotAvailable)
	}
	return b.store, nil
}

func (b *nodeBackend) provider() (providerControl, error) {
	if b.control == nil {
		return nil, fmt.Errorf("%w: only a Provider has clients and Kaetzchen", management.ErrNotAvailable)
	}
	if p := b.control(); p != nil {
		return p, nil
	}
	return nil, errNotStarted
}

// storeError turns spoold's errors into sentences for the operator (the
// management server shows them after 554).
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, spoolproto.ErrUserExists):
		return errors.New("the user already exists")
	case errors.Is(err, spoolproto.ErrUnknownUser):
		return errors.New("no such user")
	case errors.Is(err, spoolproto.ErrIdentitySet):
		return errors.New("the user still has an identity key: remove it first with REMOVE_USER_IDENTITY")
	case errors.Is(err, spoolproto.ErrNoIdentity):
		return errors.New("the user has no identity key")
	case errors.Is(err, spoolproto.ErrInvalidUser):
		return errors.New("spoold refused the user name")
	case errors.Is(err, spoolproto.ErrInvalidKey):
		return errors.New("spoold refused the key")
	}
	return fmt.Errorf("spoold failed: %v", err)
}

func (b *nodeBackend) AddUser(ctx context.Context, user string, key *keys.LinkPublicKey) error {
	st, err := b.users()
	if err != nil {
		return err
	}
	return storeError(st.AddUser(ctx, []byte(user), key))
}

func (b *nodeBackend) UpdateUser(ctx context.Context, user string, key *keys.LinkPublicKey) error {
	st, err := b.users()
	if err != nil {
		return err
	}
	return storeError(st.UpdateUser(ctx, []byte(user), key))
}

func (b *nodeBackend) RemoveUser(ctx context.Context, user string) error {
	st, err := b.users()
	if err != nil {
		return err
	}
	return storeError(st.RemoveUser(ctx, []byte(user)))
}

func (b *nodeBackend) SetUserIdentity(ctx context.Context, user string, key []byte) error {
	st, err := b.users()
	if err != nil {
		return err
	}
	return storeError(st.SetIdentity(ctx, []byte(user), key))
}

func (b *nodeBackend) RemoveUserIdentity(ctx context.Context, user string) error {
	st, err := b.users()
	if err != nil {
		return err
	}
	return storeError(st.RemoveIdentity(ctx, []byte(user)))
}

func (b *nodeBackend) UserIdentity(ctx context.Context, user string) ([]byte, error) {
	st, err := b.users()
	if err != nil {
		return nil, err
	}
	id, err := st.GetIdentity(ctx, []byte(user))
	return id, storeError(err)
}

func (b *nodeBackend) SetSendRate(ctx context.Context, perMinute uint64) error {
	p, err := b.provider()
	if err != nil {
		return err
	}
	return p.SetSendRate(ctx, perMinute)
}

func (b *nodeBackend) SetSendBurst(ctx context.Context, n uint64) error {
	p, err := b.provider()
	if err != nil {
		return err
	}
	return p.SetSendBurst(ctx, n)
}

func (b *nodeBackend) StartKaetzchen(ctx context.Context, capability string) error {
	p, err := b.provider()
	if err != nil {
		return err
	}
	return p.StartKaetzchen(ctx, capability)
}

func (b *nodeBackend) StopKaetzchen(ctx context.Context, capability string) error {
	p, err := b.provider()
	if err != nil {
		return err
	}
	return p.StopKaetzchen(ctx, capability)
}

func (b *nodeBackend) Shutdown() { b.shutdown() }

func (b *nodeBackend) Stats(ctx context.Context) management.Stats { return b.stats(ctx) }
