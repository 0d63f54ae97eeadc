// Package outgoing keeps mixd's links to the next layer and their send
// queues.
//
// For every peer the routing table names (route.Table.NextPeers) a goroutine
// dials one of its advertised TCP addresses (Debug.ConnectTimeout), runs the
// link handshake as initiator (internal/link, Debug.HandshakeTimeout) expecting
// the link key of the peer's signed descriptor and presenting this node's
// NodeID, and then writes the packets the scheduler dispatches to that peer.
// A link that fails is redialled with exponential backoff and jitter.
// Reconcile, called whenever the documents change and every
// Debug.ReauthInterval, starts links to new peers, restarts those whose key or
// addresses changed and stops those no longer in the next layer.
//
// Each peer has a bounded send queue. Send never blocks; a packet is dropped
// and counted when the link is down (drops.LinkDown), when the queue is full
// (drops.SendQueueFull), or when it waited in the queue longer than
// Debug.SendSlack (drops.SendTooLate).
//
// SECURITY: the handshake's static-key operations go through Config.Static,
// keyd's key in mixd: this package never sees the link private key. Link
// events are logged with the peer's name at INFO; nothing about packets is
// logged.
package outgoing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/pki"
)

// Defaults for Config fields left zero.
const (
	DefaultQueueLen   = 1024
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	// minWriteTimeout bounds one write to a peer at the least; a write
	// that takes longer means the peer stopped reading, and the link is
	// dropped and redialled.
	minWriteTimeout = 2 * time.Second
)

