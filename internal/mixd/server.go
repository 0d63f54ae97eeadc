package mixd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/daemon"
	"github.com/splitmix/splitmix/internal/dirauth"
	"github.com/splitmix/splitmix/internal/epochtime"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/pkiclient"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/mixd/sphinxkeys"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/ipc/keyproto"
)

// Timeouts of mixd's own calls.
const (
	keydDialTimeout = 10 * time.Second
	keydCallTimeout = 10 * time.Second
	// counterInterval is how often changed counters are logged.
	counterInterval = time.Minute
	// maintenanceInterval is how often routing views are pruned.
	maintenanceInterval = time.Second
)

// Mixd is a running mix daemon: New builds it, Run serves until the context
// ends, Close tears it down.
type Mixd struct {
	cfg     *config.Config
	backend *logging.Backend
	log     *logging.Logger
	clock   epochtime.Clock
	drops   drops.Counters

	keyd     *keyproto.Client
	pub      *keys.PublicKeys
	self     keys.NodeID
	linkKey  keys.LinkPrivateKey
	ring     *sphinxkeys.Ring
	lns      []net.Listener
	advert   map[string][]string
	table    *route.Table
	pki      *pkiclient.Client
	docs     chan *pki.Document
	pipeline *pipeline
	// live is pipeline, for the management socket's goroutines.
	live atomic.Pointer[pipeline]

	// store is spoold's client (Provider only).
	store spoolStore
	// signed holds the signed documents by epoch, relayed to clients.
	docsMu sync.Mutex
	signed map[uint64][]byte
	// rateEpoch is 1 + the epoch whose document rate the Provider follows.
	rateEpoch uint64

	mgmt         *management.Server
	mgmtLn       net.Listener
	shutdownReq  chan struct{}
	shutdownOnce sync.Once

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	// recheckFailures counts client re-checks spoold could not answer;
	// recheckLogged is when the last warning about them was logged (unix
	// nanoseconds), so that an outage of spoold with thousands of clients
	// logs one line a minute, not one per client.
	recheckFailures atomic.Uint64
	recheckLogged   atomic.Int64
}

// New sets mixd up in order: logging, keyd connection and public keys,
// Sphinx key ring, listeners (bound, not yet served), PKI client. The
// packet pipeline starts in Run once a document is known. On failure New
// closes what it built.
func New(cfg *config.Config) (m *Mixd, err error) {
	backend, err := logging.New(logging.Options{Disable: cfg.Logging.Disable, File: cfg.Logging.File, Level: cfg.Logging.Level})
	if err != nil {
		return nil, fmt.Errorf("logging: %w", err)
	}
	m = &Mixd{cfg: cfg, backend: backend, log: backend.Logger("mixd"), table: route.NewTable(),
		docs: make(chan *pki.Document, 8), signed: map[uint64][]byte{}, shutdownReq: make(chan struct{})}
	// Past this point, failures must call m.Close.
	defer func() {
		if err != nil {
			m.log.Error("start-up failed", "error", err)
			_ = m.Close()
			m = nil
		}
	}()
	for _, w := range cfg.Warnings() {
		m.log.Warning(w)
	}
	if m.clock, err = epochtime.New(cfg.Privsep.EpochPeriod); err != nil {
		return m, fmt.Errorf("%s: Privsep.EpochPeriod: %w", cfg.File(), err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), keydDialTimeout)
	defer cancel()
	if m.keyd, err = keyproto.Dial(ctx, cfg.Privsep.KeydSocket, m.log.Named("keyd")); err != nil {
		return m, fmt.Errorf("connecting to keyd at %s: %w", cfg.Privsep.KeydSocket, err)
	}
	if m.pub, err = m.keyd.PublicKeys(ctx); err != nil {
		return m, fmt.Errorf("keyd: public keys: %w", err)
	}
	if m.pub.Identifier != cfg.Server.Identifier {
		return m, fmt.Errorf("keyd serves node %q, but Server.Identifier is %q", m.pub.Identifier, cfg.Server.Identifier)
	}
	m.self = m.pub.Identity.NodeID()
	if m.linkKey, err = m.keyd.LinkKey(ctx, keydCallTimeout); err != nil {
		return m, fmt.Errorf("keyd: link key: %w", err)
	}

	m.ring, err = sphinxkeys.Open(sphinxkeys.Config{
		Clock:  m.clock,
		Dir:    filepath.Join(cfg.Server.DataDir, "replay"),
		Source: m.keyd,
		Log:    m.log.Named("sphinxkeys"),
	})
	if err != nil {
		return m, err
	}
	if err := m.ring.Protection(); err != nil {
		m.log.Warning("Sphinx keys are not fully protected in memory", "error", err)
	}
	if _, err = m.ring.Rotate(ctx); err != nil {
		return m, err
	}

	if cfg.Server.IsProvider {
		if err = m.dialSpoold(); err != nil {
			return m, err
		}
	}

	if err = m.listen(); err != nil {
		return m, err
	}
	if err = m.listenManagement(); err != nil {
		return m, err
	}

	m.pki, err = pkiclient.New(pkiclient.Config{
		Authority: &dirauth.Client{
			Address:   cfg.PKI.Nonvoting.Address,
			Authority: cfg.PKI.Nonvoting.PublicKey,
			Static:    m.linkKey,
			AuthBlob:  m.self[:],
		},
		Clock:          m.clock,
		Descriptor:     m.descriptor,
		OnDocument:     m.onDocument,
		NotYet:         func(err error) bool { return errors.Is(err, dirauth.ErrNotYet) },
		RequestTimeout: cfg.Debug.ConnectTimeoutDuration() + cfg.Debug.HandshakeTimeoutDuration(),
		Log:            m.log.Named("pki"),
	})
	if err != nil {
		return m, err
	}
	m.log.Notice("keys loaded", "identifier", m.pub.Identifier, "identity", m.pub.Identity.String(),
		"sphinx_epochs", fmt.Sprint(m.ring.Epochs()))
	return m, nil
}

