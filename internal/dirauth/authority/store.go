package authority

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/splitmix/splitmix/internal/keys"
)

// Buckets of the database (docs/spec/dirauth.md §8).
var (
	bucketMeta        = []byte("meta")
	bucketDescriptors = []byte("descriptors") // epoch u64 ‖ NodeID -> posted SignedDescriptor
	bucketDocuments   = []byte("documents")   // epoch u64 -> SignedDocument
	keyFormat         = []byte("format")
)

// storeFormat is the database layout version; a database of another
// version is refused, never rewritten.
const storeFormat = 1

// Store keeps what the authority must not forget across a restart: the
// descriptors it accepted and the documents it signed (docs/spec/dirauth.md
// §8). Every write is committed (fsync) before the caller answers anyone.
type Store struct {
	db *bolt.DB
}

// OpenStore opens or creates the database at path (mode 0600). A database
// locked by another process is an error after one second.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%s: locked by another process (is another dirauth running?)", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		var want [4]byte
		binary.BigEndian.PutUint32(want[:], storeFormat)
		switch got := meta.Get(keyFormat); {
		case got == nil:
			if err := meta.Put(keyFormat, want[:]); err != nil {
				return err
			}
		case !bytes.Equal(got, want[:]):
			return fmt.Errorf("database format %x, this dirauth reads %x", got, want)
		}
		for _, b := range [][]byte{bucketDescriptors, bucketDocuments} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func epochKey(epoch uint64) []byte { return binary.BigEndian.AppendUint64(nil, epoch) }

// PutDescriptor records a node's accepted descriptor for an epoch.
func (s *Store) PutDescriptor(epoch uint64, id keys.NodeID, signed []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDescriptors).Put(append(epochKey(epoch), id[:]...), signed)
	})
}

// PutDocument records the signed document of an epoch. A document, once
// stored, is never replaced by different bytes.
func (s *Store) PutDocument(epoch uint64, signed []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDocuments)
		if old := b.Get(epochKey(epoch)); old != nil && !bytes.Equal(old, signed) {
			return fmt.Errorf("a different document for epoch %d is already stored", epoch)
		}
		return b.Put(epochKey(epoch), signed)
	})
}

// Load returns everything stored: descriptors by epoch and node, documents
// by epoch. The slices are copies.
func (s *Store) Load() (descs map[uint64]map[keys.NodeID][]byte, docs map[uint64][]byte, err error) {
	descs = map[uint64]map[keys.NodeID][]byte{}
	docs = map[uint64][]byte{}
	err = s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketDescriptors).ForEach(func(k, v []byte) error {
			if len(k) != 8+keys.NodeIDSize {
				return fmt.Errorf("descriptor record with a %d-byte key", len(k))
			}
			e := binary.BigEndian.Uint64(k)
			if descs[e] == nil {
				descs[e] = map[keys.NodeID][]byte{}
			}
			descs[e][keys.NodeID(k[8:])] = bytes.Clone(v)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDocuments).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("document record with a %d-byte key", len(k))
			}
			docs[binary.BigEndian.Uint64(k)] = bytes.Clone(v)
			return nil
		})
	})
	return descs, docs, err
}

// Prune deletes descriptors for epochs before descBefore and documents for
// epochs before docBefore.
func (s *Store) Prune(descBefore, docBefore uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, p := range []struct {
			bucket []byte
			before uint64
		}{{bucketDescriptors, descBefore}, {bucketDocuments, docBefore}} {
			// Collect first: deleting under a moving cursor skips keys.
			b := tx.Bucket(p.bucket)
			var old [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < p.before; k, _ = c.Next() {
				old = append(old, bytes.Clone(k))
			}
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
