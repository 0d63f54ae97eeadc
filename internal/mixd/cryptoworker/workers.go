// Package cryptoworker is mixd's Sphinx stage: Debug.NumSphinxWorkers
// goroutines that take packets received on links, strip this node's layer,
// check them against the replay filter, decide where they go and hand them to
// the scheduler to be held for the delay their sender chose.
//
//	link reader -> Submit -> bounded queue -> worker: UnwrapDelay check,
//	  sphinxkeys.Ring.Unwrap (key choice, replay), route.Table.Decide,
//	  scheduler.Push(dispatch at receipt + delay)
//	                       or, at a Provider, Config.Deliver (provider.Deliver)
//
// Submit tags each packet with its origin (a node, or one of a Provider's
// clients), which the routing decision depends on (route.Table.Decide).
// A packet that ends at a Provider is delivered only after the replay check,
// so a replayed message is never spooled twice.
//
// Every packet that does not reach the scheduler or the Provider is counted
// in drops by reason and its buffer goes back to the pool. Nothing here logs
// a packet.
package cryptoworker

import (
	"errors"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// Unwrapper strips one layer and checks for replays: *sphinxkeys.Ring.
type Unwrapper interface {
	Unwrap(s *sphinx.Sphinx, now time.Time, pkt []byte, res *sphinx.UnwrapResult) (drops.Reason, bool)
}

// Router decides the next hop: *route.Table.
type Router interface {
	Decide(cmds *sphinx.Commands, from route.Origin) (verdict route.Verdict, next keys.NodeID, delay time.Duration, reason drops.Reason)
}

// Scheduler takes routed packets: *scheduler.Scheduler. Push counts its own
// drops (reported through the scheduler's OnDrop).
type Scheduler interface {
	Push(it scheduler.Item) error
}

// Config configures the workers. Every field but Deliver and Now is required.
type Config struct {
	// Workers is Debug.NumSphinxWorkers.
	Workers int
	// QueueLen bounds the packets waiting for a worker.
	QueueLen int
	// UnwrapDelay is Debug.UnwrapDelay: a packet that waited longer than
	// this for a worker is dropped (drops.UnwrapTooLate).
	UnwrapDelay time.Duration
	Sphinx      *sphinx.Sphinx
	Keys        Unwrapper
	Router      Router
	Scheduler   Scheduler
	Pool        *packet.Pool
	Drops       *drops.Counters
	// Deliver takes a packet that ends at this Provider (provider.Deliver);
	// it must copy what it keeps and not block. nil on a mix, where the
	// router never says route.Deliver.
	Deliver func(res *sphinx.UnwrapResult, received time.Time) bool
	// Now is the time source; nil means time.Now.
	Now func() time.Time
}

type job struct {
	buf      []byte
	received int64 // Unix nanoseconds
	from     route.Origin
}

// Workers is the running worker pool.
type Workers struct {
	cfg Config
	in  chan job
	wg  sync.WaitGroup

	mu     sync.RWMutex // Submit (read) against Close (write)
	closed bool
}

// Start checks cfg and starts the workers.
func Start(cfg Config) (*Workers, error) {
	if cfg.Workers <= 0 || cfg.QueueLen <= 0 || cfg.UnwrapDelay <= 0 || cfg.Sphinx == nil || cfg.Keys == nil ||
		cfg.Router == nil || cfg.Scheduler == nil || cfg.Pool == nil || cfg.Drops == nil {
		return nil, errors.New("cryptoworker: incomplete configuration")
	}
	if cfg.Pool.PacketLength() != cfg.Sphinx.Geometry().PacketLength {
		return nil, errors.New("cryptoworker: buffer pool and geometry disagree on the packet length")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Workers{cfg: cfg, in: make(chan job, cfg.QueueLen)}
	for range cfg.Workers {
		w.wg.Add(1)
		go w.run()
	}
	return w, nil
}

// Submit queues a packet (a buffer from the pool whose first PacketLength
// bytes hold it) received at received from origin from. It never blocks:
// when the queue is full or the workers are closed the packet is dropped,
// counted and its buffer returned to the pool. It reports whether the packet
// was queued.
func (w *Workers) Submit(buf []byte, received time.Time, from route.Origin) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.drop(buf, drops.ShuttingDown)
		return false
	}
	select {
	case w.in <- job{buf: buf, received: received.UnixNano(), from: from}:
		return true
	default:
		w.drop(buf, drops.InboundQueueFull)
		return false
	}
}

func (w *Workers) drop(buf []byte, r drops.Reason) {
	w.cfg.Drops.Drop(r)
	w.cfg.Pool.Put(buf)
}

func (w *Workers) run() {
	defer w.wg.Done()
	var res sphinx.UnwrapResult // reused from packet to packet: no allocation
	for j := range w.in {
		w.process(j, &res)
	}
}

func (w *Workers) process(j job, res *sphinx.UnwrapResult) {
	now := w.cfg.Now()
	if now.UnixNano()-j.received > int64(w.cfg.UnwrapDelay) {
		w.drop(j.buf, drops.UnwrapTooLate)
		return
	}
	plen := w.cfg.Pool.PacketLength()
	if len(j.buf) != w.cfg.Pool.BufferLength() {
		w.drop(j.buf, drops.BadSize)
		return
	}
	if reason, ok := w.cfg.Keys.Unwrap(w.cfg.Sphinx, now, j.buf[:plen], res); !ok {
		w.drop(j.buf, reason)
		return
	}
	verdict, next, delay, reason := w.cfg.Router.Decide(&res.Commands, j.from)
	switch {
	case verdict == route.Deliver && w.cfg.Deliver != nil:
		// Deliver copies what it keeps (or counts its refusal), so the
		// buffer is free again at once.
		w.cfg.Drops.Delivered()
		w.cfg.Deliver(res, time.Unix(0, j.received))
		w.cfg.Pool.Put(j.buf)
		return
	case verdict == route.Deliver:
		w.drop(j.buf, drops.NotForMix)
		return
	case verdict != route.Forward:
		w.drop(j.buf, reason)
		return
	}
	w.cfg.Pool.SetNextHop(j.buf, &next)
	// The delay runs from receipt, so time spent queued for a worker
	// does not add to the delay the sender chose.
	item := scheduler.Item{DispatchAt: j.received + int64(delay), Payload: j.buf}
	_ = w.cfg.Scheduler.Push(item) // refusals are counted through OnDrop
}

// Queued returns how many packets wait for a worker, and the bound.
func (w *Workers) Queued() (n, capacity int) { return len(w.in), cap(w.in) }

// Close stops accepting packets, lets the workers finish what is queued
// (into the scheduler) and waits for them. Idempotent.
func (w *Workers) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.in)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
