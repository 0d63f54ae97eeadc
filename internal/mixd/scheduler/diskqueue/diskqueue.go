package diskqueue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/droprand"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/internal/minheap"
)

// FileName is the queue file's name inside Options.Dir.
const FileName = "scheduler-queue.db"

// DefaultMaxPayload bounds a stored packet when Options.MaxPayload is 0.
const DefaultMaxPayload = 1 << 20

// lockTimeout is how long Open waits for another process's lock on the
// file before failing: two mixd instances must not share a queue, and
// waiting for ever would hang the second one silently.
const lockTimeout = time.Second

var bucketName = []byte("queue")

// Options configures Open.
type Options struct {
	// Dir is the directory for the queue file; it is created 0700 if
	// missing.
	Dir string
	// Capacity bounds the queue (Debug.SchedulerQueueSize); must be
	// positive.
	Capacity int
	// MaxPayload bounds one packet, in bytes; 0 means DefaultMaxPayload.
	// Push refuses larger packets and Open discards larger entries.
	MaxPayload int
	// Sync makes every commit wait for fsync. See the package
	// documentation, "Durability".
	Sync bool
	// Seed fixes the random-drop source (tests). Nil seeds it from
	// crypto/rand.
	Seed *[32]byte
}

// Recovery says what Open found in an existing file.
type Recovery struct {
	Kept    int // entries kept
	Trimmed int // entries randomly dropped because there were more than Capacity
	Corrupt int // entries deleted because they did not decode, at Open or since
}

// Queue is the disk-backed scheduler.Queue. It is safe for concurrent use.
type Queue struct {
	mu         sync.Mutex
	db         *bolt.DB
	index      *minheap.Heap[struct{}] // the keys on disk
	rand       *rand.Rand
	seq        uint64
	cap        int
	maxPayload int
	closed     bool
	recovery   Recovery
	keys       []minheap.Key // PopDue scratch, reused
	value      []byte        // Push scratch, reused
}

var _ scheduler.Queue = (*Queue)(nil)

// Open opens or creates the queue file in opts.Dir, keeping the packets
// already in it (see Recovery).
func Open(opts Options) (*Queue, error) {
	if opts.Dir == "" {
		return nil, errors.New("diskqueue: no directory")
	}
	if opts.Capacity <= 0 {
		return nil, fmt.Errorf("diskqueue: capacity %d: must be positive", opts.Capacity)
	}
	if opts.MaxPayload < 0 {
		return nil, fmt.Errorf("diskqueue: maximum packet size %d: must not be negative", opts.MaxPayload)
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("diskqueue: %w", err)
	}
	path := filepath.Join(opts.Dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      lockTimeout,
		NoSync:       !opts.Sync,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("diskqueue: open %s: %w", path, err)
	}
	q := &Queue{
		db:         db,
		index:      minheap.New[struct{}](min(opts.Capacity, scheduler.MaxPrealloc)),
		rand:       droprand.New(opts.Seed),
		cap:        opts.Capacity,
		maxPayload: opts.MaxPayload,
		keys:       make([]minheap.Key, 0, 64),
	}
	if err := db.Update(q.load); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("diskqueue: load %s: %w", path, err)
	}
	return q, nil
}

// load rebuilds the index from the file, deleting entries that do not
// decode and trimming to capacity, in one transaction.
func (q *Queue) load(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bucketName)
	if err != nil {
		return err
	}
	var bad [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key, err := decodeKey(k)
		if err == nil {
			_, _, err = decodeValue(v, q.maxPayload)
		}
		if err != nil || v == nil { // v == nil: a nested bucket, not ours
			bad = append(bad, append([]byte(nil), k...))
			continue
		}
		// Cursor order is key order, so each push lands at the
		// bottom of the heap without sifting.
		q.index.Push(minheap.Elem[struct{}]{Key: key})
		q.seq = max(q.seq, key.Seq)
	}
	for _, k := range bad {
		err := b.Delete(k)
		if errors.Is(err, berrors.ErrIncompatibleValue) {
			err = b.DeleteBucket(k)
		}
		if err != nil {
			return err
		}
	}
	q.recovery.Corrupt = len(bad)
	var kb [keyLen]byte
	for q.index.Len() > q.cap {
		e := q.index.RemoveAt(q.rand.IntN(q.index.Len()))
		encodeKey(&kb, e.Key)
		if err := b.Delete(kb[:]); err != nil {
			return err
		}
		q.recovery.Trimmed++
	}
	q.recovery.Kept = q.index.Len()
	return nil
}

