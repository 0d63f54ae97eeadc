// Package incoming accepts mixd's links from the previous layer and, on a
// Provider, from its clients.
//
// Each accepted TCP connection runs the link handshake as responder
// (internal/link, Debug.HandshakeTimeout). Config.Authorize decides, once
// the initiator has proved its link key, whether it may connect and as
// what: a Node (mixd backs this with route.Table.Authorize, which admits
// only an initiator whose NodeID, its authentication blob, is in the
// previous layer of a current PKI document with the link key it proved it
// holds) or, on a Provider, a Client (provider.Authorize: the blob is a user
// name, docs/spec/client.md §2.3). Anyone else is refused before any command
// is read.
//
// On a Node link the peer may send SendPacket, NoOp and Disconnect; any
// other command closes the link. Each packet is copied into a pool buffer,
// stamped with its arrival time and handed to Config.Deliver (the crypto
// workers' Submit). A Client link is handed to Config.ServeClient, which runs
// the client protocol until the session ends.
//
// Every Debug.ReauthInterval each link is checked again (Config.Recheck) and
// links no longer allowed are closed: a node removed from the PKI, or a user
// removed from the user database, loses its links within one interval.
//
// Connections and concurrent handshakes are bounded (MaxConns,
// MaxHandshakes): a flood of connections costs at most that many goroutines.
//
// SECURITY: the handshake's static-key operations go through Config.Static
// (keyd); refused nodes are logged at INFO with their address only; client
// links and refused clients only at DEBUG, since a client's address
// identifies a user.
package incoming

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxConns      = 1024
	DefaultMaxHandshakes = 64
)

// Kind is the capacity in which an initiator is admitted.
type Kind uint8

const (
	// Node: a node of the previous layer, sending packets.
	Node Kind = iota
	// Client: a client of this Provider (docs/spec/client.md §2).
	Client
)

func (k Kind) String() string {
	if k == Client {
		return "client"
	}
	return "node"
}

// recheckTimeout bounds one Recheck call in the re-authorisation loop.
const recheckTimeout = 5 * time.Second

// recheckParallel is how many Recheck calls the re-authorisation loop has
// in flight at once. A Provider re-checks every client link against
// spoold each ReauthInterval: one at a time, 10,000 clients are 10,000
// round trips in a row, and a spoold that hangs holds each for
// recheckTimeout (14 hours for a pass). spoold's IPC client multiplexes
// concurrent calls on one socket, so a few in flight divide both.
const recheckParallel = 16

// Config configures a Server.
type Config struct {
	// Static is this node's link key (keyd-backed in mixd).
	Static keys.LinkPrivateKey
	// Limits are the link limits of the network's geometry.
	Limits link.Limits
	// HandshakeTimeout and ReauthInterval are the Debug keys.
	HandshakeTimeout time.Duration
	ReauthInterval   time.Duration
	// Authorize decides whether an initiator that proved it holds peer
	// may connect in the capacity authBlob names, and as what. ctx carries
	// the handshake deadline. On a refusal the Kind says what was tried
	// (it chooses how loudly the refusal is logged).
	Authorize func(ctx context.Context, peer *keys.LinkPublicKey, authBlob []byte) (Kind, error)
	// Recheck decides, every ReauthInterval, whether an established link
	// of kind may stay; false closes it. It runs outside the server's
	// locks with a deadline in ctx, for several links at once. nil means: Authorize again, and keep
	// the link if it admits the same kind.
	Recheck func(ctx context.Context, kind Kind, peer *keys.LinkPublicKey, authBlob []byte) bool
	// ServeClient runs an admitted client's session until it ends and
	// returns why (Provider mode). nil on a mix: a Client verdict of
	// Authorize is then refused.
	ServeClient func(sess *link.Session) error
	// Deliver takes a packet received on a Node link (a pool buffer) and
	// its arrival time; it must not block and owns the buffer afterwards.
	Deliver func(buf []byte, received time.Time)
	Pool    *packet.Pool
	Drops   *drops.Counters
	Log     *logging.Logger
	// MaxConns and MaxHandshakes bound connections and handshakes in
	// progress.
	MaxConns, MaxHandshakes int
}

