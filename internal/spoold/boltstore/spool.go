package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// userSpool is one user's spool bucket and its two sub-buckets.
type userSpool struct {
	b, msgs, ids *bolt.Bucket
}

// openSpool returns user's spool inside tx; nil when it has none and
// create is false.
func openSpool(tx *bolt.Tx, user []byte, create bool) (*userSpool, error) {
	top := tx.Bucket(bucketSpool)
	b := top.Bucket(user)
	if b == nil {
		if !create {
			return nil, nil
		}
		var err error
		if b, err = top.CreateBucket(user); err != nil {
			return nil, err
		}
		if _, err = b.CreateBucket(bucketMsgs); err != nil {
			return nil, err
		}
		if _, err = b.CreateBucket(bucketIDs); err != nil {
			return nil, err
		}
	}
	sp := &userSpool{b: b, msgs: b.Bucket(bucketMsgs), ids: b.Bucket(bucketIDs)}
	if sp.msgs == nil || sp.ids == nil {
		return nil, fmt.Errorf("%w: spool bucket without its sub-buckets", errCorrupt)
	}
	return sp, nil
}

func (sp *userSpool) count() (uint64, error) {
	v := sp.b.Get(keyCount)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: count of %d bytes", errCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (sp *userSpool) setCount(n uint64) error {
	return sp.b.Put(keyCount, binary.BigEndian.AppendUint64(nil, n))
}

func deleteSpool(tx *bolt.Tx, user []byte) error {
	top := tx.Bucket(bucketSpool)
	if top.Bucket(user) == nil {
		return nil
	}
	return top.DeleteBucket(user)
}

// storeOutcome is what one store's transaction decided. Refusals are
// outcomes, not errors: an error would roll back the whole batch.
type storeOutcome int

const (
	outcomeStored storeOutcome = iota
	outcomeDuplicate
	outcomeFull
)

// StoreMessage implements spoolproto.Store.
func (s *Store) StoreMessage(ctx context.Context, user []byte, m *spoolproto.Message) error {
	if m == nil || len(m.Body) == 0 {
		return spoolproto.Errorf(spoolproto.ErrInvalidMessage, "empty message")
	}
	if len(m.Body) > s.opts.MaxMessageSize {
		s.refusedTooLarge.Add(1)
		return spoolproto.Errorf(spoolproto.ErrMessageTooLarge, "%d bytes, at most %d", len(m.Body), s.opts.MaxMessageSize)
	}
	s.removing.RLock()
	defer s.removing.RUnlock()
	name, u, err := s.readUser(ctx, user)
	if err != nil {
		return err
	}
	if u == nil {
		return spoolproto.ErrUnknownUser
	}
	record := encodeMessage(m)
	limit := uint64(s.opts.MaxMessages)
	var outcome storeOutcome
	err = s.writeSpool(func(tx *bolt.Tx) error {
		sp, err := openSpool(tx, name, true)
		if err != nil {
			return err
		}
		if sp.ids.Get(m.ID[:]) != nil {
			outcome = outcomeDuplicate
			return nil
		}
		n, err := sp.count()
		if err != nil {
			return err
		}
		if n >= limit {
			outcome = outcomeFull
			return nil
		}
		seq, err := sp.msgs.NextSequence()
		if err != nil {
			return err
		}
		key := binary.BigEndian.AppendUint64(nil, seq)
		if err := sp.msgs.Put(key, record); err != nil {
			return err
		}
		if err := sp.ids.Put(m.ID[:], key); err != nil {
			return err
		}
		outcome = outcomeStored
		return sp.setCount(n + 1)
	})
	if err != nil {
		return fmt.Errorf("storing a message: %w", err)
	}
	switch outcome {
	case outcomeDuplicate:
		s.duplicates.Add(1)
	case outcomeFull:
		s.refusedFull.Add(1)
		return spoolproto.Errorf(spoolproto.ErrSpoolFull, "%d messages", limit)
	default:
		s.stored.Add(1)
	}
	return nil
}

// GetHead implements spoolproto.Store.
func (s *Store) GetHead(ctx context.Context, user []byte) (*spoolproto.Head, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	name, err := spoolproto.NormalizeUser(user)
	if err != nil {
		return nil, err
	}
	h := &spoolproto.Head{}
	err = s.spool.View(func(tx *bolt.Tx) error {
		sp, err := openSpool(tx, name, false)
		if err != nil || sp == nil {
			return err
		}
		n, err := sp.count()
		if err != nil {
			return err
		}
		_, v := sp.msgs.Cursor().First()
		if (v == nil) != (n == 0) || n > spoolproto.MaxSpoolCount {
			return fmt.Errorf("%w: spool count %d disagrees with its messages", errCorrupt, n)
		}
		if v == nil {
			return nil
		}
		if h.Message, err = decodeMessage(v); err != nil {
			return err
		}
		h.Count = int(n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading a spool: %w", err)
	}
	return h, nil
}

// RemoveMessage implements spoolproto.Store.
func (s *Store) RemoveMessage(ctx context.Context, user []byte, id spoolproto.MessageID) error {
	if err := live(ctx); err != nil {
		return err
	}
	name, err := spoolproto.NormalizeUser(user)
	if err != nil {
		return err
	}
	var removed bool
	err = s.writeSpool(func(tx *bolt.Tx) error {
		removed = false
		sp, err := openSpool(tx, name, false)
		if err != nil || sp == nil {
			return err
		}
		key := sp.ids.Get(id[:])
		if key == nil {
			return nil
		}
		key = append([]byte(nil), key...) // valid only until the next change
		n, err := sp.count()
		if err != nil {
			return err
		}
		if n <= 1 {
			removed = true
			return deleteSpool(tx, name)
		}
		if err := sp.msgs.Delete(key); err != nil {
			return err
		}
		if err := sp.ids.Delete(id[:]); err != nil {
			return err
		}
		removed = true
		return sp.setCount(n - 1)
	})
	if err != nil {
		return fmt.Errorf("removing a message: %w", err)
	}
	if removed {
		s.removed.Add(1)
	}
	return nil
}