// Recovery reports what Open found.
func (q *Queue) Recovery() Recovery {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.recovery
}

// Push implements scheduler.Queue. The packet is copied to disk, so the
// caller may reuse it.Payload once Push returns.
func (q *Queue) Push(it scheduler.Item) (scheduler.Item, bool, error) {
	if len(it.Payload) > q.maxPayload {
		return scheduler.Item{}, false, fmt.Errorf("diskqueue: %d-byte packet exceeds the maximum %d", len(it.Payload), q.maxPayload)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return scheduler.Item{}, false, scheduler.ErrClosed
	}
	victimAt := -1
	if n := q.index.Len(); n >= q.cap {
		// Uniform over the n queued packets and the new one: index n
		// stands for the new packet, which then never touches the disk.
		victimAt = q.rand.IntN(n + 1)
		if victimAt == n {
			return it, true, nil
		}
	}
	key := minheap.Key{At: it.DispatchAt, Seq: q.seq + 1}
	var victim scheduler.Item
	err := q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName)
		var kb [keyLen]byte
		if victimAt >= 0 {
			vk := q.index.At(victimAt).Key
			encodeKey(&kb, vk)
			// A damaged victim is dropped all the same.
			victim, _ = q.readItem(vk, b.Get(kb[:]))
			if err := b.Delete(kb[:]); err != nil {
				return err
			}
		}
		encodeKey(&kb, key)
		q.value = encodeValue(q.value[:0], it.Meta, it.Payload)
		return b.Put(kb[:], q.value)
	})
	if err != nil {
		return scheduler.Item{}, false, fmt.Errorf("diskqueue: store packet: %w", err)
	}
	q.seq++
	if victimAt >= 0 {
		q.index.RemoveAt(victimAt)
	}
	q.index.Push(minheap.Elem[struct{}]{Key: key})
	return victim, victimAt >= 0, nil
}

// Earliest implements scheduler.Queue.
func (q *Queue) Earliest() (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.index.Min()
	return e.Key.At, ok
}

// PopDue implements scheduler.Queue: one write transaction for the whole
// burst. Each returned Payload is a fresh copy.
func (q *Queue) PopDue(now int64, out []scheduler.Item) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, scheduler.ErrClosed
	}
	// The index knows which keys are due. Take them off it now and put
	// them back if the transaction fails, so index and file agree.
	q.keys = q.keys[:0]
	for len(q.keys) < len(out) {
		e, ok := q.index.Min()
		if !ok || e.Key.At > now {
			break
		}
		q.keys = append(q.keys, q.index.PopMin().Key)
	}
	if len(q.keys) == 0 {
		return 0, nil
	}
	n := 0
	err := q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName)
		var kb [keyLen]byte
		n = 0
		for _, k := range q.keys {
			encodeKey(&kb, k)
			if it, ok := q.readItem(k, b.Get(kb[:])); ok {
				out[n] = it
				n++
			}
			if err := b.Delete(kb[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		clear(out[:n])
		for _, k := range q.keys {
			q.index.Push(minheap.Elem[struct{}]{Key: k})
		}
		return 0, fmt.Errorf("diskqueue: pop packets: %w", err)
	}
	return n, nil
}

// readItem rebuilds the item stored under k from its value v, copying the
// packet out of the transaction's memory. A value that is missing or does
// not decode (the file was damaged after Open checked it) is counted in
// Recovery.Corrupt and reported as not ok: it is never dispatched.
func (q *Queue) readItem(k minheap.Key, v []byte) (scheduler.Item, bool) {
	meta, payload, err := decodeValue(v, q.maxPayload)
	if err != nil {
		q.recovery.Corrupt++
		return scheduler.Item{DispatchAt: k.At}, false
	}
	return scheduler.Item{DispatchAt: k.At, Payload: append([]byte(nil), payload...), Meta: meta}, true
}

// Len implements scheduler.Queue.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.index.Len()
}

// Cap implements scheduler.Queue.
func (q *Queue) Cap() int { return q.cap }

// Close implements scheduler.Queue: it closes the file, keeping what is
// queued for the next Open.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.index.Reset()
	if err := q.db.Close(); err != nil {
		return fmt.Errorf("diskqueue: close: %w", err)
	}
	return nil
}