// Server accepts links on any number of listeners.
type Server struct {
	cfg        Config
	handshakes chan struct{}

	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	conns      map[net.Conn]struct{}
	sessions   map[*link.Session]Kind
	closed     bool
	wg         sync.WaitGroup
	stopReauth chan struct{}

	// refusedFull and refusedBusy count connections closed before their
	// handshake: past MaxConns, and past MaxHandshakes in progress.
	refusedFull, refusedBusy atomic.Uint64
}

// New checks cfg and starts the re-authorisation timer.
func New(cfg Config) (*Server, error) {
	if cfg.Static == nil || cfg.Authorize == nil || cfg.Deliver == nil || cfg.Pool == nil || cfg.Drops == nil ||
		cfg.HandshakeTimeout <= 0 || cfg.ReauthInterval <= 0 {
		return nil, errors.New("incoming: incomplete configuration")
	}
	if cfg.Pool.PacketLength() != cfg.Limits.PacketLength {
		return nil, errors.New("incoming: buffer pool and link limits disagree on the packet length")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = DefaultMaxHandshakes
	}
	s := &Server{
		cfg:        cfg,
		handshakes: make(chan struct{}, cfg.MaxHandshakes),
		listeners:  map[net.Listener]struct{}{},
		conns:      map[net.Conn]struct{}{},
		sessions:   map[*link.Session]Kind{},
		stopReauth: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.reauthLoop()
	return s, nil
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("incoming: server closed")

// Serve accepts connections on ln until ln fails or the server is closed;
// it then closes ln. After Close it returns ErrClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var tempDelay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return ErrClosed // Close or CloseListeners
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay) // back off a failing accept (EMFILE), as net/http does
				continue
			}
			return err
		}
		tempDelay = 0
		if !s.track(conn) {
			s.refusedFull.Add(1)
			conn.Close()
			continue
		}
		s.wg.Add(1)
		go s.handle(conn)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track registers conn, refusing it past MaxConns or after Close.
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= s.cfg.MaxConns {
		return false
	}
	s.conns[conn] = struct{}{}
	return true
}

func (s *Server) untrack(conn net.Conn, sess *link.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, conn)
	if sess != nil {
		delete(s.sessions, sess)
	}
}

// handle runs one connection: handshake, then the read loop.
func (s *Server) handle(conn net.Conn) {
	defer s.wg.Done()
	var sess *link.Session
	defer func() { s.untrack(conn, sess) }()
	select {
	case s.handshakes <- struct{}{}:
	default:
		// DEBUG only: a client's address identifies a user.
		s.cfg.Log.Debug("too many handshakes in progress; connection refused", "remote", conn.RemoteAddr().String())
		s.refusedBusy.Add(1)
		conn.Close()
		return
	}
	var kind Kind
	sess, err := link.Accept(context.Background(), conn, &link.Config{
		Static: s.cfg.Static,
		Authorize: func(ctx context.Context, peer *keys.LinkPublicKey, blob []byte) error {
			var err error
			kind, err = s.cfg.Authorize(ctx, peer, blob)
			if err == nil && kind == Client && s.cfg.ServeClient == nil {
				err = errors.New("incoming: this node has no clients")
			}
			return err
		},
		Limits:           s.cfg.Limits,
		HandshakeTimeout: s.cfg.HandshakeTimeout,
	})
	<-s.handshakes
	log := s.cfg.Log.Info
	if kind == Client {
		log = s.cfg.Log.Debug
	}
	if err != nil {
		log("incoming link refused", "kind", kind.String(), "remote", conn.RemoteAddr().String(), "error", err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sess.Close()
		return
	}
	s.sessions[sess] = kind
	s.mu.Unlock()
	log("incoming link up", "kind", kind.String(), "remote", conn.RemoteAddr().String())
	if kind == Client {
		err = s.cfg.ServeClient(sess)
	} else {
		err = s.read(sess)
	}
	sess.Close()
	log("incoming link closed", "kind", kind.String(), "remote", conn.RemoteAddr().String(), "error", err)
}

// read delivers the peer's packets until the link ends.
func (s *Server) read(sess *link.Session) error {
	for {
		cmd, err := sess.Recv()
		if err != nil {
			return err
		}
		switch c := cmd.(type) {
		case *link.SendPacket:
			now := time.Now()
			s.cfg.Drops.Received()
			buf := s.cfg.Pool.Get()
			copy(buf, c.Packet) // Recv's buffer is reused by the next call
			s.cfg.Deliver(buf, now)
		case *link.NoOp:
		case *link.Disconnect:
			return nil
		default:
			return fmt.Errorf("peer sent %v, which a peer link does not carry", cmd.ID())
		}
	}
}

// reauthLoop re-checks every link's peer each ReauthInterval.
func (s *Server) reauthLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ReauthInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopReauth:
			return
		case <-t.C:
			s.Reauthorize()
		}
	}
}

