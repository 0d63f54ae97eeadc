package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/droprand"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/minheap"
)

// MaxPrealloc caps how many slots NewMemQueue reserves up front. A queue
// with a larger Capacity grows its heap by doubling as it fills and then
// keeps that size, so steady-state pushes still do not allocate.
const MaxPrealloc = 1 << 16

// MemOptions configures a memory queue.
type MemOptions struct {
	// Capacity bounds the queue (Debug.SchedulerQueueSize). It must be
	// positive; the configuration layer maps "unlimited" to a hard cap.
	Capacity int
	// Seed fixes the random-drop source (tests). Nil seeds it from
	// crypto/rand.
	Seed *[32]byte
}

// memVal is what the heap carries beside the key: the rest of the Item.
type memVal struct {
	payload []byte
	meta    uint64
}

// MemQueue is the in-memory Queue: a binary min-heap under a mutex. Push and
// PopDue do not allocate once the heap has reached its working size.
type MemQueue struct {
	mu     sync.Mutex
	heap   *minheap.Heap[memVal]
	rand   *rand.Rand
	seq    uint64
	cap    int
	closed bool
}

var _ Queue = (*MemQueue)(nil)

// NewMemQueue returns an empty memory queue.
func NewMemQueue(opts MemOptions) (*MemQueue, error) {
	if opts.Capacity <= 0 {
		return nil, fmt.Errorf("scheduler: memory queue capacity %d: must be positive", opts.Capacity)
	}
	return &MemQueue{
		heap: minheap.New[memVal](min(opts.Capacity, MaxPrealloc)),
		rand: droprand.New(opts.Seed),
		cap:  opts.Capacity,
	}, nil
}

// Push implements Queue.
func (q *MemQueue) Push(it Item) (Item, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return Item{}, false, ErrClosed
	}
	if n := q.heap.Len(); n >= q.cap {
		// Uniform over the n queued items and the new one: index n
		// stands for the new item.
		r := q.rand.IntN(n + 1)
		if r == n {
			return it, true, nil
		}
		victim := elemItem(q.heap.RemoveAt(r))
		q.push(it)
		return victim, true, nil
	}
	q.push(it)
	return Item{}, false, nil
}

func (q *MemQueue) push(it Item) {
	q.seq++
	q.heap.Push(minheap.Elem[memVal]{
		Key: minheap.Key{At: it.DispatchAt, Seq: q.seq},
		Val: memVal{payload: it.Payload, meta: it.Meta},
	})
}

// Earliest implements Queue.
func (q *MemQueue) Earliest() (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.heap.Min()
	return e.Key.At, ok
}

// PopDue implements Queue.
func (q *MemQueue) PopDue(now int64, out []Item) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, ErrClosed
	}
	n := 0
	for n < len(out) {
		e, ok := q.heap.Min()
		if !ok || e.Key.At > now {
			break
		}
		out[n] = elemItem(q.heap.PopMin())
		n++
	}
	return n, nil
}

// Len implements Queue.
func (q *MemQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.heap.Len()
}

// Cap implements Queue.
func (q *MemQueue) Cap() int { return q.cap }

// Close implements Queue. Queued items are released; drain them first
// (Scheduler.Drain) to keep them. Closing twice is harmless.
func (q *MemQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.heap.Reset()
	return nil
}

func elemItem(e minheap.Elem[memVal]) Item {
	return Item{DispatchAt: e.Key.At, Payload: e.Val.payload, Meta: e.Val.meta}
}
