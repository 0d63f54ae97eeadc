package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/config"
	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// Defaults of Config.
const (
	// DefaultSendBurst is the rate limiter's burst when Config.SendBurst is
	// zero: how many packets a client may send back to back before the
	// per-minute rate applies.
	DefaultSendBurst = 10
	// DefaultQueuePerWorker sizes a worker pool's input queue when
	// Config.QueueLen is zero: this many packets per worker.
	DefaultQueuePerWorker = 256
	// DefaultStoreTimeout bounds one spoold call on the delivery path.
	DefaultStoreTimeout = 10 * time.Second
	// DefaultMaxEphemeralClients bounds the ephemeral users tracked for
	// purging; beyond it no new ephemeral user is created. Users adopted
	// at start-up may exceed it (see purge.go).
	DefaultMaxEphemeralClients = 10000
	// DefaultEphemeralIdle is how long an ephemeral user must have been
	// disconnected before it is "gone" (one default epoch).
	DefaultEphemeralIdle = 20 * time.Minute
	// abandonedFactor: an ephemeral user disconnected for this many idle
	// periods is purged even if its spool is not empty, so an abandoned
	// spool cannot hold storage forever.
	abandonedFactor = 4
)

// Outgoing is a packet the Provider sends into the network: a SURB-ACK or a
// Kaetzchen reply. mixd hands it to its scheduler, which sends it to NextHop
// (the SURB's first hop, a mix of Layers[0]) at DispatchAt.
type Outgoing struct {
	// Packet is the Sphinx packet, Geometry.PacketLength bytes; the
	// receiver owns it.
	Packet []byte
	// NextHop is the node to send it to.
	NextHop keys.NodeID
	// DispatchAt is when it is due: the time the request was received plus
	// the terminal hop's delay (docs/spec/client.md §4.5).
	DispatchAt time.Time
}

