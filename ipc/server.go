package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// Server defaults. See ipc/PROTOCOL.md §10.
const (
	DefaultMaxInFlight  = 64
	DefaultMaxConns     = 64
	DefaultHelloTimeout = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("ipc: server closed")

// ServerConfig configures a Server. Protocol, Routes and Authorize are
// required; the rest have defaults.
type ServerConfig struct {
	Protocol  Protocol
	Routes    Routes
	Authorize Authorizer
	Log       Logger // nil: discard

	MaxInFlight  int           // requests handled at once per connection; 0: DefaultMaxInFlight
	MaxConns     int           // connections served at once; 0: DefaultMaxConns
	HelloTimeout time.Duration // for the caller's hello; 0: DefaultHelloTimeout
	WriteTimeout time.Duration // for each reply; 0: DefaultWriteTimeout
}

// Server answers one protocol on any number of listeners: it authorises
// each caller by its peer credentials, checks the hello, and dispatches
// requests through its routes. A fault on one connection closes that
// connection only. See ipc/PROTOCOL.md.
type Server struct {
	cfg      ServerConfig
	log      Logger
	maxFrame int
	stats    serverCounters
	connSlot chan struct{} // bounds connections across all listeners

	ctx    context.Context // ends at Close; parent of every connection
	cancel context.CancelFunc
	wg     sync.WaitGroup // Serve calls and their connections

	mu     sync.Mutex
	closed bool
}

// NewServer checks cfg and returns a server that serves nothing until
// Serve is called.
func NewServer(cfg ServerConfig) (*Server, error) {
	if modeErr != nil {
		return nil, modeErr
	}
	if err := cfg.Protocol.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Routes.validate(); err != nil {
		return nil, fmt.Errorf("ipc: %s: %w", cfg.Protocol.Name, err)
	}
	if cfg.Authorize == nil {
		return nil, fmt.Errorf("ipc: %s: no Authorizer: every server must say who may connect", cfg.Protocol.Name)
	}
	if cfg.MaxInFlight < 0 || cfg.MaxConns < 0 || cfg.HelloTimeout < 0 || cfg.WriteTimeout < 0 {
		return nil, fmt.Errorf("ipc: %s: negative limit in server config", cfg.Protocol.Name)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.HelloTimeout == 0 {
		cfg.HelloTimeout = DefaultHelloTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	routes := make(Routes, len(cfg.Routes)) // a private copy: the table cannot change under us
	for t, r := range cfg.Routes {
		routes[t] = Route{From: append([]Role(nil), r.From...), Handle: r.Handle}
	}
	cfg.Routes = routes
	s := &Server{
		cfg:      cfg,
		log:      cfg.Log,
		maxFrame: cfg.Protocol.maxFrame(),
		connSlot: make(chan struct{}, cfg.MaxConns),
	}
	if s.log == nil {
		s.log = nopLogger{}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Serve accepts connections on ln until ctx ends, Close is called or ln
// fails. It closes ln, closes the connections it accepted and waits for
// their handlers before returning. It returns nil after ctx ends,
// ErrServerClosed after Close, and the listener's error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	// serveCtx ends with the caller's ctx, with Close, or when this Serve
	// returns; it closes the listener, which ends Accept.
	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopOnClose := context.AfterFunc(s.ctx, cancel)
	defer stopOnClose()
	stopListener := context.AfterFunc(serveCtx, func() { ln.Close() })
	defer stopListener()

	// WARNING: deferred calls run in reverse: the context is cancelled
	// (connections start closing), the listener is closed (so the socket
	// refuses callers once Serve has returned), then the connections'
	// goroutines are waited for.
	var conns sync.WaitGroup
	defer conns.Wait()
	defer ln.Close()
	defer cancel()

	backoff := 5 * time.Millisecond
	for {
		select {
		case s.connSlot <- struct{}{}:
		case <-serveCtx.Done():
			return s.serveResult(ctx, nil)
		}
		conn, err := ln.Accept()
		if err != nil {
			<-s.connSlot
			if serveCtx.Err() != nil {
				return s.serveResult(ctx, nil)
			}
			if temporaryAcceptError(err) {
				s.log.Warning("accept failed; retrying", "protocol", s.cfg.Protocol.Name, "error", err)
				select {
				case <-time.After(backoff):
				case <-serveCtx.Done():
					return s.serveResult(ctx, nil)
				}
				backoff = min(2*backoff, time.Second)
				continue
			}
			ln.Close()
			return fmt.Errorf("ipc: %s: accept: %w", s.cfg.Protocol.Name, err)
		}
		backoff = 5 * time.Millisecond
		s.stats.accepted.Add(1)
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() { <-s.connSlot }()
			s.serveConn(serveCtx, conn)
		}()
	}
}

// temporaryAcceptError reports accept failures that pass by themselves
// (out of descriptors or memory, an aborted connection): the server backs
// off instead of stopping.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// serveResult picks Serve's result once its context has ended.
func (s *Server) serveResult(ctx context.Context, err error) error {
	if ctx.Err() == nil && s.ctx.Err() != nil {
		return ErrServerClosed
	}
	return err
}

// Close stops every Serve call, closes every connection, and waits until
// no handler runs any more. Handlers see their ctx end. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() ServerStats { return s.stats.snapshot() }
