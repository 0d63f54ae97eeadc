package boltstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// Defaults of Options.
const (
	DefaultMaxMessages    = 4096
	DefaultMaxMessageSize = spoolproto.MaxMessageSize
	// DefaultMaxBatchDelay is how long a batch waits for company before
	// it commits. bbolt's own default (10 ms) is tuned for throughput;
	// a lone store should not wait that long. See docs/bench/spoold.md.
	DefaultMaxBatchDelay = 2 * time.Millisecond
)

// Options configures a Store.
type Options struct {
	UserDB  string // the user database file (created if missing)
	SpoolDB string // the spool file (created if missing)
	// MaxMessages bounds each user's spool, 1 to spoolproto.MaxSpoolCount;
	// 0: DefaultMaxMessages.
	MaxMessages int
	// MaxMessageSize bounds a message body, 1 to
	// spoolproto.MaxMessageSize; 0: DefaultMaxMessageSize.
	MaxMessageSize int
	// NoBatch commits every store and removal alone, one sync each
	// (for measuring what batching buys).
	NoBatch bool
	// MaxBatchDelay: 0 means DefaultMaxBatchDelay.
	MaxBatchDelay time.Duration
}

// Counters count what the store did and refused since Open.
type Counters struct {
	Stored          uint64 // messages stored
	Duplicates      uint64 // stores of an id already in the spool (retries)
	Removed         uint64 // messages removed by RemoveMessage
	RefusedFull     uint64 // stores refused: spool full
	RefusedTooLarge uint64 // stores refused: body over MaxMessageSize
}

// Store is the bolt backend. Safe for concurrent use.
type Store struct {
	opts  Options
	users *bolt.DB
	spool *bolt.DB

	// removing is held for writing while a user is removed (two commits,
	// users then spool) and for reading while a message is stored (check
	// the user, then commit), so that no store lands in a spool after
	// its user's removal deleted it.
	removing sync.RWMutex

	stored, duplicates, removed, refusedFull, refusedTooLarge atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

var _ spoolproto.Store = (*Store)(nil)

var (
	bucketUsers = []byte("users")
	// bucketEphemeral is in the user database beside bucketUsers:
	// user name -> mark record, for the users created ephemeral.
	bucketEphemeral = []byte("ephemeral")
	bucketSpool     = []byte("spool")
	bucketMsgs      = []byte("msgs")
	bucketIDs       = []byte("ids")
	keyCount        = []byte("n")
)

func (o *Options) check() error {
	if o.UserDB == "" || o.SpoolDB == "" {
		return errors.New("boltstore: both database paths are required")
	}
	if o.UserDB == o.SpoolDB {
		return fmt.Errorf("boltstore: the user database and the spool are the same file %s", o.UserDB)
	}
	if o.MaxMessages == 0 {
		o.MaxMessages = DefaultMaxMessages
	}
	if o.MaxMessages < 1 || o.MaxMessages > spoolproto.MaxSpoolCount {
		return fmt.Errorf("boltstore: MaxMessages %d out of [1, %d]", o.MaxMessages, spoolproto.MaxSpoolCount)
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxMessageSize < 1 || o.MaxMessageSize > spoolproto.MaxMessageSize {
		return fmt.Errorf("boltstore: MaxMessageSize %d out of [1, %d]", o.MaxMessageSize, spoolproto.MaxMessageSize)
	}
	if o.MaxBatchDelay == 0 {
		o.MaxBatchDelay = DefaultMaxBatchDelay
	}
	return nil
}

// openDB opens one bolt file and creates its top buckets, those a file
// written by an older version lacks included. The file lock wait is
// bounded, so a second spoold fails instead of hanging.
func openDB(path string, buckets ...[]byte) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%s is in use by another process", path)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// Open opens (creating if needed) both databases, then removes the spools
// and ephemeral marks of users that no longer exist (see doc.go).
func Open(opts Options) (*Store, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	s := &Store{opts: opts}
	var err error
	if s.users, err = openDB(opts.UserDB, bucketUsers, bucketEphemeral); err != nil {
		return nil, err
	}
	if s.spool, err = openDB(opts.SpoolDB, bucketSpool); err != nil {
		_ = s.users.Close()
		return nil, err
	}
	s.spool.MaxBatchDelay = opts.MaxBatchDelay
	if _, err := s.vacuum(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both files. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.spool.Close(), s.users.Close())
	})
	return s.closeErr
}

// Counters returns a snapshot of the counters.
func (s *Store) Counters() Counters {
	return Counters{
		Stored:          s.stored.Load(),
		Duplicates:      s.duplicates.Load(),
		Removed:         s.removed.Load(),
		RefusedFull:     s.refusedFull.Load(),
		RefusedTooLarge: s.refusedTooLarge.Load(),
	}
}

// writeSpool commits fn to the spool: batched with concurrent callers
// unless NoBatch. fn may run more than once and must be idempotent.
func (s *Store) writeSpool(fn func(*bolt.Tx) error) error {
	if s.opts.NoBatch {
		return s.spool.Update(fn)
	}
	return s.spool.Batch(fn)
}

// live returns ctx's error if the caller gave up: checked before work is
// started, never in the middle of a commit.
func live(ctx context.Context) error {
	return ctx.Err()
}