// listen binds every listen address and computes the advertised ones.
func (m *Mixd) listen() error {
	for _, a := range m.cfg.ListenAddresses() {
		if a.IsQUIC() {
			m.log.Warning("QUIC is not implemented; address not bound", "address", a.URL)
			continue
		}
		ln, err := net.Listen(a.Network, a.HostPort())
		if err != nil {
			return fmt.Errorf("listening on %s: %w", a.URL, err)
		}
		m.lns = append(m.lns, ln)
		m.log.Notice("listening", "address", ln.Addr().String())
	}
	if len(m.lns) == 0 {
		return fmt.Errorf("%s: no TCP address to listen on", m.cfg.File())
	}
	m.advert = map[string][]string{}
	for _, a := range m.cfg.AdvertiseAddresses() {
		if a.IsQUIC() {
			continue
		}
		m.advert[a.Scheme] = append(m.advert[a.Scheme], a.HostPort()) // tcp, tcp4, tcp6 are descriptor transports
	}
	if len(m.advert) == 0 {
		return fmt.Errorf("%s: Server.Addresses: no TCP address to advertise", m.cfg.File())
	}
	if m.cfg.Server.IsProvider {
		addAltAddresses(m.advert, m.cfg.Provider)
	}
	return nil
}

// descriptor builds and has keyd sign the node's descriptor for epoch.
// See docs/spec/pki.md §1.
func (m *Mixd) descriptor(ctx context.Context, epoch uint64) ([]byte, error) {
	epochs := make([]uint64, pki.NumMixKeys)
	for i := range epochs {
		epochs[i] = epoch + uint64(i)
	}
	mixKeys, err := m.ring.PublicKeys(ctx, epochs)
	if err != nil {
		return nil, err
	}
	d := &pki.Descriptor{
		Version:     pki.DescriptorVersion,
		Name:        m.pub.Identifier,
		Epoch:       epoch,
		IdentityKey: m.pub.Identity,
		LinkKey:     &m.pub.Link,
		MixKeys:     mixKeys,
		Addresses:   m.advert,
		Provider:    m.cfg.Server.IsProvider,
		Kaetzchen:   m.services(),
	}
	signed, err := pki.Sign(ctx, m.keyd, d)
	if err != nil {
		return nil, err
	}
	return signed.Marshal()
}

// onDocument runs on the PKI client's goroutine; Run applies documents.
func (m *Mixd) onDocument(doc *pki.Document, signed []byte) {
	m.keepSigned(doc.Epoch, signed)
	select {
	case m.docs <- doc:
	case <-m.bgCtx.Done(): // shutting down
	}
}

