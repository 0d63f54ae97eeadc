package scheduler

import "errors"

// Item is one packet held by the scheduler.
//
// Items are values, serialisable as they are (the disk queue stores them),
// and the memory queue keeps them without copying: Payload is the caller's
// buffer, and the caller must not modify it after Push.
type Item struct {
	// DispatchAt is when the packet is due to leave, in Unix nanoseconds:
	// the time it was unwrapped plus the delay its Sphinx routing command
	// asked for.
	DispatchAt int64
	// Payload is the packet.
	Payload []byte
	// Meta is opaque to the scheduler and travels with the packet; mixd
	// uses it for the next hop's index in its link table.
	Meta uint64
}

// Queue is the priority queue behind a Scheduler, ordered by DispatchAt
// (ties leave in push order) and bounded by Cap.
//
// Implementations are safe for concurrent use. There are two: the memory
// queue in this package (NewMemQueue) and the bbolt-backed disk queue in
// package diskqueue (Debug.SchedulerExternalMemoryQueue). Package schedtest
// holds the conformance suite both pass.
type Queue interface {
	// Push adds it. If the queue already holds Cap items, one item chosen
	// uniformly at random among the queued ones and it is dropped instead
	// (it may be it itself) and returned with dropped = true, so Len never
	// exceeds Cap. See Debug.SchedulerQueueSize in docs/spec/mix-server.md.
	Push(it Item) (victim Item, dropped bool, err error)
	// Earliest returns the dispatch time of the first item, if any.
	Earliest() (at int64, ok bool)
	// PopDue removes up to len(out) items with DispatchAt <= now, earliest
	// first, into out and returns how many it removed.
	PopDue(now int64, out []Item) (int, error)
	// Len returns the number of queued items.
	Len() int
	// Cap returns the bound on Len.
	Cap() int
	// Close releases the queue; later Push and PopDue calls return
	// ErrClosed, and closing again does nothing. A disk queue keeps what is
	// queued for the next Open; a memory queue forgets it.
	Close() error
}

// Errors returned by queues and the scheduler.
var (
	ErrClosed = errors.New("scheduler: closed")
	// ErrTooFar refuses a packet whose delay exceeds Config.MaxDelay.
	ErrTooFar = errors.New("scheduler: dispatch time beyond the maximum delay")
	// ErrRunning is returned by Drain before Close.
	ErrRunning = errors.New("scheduler: still running; Close it before draining")
)
