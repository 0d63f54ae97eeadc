package scheduler

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Scheduler. Queue and Dispatch are required.
type Config struct {
	// Queue holds the packets: a *MemQueue, or a diskqueue.Queue when
	// Debug.SchedulerExternalMemoryQueue is set. Its capacity is
	// Debug.SchedulerQueueSize. The caller keeps ownership: Close does
	// not close it.
	Queue Queue
	// Dispatch receives every packet that is due and not too late, on the
	// scheduler's single goroutine. It must not block for long: it should
	// enqueue on the next hop's bounded send queue and return.
	Dispatch func(Item)
	// OnDrop, if set, is told of every dropped packet, for instance to
	// return its buffer to a pool. It is called from Push's caller or
	// from the run loop, so it must be safe for concurrent use, and must
	// not call the scheduler's Push or Close (Push holds the lock Close
	// takes).
	OnDrop func(Item, DropReason)
	// MaxBurst is the most packets dispatched per wake-up
	// (Debug.SchedulerMaxBurst). Must be positive.
	MaxBurst int
	// Slack is how late a packet may be popped and still be sent
	// (Debug.SchedulerSlack). Must not be negative.
	Slack time.Duration
	// MaxDelay, if positive, refuses packets due more than this far in
	// the future: the delay comes from the packet, so without a bound a
	// sender could park packets here for ever.
	MaxDelay time.Duration
	// Clock is the time source; nil means SystemClock.
	Clock Clock
	// Log, if set, receives warnings about queue read failures.
	Log Logger
}

// Logger is the subset of *logging.Logger the scheduler uses.
type Logger interface {
	Warning(msg string, kv ...any)
}

// errorBackoff is how long the run loop waits before retrying after the
// queue failed to pop, so a broken disk does not make it spin.
const errorBackoff = 100 * time.Millisecond

// Scheduler holds packets until their dispatch time and then hands them to
// Config.Dispatch. See the package documentation.
type Scheduler struct {
	cfg   Config
	clock Clock

	// closeMu orders Push against Close: pushes hold it shared, so once
	// Close holds it exclusively no push is half-way into the queue and
	// Drain sees everything that was accepted.
	closeMu sync.RWMutex
	closed  bool

	// armed is the dispatch time the run loop's timer is set for, or
	// math.MaxInt64 while the loop is looking at the queue or it is
	// empty. A push earlier than armed wakes the loop.
	armed atomic.Int64
	wake  chan struct{} // capacity 1: a pending wake-up, coalesced
	stop  chan struct{}
	done  chan struct{}

	burst   []Item // the run loop's pop buffer, MaxBurst long
	drainMu sync.Mutex

	dispatched  atomic.Uint64
	wakeups     atomic.Uint64
	storageErrs atomic.Uint64
	dropped     [NumDropReasons]atomic.Uint64
}

// New checks cfg and starts the scheduler's goroutine.
func New(cfg Config) (*Scheduler, error) {
	switch {
	case cfg.Queue == nil:
		return nil, errors.New("scheduler: no queue")
	case cfg.Dispatch == nil:
		return nil, errors.New("scheduler: no dispatch function")
	case cfg.MaxBurst <= 0:
		return nil, fmt.Errorf("scheduler: max burst %d: must be positive", cfg.MaxBurst)
	case cfg.Slack < 0:
		return nil, fmt.Errorf("scheduler: slack %v: must not be negative", cfg.Slack)
	case cfg.MaxDelay < 0:
		return nil, fmt.Errorf("scheduler: max delay %v: must not be negative", cfg.MaxDelay)
	}
	s := &Scheduler{
		cfg:   cfg,
		clock: cfg.Clock,
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		burst: make([]Item, cfg.MaxBurst),
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	s.armed.Store(math.MaxInt64)
	go s.run()
	return s, nil
}

// Push queues it for dispatch at it.DispatchAt. It is safe for concurrent
// use and does not wait for the run loop. The scheduler owns it.Payload
// from now on.
//
// Push returns an error only when it refused it outright: ErrClosed after
// Close, ErrTooFar, or a queue storage error; each is also counted as a
// drop. A random drop because the queue is full is normal operation: it is
// counted (DropQueueFull) and Push returns nil, even if the victim is it.
func (s *Scheduler) Push(it Item) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		s.drop(it, DropClosed)
		return ErrClosed
	}
	if s.cfg.MaxDelay > 0 {
		if limit := s.clock.Now().Add(s.cfg.MaxDelay).UnixNano(); it.DispatchAt > limit {
			s.drop(it, DropTooFar)
			return ErrTooFar
		}
	}
	victim, dropped, err := s.cfg.Queue.Push(it)
	if err != nil {
		reason := DropStorage
		if errors.Is(err, ErrClosed) {
			reason = DropClosed
		}
		s.drop(it, reason)
		return err
	}
	if dropped {
		s.drop(victim, DropQueueFull)
	}
	// If random drop took it itself this wake-up is spurious, which costs
	// the loop one look at the queue and nothing else.
	if it.DispatchAt < s.armed.Load() {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return nil
}

// Close stops the run loop and refuses later pushes. It waits for the loop
// to finish the dispatch round in progress. Packets still queued stay in
// the queue: take them with Drain. Calling Close again does nothing.
func (s *Scheduler) Close() error {
	s.closeMu.Lock()
	first := !s.closed
	s.closed = true
	s.closeMu.Unlock()
	if first {
		close(s.stop)
	}
	<-s.done
	return nil
}

// Drain empties the queue after Close, earliest first, handing each packet
// to fn so the caller can flush or count what was queued; with fn nil the
// packets are discarded and counted as DropClosed. It returns how many
// packets it removed.
func (s *Scheduler) Drain(fn func(Item)) (int, error) {
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if !closed {
		return 0, ErrRunning
	}
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	total := 0
	for {
		n, err := s.cfg.Queue.PopDue(math.MaxInt64, s.burst)
		for i := range n {
			it := s.burst[i]
			s.burst[i] = Item{}
			if fn != nil {
				fn(it)
			} else {
				s.drop(it, DropClosed)
			}
		}
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
	}
}

// Stats returns a snapshot of the counters and the queue's state.
func (s *Scheduler) Stats() Stats {
	st := Stats{
		Queued:        s.cfg.Queue.Len(),
		Capacity:      s.cfg.Queue.Cap(),
		Dispatched:    s.dispatched.Load(),
		Wakeups:       s.wakeups.Load(),
		StorageErrors: s.storageErrs.Load(),
	}
	if at, ok := s.cfg.Queue.Earliest(); ok {
		st.Earliest = time.Unix(0, at)
	}
	for i := range st.Dropped {
		st.Dropped[i] = s.dropped[i].Load()
	}
	return st
}

func (s *Scheduler) drop(it Item, reason DropReason) {
	s.dropped[reason].Add(1)
	if s.cfg.OnDrop != nil {
		s.cfg.OnDrop(it, reason)
	}
}