// Config configures a Provider. FromConfig fills it from the node's
// configuration file; the caller then sets Sphinx, Store, Send and Log.
type Config struct {
	// Sphinx is the network's packet format (the document's geometry).
	Sphinx *sphinx.Sphinx
	// Store is the user database and spool: spoold's client in mixd.
	Store spoolproto.Store
	// Send takes the packets the Provider sends into the network. It must
	// not block for long; false means refused (counted).
	Send func(Outgoing) bool

	// TrustOnFirstUse records the link key of an unknown user on its first
	// connection ([Provider] TrustOnFirstUse).
	TrustOnFirstUse bool
	// EnableEphemeralClients creates unknown users on first contact and
	// purges them when gone ([Provider] EnableEphemeralClients).
	EnableEphemeralClients bool
	// EphemeralIdle is how long an ephemeral user must have had no session
	// to be gone; 0 means DefaultEphemeralIdle.
	EphemeralIdle time.Duration
	// MaxEphemeralClients bounds the ephemeral users; 0 means the default.
	// The users adopted from spoold at start-up count toward it, and are
	// adopted even beyond it (purge.go).
	MaxEphemeralClients int

	// Kaetzchen are the built-in services ([[Provider.Kaetzchen]]).
	Kaetzchen []config.Kaetzchen

	// ProviderWorkers is Debug.NumProviderWorkers (default 1).
	ProviderWorkers int
	// ProviderDelay is Debug.ProviderDelay: a packet that waited longer
	// for a delivery worker is dropped. 0 means no limit.
	ProviderDelay time.Duration
	// KaetzchenWorkers is Debug.NumKaetzchenWorkers (default 3).
	KaetzchenWorkers int
	// KaetzchenDelay is Debug.KaetzchenDelay, as ProviderDelay.
	KaetzchenDelay time.Duration
	// QueueLen bounds each worker pool's input queue; 0 means
	// DefaultQueuePerWorker per worker.
	QueueLen int
	// StoreTimeout bounds each spoold call of the workers; 0 means
	// DefaultStoreTimeout.
	StoreTimeout time.Duration

	// SendRatePerMinute is the client send rate until a document or the
	// operator sets another (SetDocumentRate, SetSendRate); 0 is unlimited.
	SendRatePerMinute uint64
	// SendBurst is the rate limiter's burst; 0 means DefaultSendBurst.
	SendBurst int
	// DisableRateLimit turns the rate limiter off (Debug.DisableRateLimit).
	DisableRateLimit bool

	// Log receives the Provider's log; nil discards it.
	Log *logging.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// FromConfig returns the Provider settings of a node's configuration: the
// [Provider] section and the Debug keys that concern a Provider. The caller
// sets Sphinx, Store, Send, Log and the document's SendRatePerMinute.
func FromConfig(c *config.Config) Config {
	cfg := Config{
		ProviderWorkers:  c.Debug.NumProviderWorkers,
		ProviderDelay:    c.Debug.ProviderDelayDuration(),
		KaetzchenWorkers: c.Debug.NumKaetzchenWorkers,
		KaetzchenDelay:   c.Debug.KaetzchenDelayDuration(),
		DisableRateLimit: c.Debug.DisableRateLimit,
		EphemeralIdle:    c.Privsep.EpochPeriod,
	}
	if c.Provider != nil {
		cfg.TrustOnFirstUse = c.Provider.TrustOnFirstUse
		cfg.EnableEphemeralClients = c.Provider.EnableEphemeralClients
		cfg.Kaetzchen = c.Provider.Kaetzchen
	}
	return cfg
}

// ErrClosed is returned by calls on a closed Provider.
var ErrClosed = errors.New("provider: closed")

// Provider is the Provider side of docs/spec/client.md: client
// authorisation, rate limits, delivery into spools, SURB-ACKs, retrieval
// sessions and the built-in Kaetzchen. Its methods are safe for concurrent
// use.
type Provider struct {
	cfg   Config
	geo   sphinx.Geometry
	log   *logging.Logger
	count counters

	clients *clientTable
	limits  *limitSettings
	kz      *kaetzchen

	// mu guards closed against the sends on the queues: Deliver holds it
	// for reading, Close for writing while it closes the channels.
	mu         sync.RWMutex
	closed     bool
	deliveries chan *delivery
	requests   chan *request

	// work is the workers' context; cancelled when Close gives up waiting.
	work       context.Context
	cancelWork context.CancelFunc
	workers    sync.WaitGroup
	// stopPurge ends the ephemeral purge loop.
	stopPurge chan struct{}
	purgeDone chan struct{}
	// adoption is the purge loop's progress through the ephemeral users
	// spoold recorded (purge.go); only the loop touches it, but done, closed
	// once adoption succeeded, which tests wait on.
	adoption struct {
		after []byte // the last name adopted: the next attempt resumes after it
		count int    // how many adopted so far
		done  chan struct{}
	}
}

// New checks cfg and starts the delivery and Kaetzchen workers.
func New(cfg Config) (*Provider, error) {
	if cfg.Sphinx == nil || cfg.Store == nil || cfg.Send == nil {
		return nil, errors.New("provider: Sphinx, Store and Send are required")
	}
	if cfg.ProviderWorkers <= 0 {
		cfg.ProviderWorkers = 1
	}
	if cfg.KaetzchenWorkers <= 0 {
		cfg.KaetzchenWorkers = 3
	}
	if cfg.ProviderDelay < 0 || cfg.KaetzchenDelay < 0 || cfg.QueueLen < 0 || cfg.SendBurst < 0 ||
		cfg.EphemeralIdle < 0 || cfg.MaxEphemeralClients < 0 || cfg.StoreTimeout < 0 {
		return nil, errors.New("provider: negative delay, queue length, burst or bound")
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.EphemeralIdle == 0 {
		cfg.EphemeralIdle = DefaultEphemeralIdle
	}
	if cfg.MaxEphemeralClients == 0 {
		cfg.MaxEphemeralClients = DefaultMaxEphemeralClients
	}
	if cfg.SendBurst == 0 {
		cfg.SendBurst = DefaultSendBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = logging.Discard()
	}
	p := &Provider{cfg: cfg, geo: cfg.Sphinx.Geometry(), log: log}
	var err error
	if p.kz, err = newKaetzchen(cfg.Kaetzchen, p); err != nil {
		return nil, err
	}
	p.limits = newLimitSettings(cfg.SendRatePerMinute, cfg.SendBurst, cfg.DisableRateLimit)
	p.clients = newClientTable(cfg.MaxEphemeralClients)
	pq, kq := cfg.QueueLen, cfg.QueueLen
	if pq == 0 {
		pq = DefaultQueuePerWorker * cfg.ProviderWorkers
		kq = DefaultQueuePerWorker * cfg.KaetzchenWorkers
	}
	p.deliveries = make(chan *delivery, pq)
	p.requests = make(chan *request, kq)
	p.work, p.cancelWork = context.WithCancel(context.Background())
	for range cfg.ProviderWorkers {
		p.workers.Go(p.deliveryWorker)
	}
	for range cfg.KaetzchenWorkers {
		p.workers.Go(p.kaetzchenWorker)
	}
	p.stopPurge = make(chan struct{})
	p.purgeDone = make(chan struct{})
	p.adoption.done = make(chan struct{})
	go p.purgeLoop()
	return p, nil
}

// Close stops accepting packets and lets the workers finish what is queued.
// When ctx ends first, the spoold calls still running are cancelled and what
// is left is dropped as DropShuttingDown. Close waits for the workers either
// way; it is idempotent.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.deliveries)
	close(p.requests)
	p.mu.Unlock()
	close(p.stopPurge)
	<-p.purgeDone

	done := make(chan struct{})
	go func() { p.workers.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("provider: close: %w", ctx.Err())
		p.cancelWork()
		<-done
	}
	p.cancelWork()
	return err
}

// now is the Provider's clock.
func (p *Provider) now() time.Time { return p.cfg.Now() }