// Run serves until ctx ends, then shuts down (see the package
// documentation). hup delivers SIGHUP.
func (m *Mixd) Run(ctx context.Context, hup <-chan struct{}) error {
	defer m.Close()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)

	m.bgCtx, m.bgCancel = context.WithCancel(context.Background())
	m.bg.Add(2)
	go func() { defer m.bg.Done(); m.pki.Run(m.bgCtx) }()
	go func() { defer m.bg.Done(); m.rotateKeys(m.bgCtx) }()
	m.serveManagement()

	counters := time.NewTicker(counterInterval)
	defer counters.Stop()
	maint := time.NewTicker(maintenanceInterval)
	defer maint.Stop()
	reauth := time.NewTicker(m.cfg.Debug.ReauthIntervalDuration())
	defer reauth.Stop()
	var lastLogged drops.Snapshot
	keepFrom := uint64(0)
	for {
		select {
		case <-ctx.Done():
			m.log.Notice("shutting down")
			daemon.NotifyStopping()
			return nil
		case <-m.shutdownReq:
			m.log.Notice("shutting down: SHUTDOWN on the management socket")
			daemon.NotifyStopping()
			return nil
		case <-hup:
			if err := m.backend.Reopen(); err != nil {
				m.log.Error("reopening the log file failed", "error", err)
			} else {
				m.log.Notice("log file reopened")
			}
		case <-usr1:
			m.logCounters()
		case <-counters.C:
			if s := m.drops.Snapshot(); s != lastLogged {
				lastLogged = s
				m.logCounters()
			}
		case doc := <-m.docs:
			if err := m.applyDocument(ctx, doc); err != nil {
				return err
			}
		case <-maint.C:
			if k := m.keepViewsFrom(); k != keepFrom {
				keepFrom = k
				m.table.Prune(k)
				m.pruneSigned(k)
				m.reconcile()
			}
			m.followDocumentRate()
		case <-reauth.C:
			m.reconcile()
		}
	}
}

// keepViewsFrom is the oldest epoch whose routing view still counts: the
// previous one during the grace window at the start of an epoch.
func (m *Mixd) keepViewsFrom() uint64 {
	e, elapsed, _ := m.clock.Current()
	if e > 0 && elapsed < m.ring.Grace() {
		return e - 1
	}
	return e
}

// applyDocument adds a document's routing view, starting the pipeline on
// the first one.
func (m *Mixd) applyDocument(ctx context.Context, doc *pki.Document) error {
	view, err := route.NewView(doc, m.self)
	if err != nil {
		m.log.Warning("the PKI document does not list this node", "epoch", doc.Epoch)
		return nil
	}
	if m.pipeline == nil {
		if m.pipeline, err = m.startPipeline(view.Geometry); err != nil {
			return err
		}
		m.live.Store(m.pipeline)
		daemon.NotifyReady()
		daemon.Watchdog(ctx)
		m.log.Notice("ready: routing packets", "layer", view.Layer, "geometry", view.Geometry.String())
	} else if view.Geometry.Hash() != m.pipeline.geometry.Hash() {
		m.log.Error("the PKI document changes the Sphinx geometry; restart mixd to follow it", "epoch", doc.Epoch)
		return nil
	}
	m.table.Set(view, m.keepViewsFrom())
	m.reconcile()
	m.rateEpoch = 0 // a new document: follow its rate if it is the current one
	m.followDocumentRate()
	return nil
}

// reconcile makes the outgoing links match the routing table.
func (m *Mixd) reconcile() {
	if m.pipeline != nil {
		m.pipeline.links.Reconcile(m.table.NextPeers())
	}
}

// rotateKeys keeps the Sphinx key ring in step with the epochs.
func (m *Mixd) rotateKeys(ctx context.Context) {
	for {
		rctx, cancel := context.WithTimeout(ctx, keydCallTimeout)
		next, err := m.ring.Rotate(rctx)
		cancel()
		wait := time.Until(next) + 10*time.Millisecond
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Warning("Sphinx key rotation failed; will retry", "error", err)
			wait = min(wait, time.Second)
		}
		t := time.NewTimer(max(wait, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// logCounters logs the packet counters at NOTICE.
func (m *Mixd) logCounters() {
	m.log.Notice("packet counters", "counters", m.drops.Snapshot().String())
}

// Counters returns the packet counters (for the management interface).
func (m *Mixd) Counters() drops.Snapshot { return m.drops.Snapshot() }

// Close shuts mixd down in the reverse order of construction.
//
// WARNING: the order is deliberate (see "Signals and shutdown" in the
// package documentation): advertising stops first, then packets stop coming
// in, then each stage is drained into the next before it is closed, and the
// Sphinx keys are wiped only after no worker can use them.
func (m *Mixd) Close() error {
	m.closeOnce.Do(func() {
		var errs []error
		if m.mgmt != nil {
			_ = m.mgmt.Close() // no more commands against what is torn down below
		}
		if m.mgmtLn != nil {
			_ = m.mgmtLn.Close() // if it was never served
		}
		if m.pki != nil {
			m.pki.StopPosting()
		}
		if m.pipeline != nil {
			m.pipeline.close(m.log)
		} else {
			for _, ln := range m.lns {
				_ = ln.Close()
			}
		}
		if m.bgCancel != nil {
			m.bgCancel()
		}
		m.bg.Wait()
		if m.ring != nil {
			if err := m.ring.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if m.store != nil {
			if err := m.store.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if m.keyd != nil {
			if err := m.keyd.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		m.logCounters()
		m.log.Notice("stopped")
		if m.backend != nil {
			if err := m.backend.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}
