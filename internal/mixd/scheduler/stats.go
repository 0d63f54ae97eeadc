package scheduler

import "time"

// DropReason says why the scheduler dropped a packet.
type DropReason int

// Drop reasons, indexes into Stats.Dropped.
const (
	// DropQueueFull: the queue was at Debug.SchedulerQueueSize and random
	// drop chose this packet.
	DropQueueFull DropReason = iota
	// DropTooLate: the packet was popped more than Debug.SchedulerSlack
	// after its dispatch time.
	DropTooLate
	// DropTooFar: the packet asked for a delay beyond Config.MaxDelay.
	DropTooFar
	// DropClosed: the packet arrived after Close, or was discarded by
	// Drain(nil) at shutdown.
	DropClosed
	// DropStorage: the queue failed to store the packet (disk queue I/O).
	DropStorage

	// NumDropReasons is the number of reasons (the length of
	// Stats.Dropped).
	NumDropReasons
)

var dropReasonNames = [NumDropReasons]string{
	DropQueueFull: "queue_full",
	DropTooLate:   "too_late",
	DropTooFar:    "too_far",
	DropClosed:    "closed",
	DropStorage:   "storage",
}

// String returns the reason's name as used in logs and metrics.
func (r DropReason) String() string {
	if r < 0 || r >= NumDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// Stats is a snapshot of the scheduler's counters.
type Stats struct {
	Queued   int       // items in the queue now
	Capacity int       // the queue's bound
	Earliest time.Time // dispatch time of the first queued item; zero if empty

	Dispatched uint64 // items handed to Config.Dispatch
	Wakeups    uint64 // dispatch rounds: each pops at most MaxBurst items
	// Dropped counts dropped items by reason.
	Dropped [NumDropReasons]uint64
	// StorageErrors counts failed queue reads (PopDue) in the run loop.
	StorageErrors uint64
}

// TotalDropped is the sum of Dropped.
func (s Stats) TotalDropped() uint64 {
	var n uint64
	for _, d := range s.Dropped {
		n += d
	}
	return n
}