// Reauthorize checks every established link against Config.Recheck now,
// up to recheckParallel at a time, and closes those refused. It returns
// how many it closed.
func (s *Server) Reauthorize() int {
	type entry struct {
		sess *link.Session
		kind Kind
	}
	s.mu.Lock()
	all := make([]entry, 0, len(s.sessions))
	for sess, kind := range s.sessions {
		all = append(all, entry{sess, kind})
	}
	s.mu.Unlock()
	var (
		closed atomic.Int64
		wg     sync.WaitGroup
		next   = make(chan entry)
	)
	for range min(recheckParallel, len(all)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range next {
				if !s.recheckOne(e.sess, e.kind) {
					closed.Add(1)
				}
			}
		}()
	}
	for _, e := range all {
		next <- e
	}
	close(next)
	wg.Wait()
	return int(closed.Load())
}

// recheckOne re-checks one link and closes it if it is refused; it
// reports whether the link may stay.
func (s *Server) recheckOne(sess *link.Session, kind Kind) bool {
	ctx, cancel := context.WithTimeout(context.Background(), recheckTimeout)
	keep := s.recheck(ctx, kind, sess.PeerStatic(), sess.PeerAuthBlob())
	cancel()
	if keep {
		return true
	}
	log := s.cfg.Log.Info
	if kind == Client {
		log = s.cfg.Log.Debug
	}
	log("peer no longer allowed; link closed", "kind", kind.String(), "remote", sess.RemoteAddr().String())
	sess.Close()
	return false
}

func (s *Server) recheck(ctx context.Context, kind Kind, peer *keys.LinkPublicKey, blob []byte) bool {
	if s.cfg.Recheck != nil {
		return s.cfg.Recheck(ctx, kind, peer, blob)
	}
	k, err := s.cfg.Authorize(ctx, peer, blob)
	return err == nil && k == kind
}

// Sessions returns the number of established links.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Refused returns how many connections were closed before their handshake
// because MaxConns connections were open (full) or MaxHandshakes
// handshakes were in progress (busy).
func (s *Server) Refused() (full, busy uint64) {
	return s.refusedFull.Load(), s.refusedBusy.Load()
}

// Counts returns the number of established links of each kind.
func (s *Server) Counts() (nodes, clients int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.sessions {
		if k == Client {
			clients++
		} else {
			nodes++
		}
	}
	return nodes, clients
}

// CloseListeners stops accepting new connections but keeps established
// links: the first step of a graceful shutdown.
func (s *Server) CloseListeners() {
	s.mu.Lock()
	lns := make([]net.Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

// Close stops accepting, closes every connection and waits for the
// connection goroutines. Idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	close(s.stopReauth)
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	for sess := range s.sessions {
		sess.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
