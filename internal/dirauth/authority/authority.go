package authority

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
)

// Authority is the running directory authority: keys, database, state
// machine, listeners.
type Authority struct {
	cfg        *Config
	log        *logging.Logger
	keys       *Keys
	store      *Store
	state      *State
	linkConfig link.Config

	lns   listeners
	slots chan struct{} // one per connection being served
	conns sync.WaitGroup

	certMu     sync.Mutex
	cert       []byte
	certExpiry time.Time

	closeOnce sync.Once
	closeErr  error
}

// New loads the keys (see GenerateKeys), opens the database in DataDir and
// restores the state. It does not listen yet.
func New(cfg *Config, log *logging.Logger) (*Authority, error) {
	k, err := LoadKeys(cfg.Authority.KeyDir)
	if err != nil {
		return nil, err
	}
	if w := cfg.DelayWarning(); w != "" {
		log.Warning(w)
	}
	if err := os.MkdirAll(cfg.Authority.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("DataDir: %w", err)
	}
	store, err := OpenStore(cfg.DatabasePath())
	if err != nil {
		return nil, err
	}
	state, err := NewState(PolicyFrom(cfg), k.Identity, store, log.Named("state"))
	if err != nil {
		store.Close()
		return nil, err
	}
	return &Authority{
		cfg:        cfg,
		log:        log,
		keys:       k,
		store:      store,
		state:      state,
		linkConfig: newLinkConfig(k, cfg.Authority.HandshakeTimeout),
		slots:      make(chan struct{}, cfg.Authority.MaxConnections),
	}, nil
}

// State is the authority's state machine.
func (a *Authority) State() *State { return a.state }

// Keys are the authority's keys.
func (a *Authority) Keys() *Keys { return a.keys }

// Listen binds every configured address and returns the bound addresses
// (a configured port 0 becomes the one the kernel chose).
func (a *Authority) Listen() ([]net.Addr, error) {
	var addrs []net.Addr
	for _, addr := range a.cfg.Authority.Addresses {
		ln, err := net.Listen(addr.Network, addr.HostPort())
		if err != nil {
			a.lns.close()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		a.lns.list = append(a.lns.list, ln)
		addrs = append(addrs, ln.Addr())
	}
	return addrs, nil
}

// tickInterval is how often the state machine is driven: often enough for
// the publication points of short test epochs, at most once a second.
func (a *Authority) tickInterval() time.Duration {
	return min(max(a.cfg.Authority.EpochPeriod/40, 50*time.Millisecond), time.Second)
}

// Run serves until ctx is done, then stops accepting, closes every session
// and returns. Shutdown order: listeners, then sessions (closed by their
// context), then the wait for their goroutines; the database stays open
// until Close.
func (a *Authority) Run(ctx context.Context) error {
	if len(a.lns.list) == 0 {
		return errors.New("dirauth: Run before Listen")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.state.Tick(time.Now())
	var loops sync.WaitGroup
	for _, ln := range a.lns.list {
		loops.Add(1)
		go func() {
			defer loops.Done()
			a.serve(ctx, ln)
		}()
		a.log.Notice("listening", "address", ln.Addr().String())
	}
	t := time.NewTicker(a.tickInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.lns.close()
			loops.Wait()
			a.conns.Wait()
			return nil
		case now := <-t.C:
			a.state.Tick(now)
		}
	}
}

// Close releases the listeners and the database. It is idempotent; call it
// after Run has returned.
func (a *Authority) Close() error {
	a.closeOnce.Do(func() {
		a.lns.close()
		a.closeErr = a.store.Close()
	})
	return a.closeErr
}