// Config configures Links.
type Config struct {
	// Static is this node's link key (keyd-backed in mixd).
	Static keys.LinkPrivateKey
	// Self is this node's id, sent as the authentication blob.
	Self keys.NodeID
	// Limits are the link limits of the network's geometry.
	Limits link.Limits
	// ConnectTimeout, HandshakeTimeout and SendSlack are the Debug keys.
	ConnectTimeout   time.Duration
	HandshakeTimeout time.Duration
	SendSlack        time.Duration
	// QueueLen bounds each peer's send queue (DefaultQueueLen if 0).
	QueueLen int
	// MinBackoff and MaxBackoff bound the redial delay.
	MinBackoff, MaxBackoff time.Duration
	Pool                   *packet.Pool
	Drops                  *drops.Counters
	Log                    *logging.Logger
	// Dial opens a connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

type entry struct {
	buf []byte
	at  int64 // when it was queued, Unix nanoseconds
}

// peerLink is the link to one peer: its goroutine, queue and state.
type peerLink struct {
	peer   route.Peer
	queue  chan entry
	up     atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
}

// Links is the set of outgoing links. Safe for concurrent use.
type Links struct {
	cfg Config

	mu     sync.RWMutex
	peers  map[keys.NodeID]*peerLink
	closed bool
}

// New checks cfg and returns an empty set of links.
func New(cfg Config) (*Links, error) {
	if cfg.Static == nil || cfg.Pool == nil || cfg.Drops == nil || cfg.SendSlack <= 0 ||
		cfg.ConnectTimeout <= 0 || cfg.HandshakeTimeout <= 0 {
		return nil, errors.New("outgoing: incomplete configuration")
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	return &Links{cfg: cfg, peers: map[keys.NodeID]*peerLink{}}, nil
}

// Reconcile makes the set of links match peers. Links that go are waited
// for outside the lock, so Send is never held up by a closing link.
func (l *Links) Reconcile(peers map[keys.NodeID]route.Peer) {
	var stopped []*peerLink
	defer func() {
		for _, p := range stopped {
			l.stop(p)
		}
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	for id, p := range l.peers {
		want, ok := peers[id]
		if ok && want.Equal(&p.peer) {
			continue
		}
		p.cancel()
		stopped = append(stopped, p)
		delete(l.peers, id)
		if ok {
			l.cfg.Log.Info("peer changed its link key or addresses; reconnecting", "peer", p.peer.Name)
		} else {
			l.cfg.Log.Info("peer left the next layer; link closed", "peer", p.peer.Name)
		}
	}
	for id, want := range peers {
		if _, ok := l.peers[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		p := &peerLink{peer: want, queue: make(chan entry, l.cfg.QueueLen), cancel: cancel, done: make(chan struct{})}
		l.peers[id] = p
		go l.run(ctx, p)
	}
}

// stop ends one link and waits for its goroutine, which counts what was
// still queued.
func (l *Links) stop(p *peerLink) {
	p.cancel()
	<-p.done
}

// Send queues buf (a pool buffer: packet ‖ next hop id) for its next hop.
// It never blocks; what cannot be queued is dropped, counted and returned
// to the pool.
func (l *Links) Send(buf []byte) {
	pkt, next, ok := l.cfg.Pool.Split(buf)
	if !ok || len(pkt) != l.cfg.Limits.PacketLength {
		l.drop(buf, drops.BadSize)
		return
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.peers[next]
	if !ok || !p.up.Load() {
		l.drop(buf, drops.LinkDown)
		return
	}
	select {
	case p.queue <- entry{buf: buf, at: time.Now().UnixNano()}:
	default:
		l.drop(buf, drops.SendQueueFull)
	}
}

func (l *Links) drop(buf []byte, r drops.Reason) {
	l.cfg.Drops.Drop(r)
	l.cfg.Pool.Put(buf)
}

// State is one link as STATS shows it.
type State struct {
	// Name is the peer's descriptor name.
	Name string
	// Up reports whether the link is established.
	Up bool
	// Queued and Capacity are the send queue's depth and bound.
	Queued, Capacity int
}

// States returns every link's state, sorted by peer name.
func (l *Links) States() []State {
	l.mu.RLock()
	out := make([]State, 0, len(l.peers))
	for _, p := range l.peers {
		out = append(out, State{Name: p.peer.Name, Up: p.up.Load(), Queued: len(p.queue), Capacity: cap(p.queue)})
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b State) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Up reports whether the link to id is established.
func (l *Links) Up(id keys.NodeID) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.peers[id]
	return ok && p.up.Load()
}

// Peers returns how many links exist and how many are up.
func (l *Links) Peers() (total, up int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, p := range l.peers {
		total++
		if p.up.Load() {
			up++
		}
	}
	return total, up
}

// Close stops every link; packets still queued are counted as
// drops.ShuttingDown. Idempotent.
func (l *Links) Close() {
	l.mu.Lock()
	l.closed = true
	peers := l.peers
	l.peers = map[keys.NodeID]*peerLink{}
	l.mu.Unlock()
	for _, p := range peers {
		p.cancel()
	}
	for _, p := range peers {
		<-p.done
	}
}

// run keeps the link to one peer up until ctx ends.
func (l *Links) run(ctx context.Context, p *peerLink) {
	defer close(p.done)
	defer l.flush(p, drops.ShuttingDown)
	backoff := l.cfg.MinBackoff
	for ctx.Err() == nil {
		s, err := l.connect(ctx, &p.peer)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.cfg.Log.Info("link to peer failed; will retry", "peer", p.peer.Name, "in", backoff, "error", err)
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, l.cfg.MaxBackoff)
			continue
		}
		backoff = l.cfg.MinBackoff
		l.cfg.Log.Info("link to peer up", "peer", p.peer.Name)
		p.up.Store(true)
		err = l.serve(ctx, p, s)
		p.up.Store(false)
		l.flush(p, drops.LinkDown)
		if ctx.Err() == nil {
			l.cfg.Log.Info("link to peer lost", "peer", p.peer.Name, "error", err)
		}
	}
}

// flush empties the queue, counting every packet under r.
func (l *Links) flush(p *peerLink, r drops.Reason) {
	for {
		select {
		case e := <-p.queue:
			l.drop(e.buf, r)
		default:
			return
		}
	}
}

// dialNetworks are the descriptor transports this package dials, in order
// of preference (QUIC is not implemented).
var dialNetworks = []string{pki.TransportTCP, pki.TransportTCP4, pki.TransportTCP6}

// connect dials the peer's addresses in turn and runs the handshake.
func (l *Links) connect(ctx context.Context, peer *route.Peer) (*link.Session, error) {
	var errs []error
	for _, network := range dialNetworks {
		for _, addr := range peer.Addresses[network] {
			dctx, cancel := context.WithTimeout(ctx, l.cfg.ConnectTimeout)
			conn, err := l.cfg.Dial(dctx, network, addr)
			cancel()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s, err := link.Initiate(ctx, conn, &link.Config{
				Static:           l.cfg.Static,
				AuthBlob:         l.cfg.Self[:],
				PeerStatic:       peer.LinkKey,
				Limits:           l.cfg.Limits,
				HandshakeTimeout: l.cfg.HandshakeTimeout,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", addr, err))
				continue
			}
			return s, nil
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("outgoing: peer advertises no TCP address")
	}
	return nil, errors.Join(errs...)
}

// maxBatch is the most packets serve writes with one system call: what
// queued up while it was writing the previous batch, so that under load a
// link costs one write (and one wake-up of the peer) per batch rather than
// per packet. Batching never waits for packets to accumulate.
const maxBatch = 16

// serve writes queued packets to s until the link fails or ctx ends.
func (l *Links) serve(ctx context.Context, p *peerLink, s *link.Session) error {
	defer s.Close()
	readerDone := make(chan error, 1)
	go func() { readerDone <- drain(s) }()
	writeTimeout := max(minWriteTimeout, 10*l.cfg.SendSlack)
	var b batch
	b.init(l.cfg.Limits.PacketLength)
	for {
		select {
		case <-ctx.Done():
			_ = s.SetWriteDeadline(time.Now().Add(time.Second))
			_ = s.Send(&link.Disconnect{})
			return ctx.Err()
		case err := <-readerDone:
			return err
		case e := <-p.queue:
			now := time.Now()
			b.reset()
			l.add(&b, e, now)
		more:
			for b.n < maxBatch {
				select {
				case e := <-p.queue:
					l.add(&b, e, now)
				default:
					break more
				}
			}
			if b.n == 0 {
				continue
			}
			_ = s.SetWriteDeadline(now.Add(writeTimeout))
			if err := s.SendBatch(b.cmds[:b.n]); err != nil {
				for _, buf := range b.bufs[:b.n] {
					l.drop(buf, drops.LinkDown)
				}
				b.reset()
				return err
			}
			for _, buf := range b.bufs[:b.n] {
				l.cfg.Drops.Forwarded()
				l.cfg.Pool.Put(buf)
			}
			b.reset()
		}
	}
}

// batch is the packets of one write; its arrays are reused, so a batch
// allocates nothing.
type batch struct {
	n    int
	pkts [maxBatch]link.SendPacket
	cmds [maxBatch]link.Command // cmds[i] is &pkts[i]
	bufs [maxBatch][]byte       // the pool buffers the packets are in
	plen int
}

func (b *batch) init(packetLength int) {
	b.plen = packetLength
	for i := range b.pkts {
		b.cmds[i] = &b.pkts[i]
	}
}

// reset forgets the batch's packets (not their buffers: they have been
// returned to the pool or dropped).
func (b *batch) reset() {
	for i := range b.n {
		b.pkts[i].Packet, b.bufs[i] = nil, nil
	}
	b.n = 0
}

// add puts e in the batch, unless it waited in the queue longer than
// SendSlack: then it is dropped (drops.SendTooLate).
func (l *Links) add(b *batch, e entry, now time.Time) {
	if now.UnixNano()-e.at > int64(l.cfg.SendSlack) {
		l.drop(e.buf, drops.SendTooLate)
		return
	}
	b.pkts[b.n].Packet = e.buf[:b.plen]
	b.bufs[b.n] = e.buf
	b.n++
}

// drain reads what the peer sends on our outgoing link: nothing but NoOp is
// expected; Disconnect or anything else ends the link.
func drain(s *link.Session) error {
	for {
		cmd, err := s.Recv()
		if err != nil {
			return err
		}
		switch cmd.(type) {
		case *link.NoOp:
		case *link.Disconnect:
			return errors.New("peer disconnected")
		default:
			return fmt.Errorf("peer sent %v on an outgoing link", cmd.ID())
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jitter spreads redials over [d/2, d) so that peers that lost a node at the
// same moment do not all redial at once.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
