package boltstore

import (
	"context"
	"crypto/subtle"

	bolt "go.etcd.io/bbolt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// getUser reads and decodes user's record inside tx: nil if absent.
func getUser(tx *bolt.Tx, user []byte) (*userRecord, error) {
	b := tx.Bucket(bucketUsers).Get(user)
	if b == nil {
		return nil, nil
	}
	return decodeUser(b)
}

func putUser(tx *bolt.Tx, user []byte, u *userRecord) error {
	return tx.Bucket(bucketUsers).Put(user, u.encode())
}

// readUser normalises user and reads its record: nil if absent.
func (s *Store) readUser(ctx context.Context, user []byte) (name []byte, u *userRecord, err error) {
	if err := live(ctx); err != nil {
		return nil, nil, err
	}
	if name, err = spoolproto.NormalizeUser(user); err != nil {
		return nil, nil, err
	}
	err = s.users.View(func(tx *bolt.Tx) error {
		u, err = getUser(tx, name)
		return err
	})
	return name, u, err
}

// checkLink refuses a nil link key, which only a caller in this process
// can pass (the wire always has 1216 bytes).
func checkLink(link *keys.LinkPublicKey) error {
	if link == nil {
		return spoolproto.Errorf(spoolproto.ErrInvalidKey, "no link key")
	}
	return nil
}

// sameLink compares link keys in constant time.
func sameLink(a, b *keys.LinkPublicKey) bool {
	return subtle.ConstantTimeCompare(a.Bytes(), b.Bytes()) == 1
}

// IsValid implements spoolproto.Store.
func (s *Store) IsValid(ctx context.Context, user []byte, link *keys.LinkPublicKey) (bool, error) {
	if err := checkLink(link); err != nil {
		return false, err
	}
	_, u, err := s.readUser(ctx, user)
	if err != nil || u == nil {
		return false, err
	}
	return sameLink(&u.link, link), nil
}

// Exists implements spoolproto.Store.
func (s *Store) Exists(ctx context.Context, user []byte) (bool, error) {
	_, u, err := s.readUser(ctx, user)
	return u != nil && err == nil, err
}

// GetLink implements spoolproto.Store.
func (s *Store) GetLink(ctx context.Context, user []byte) (*keys.LinkPublicKey, error) {
	_, u, err := s.readUser(ctx, user)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, spoolproto.ErrUnknownUser
	}
	return &u.link, nil
}

// updateUser normalises user and runs fn on its record (nil if absent)
// in one write transaction of the user database.
func (s *Store) updateUser(ctx context.Context, user []byte, fn func(tx *bolt.Tx, name []byte, u *userRecord) error) error {
	if err := live(ctx); err != nil {
		return err
	}
	name, err := spoolproto.NormalizeUser(user)
	if err != nil {
		return err
	}
	return s.users.Update(func(tx *bolt.Tx) error {
		u, err := getUser(tx, name)
		if err != nil {
			return err
		}
		return fn(tx, name, u)
	})
}

// AddUser implements spoolproto.Store.
func (s *Store) AddUser(ctx context.Context, user []byte, link *keys.LinkPublicKey) error {
	if err := checkLink(link); err != nil {
		return err
	}
	return s.updateUser(ctx, user, func(tx *bolt.Tx, name []byte, u *userRecord) error {
		if u != nil {
			return spoolproto.ErrUserExists
		}
		return putUser(tx, name, &userRecord{link: *link})
	})
}

// AddUserIfAbsent implements spoolproto.Store.
func (s *Store) AddUserIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error) {
	if err := checkLink(link); err != nil {
		return false, false, err
	}
	// The common case, a known user, needs no write transaction.
	if _, u, err := s.readUser(ctx, user); err != nil || u != nil {
		return false, err == nil && sameLink(&u.link, link), err
	}
	err = s.updateUser(ctx, user, func(tx *bolt.Tx, name []byte, u *userRecord) error {
		if u != nil { // added meanwhile
			added, valid = false, sameLink(&u.link, link)
			return nil
		}
		added, valid = true, true
		return putUser(tx, name, &userRecord{link: *link})
	})
	if err != nil {
		return false, false, err
	}
	return added, valid, nil
}

// UpdateUser implements spoolproto.Store.
func (s *Store) UpdateUser(ctx context.Context, user []byte, link *keys.LinkPublicKey) error {
	if err := checkLink(link); err != nil {
		return err
	}
	return s.updateUser(ctx, user, func(tx *bolt.Tx, name []byte, u *userRecord) error {
		if u == nil {
			return spoolproto.ErrUnknownUser
		}
		u.link = *link
		return putUser(tx, name, u)
	})
}

// RemoveUser implements spoolproto.Store.
func (s *Store) RemoveUser(ctx context.Context, user []byte) error {
	return s.removeUser(ctx, user, false)
}

// PurgeUser implements spoolproto.Store.
func (s *Store) PurgeUser(ctx context.Context, user []byte) error {
	return s.removeUser(ctx, user, true)
}

// removeUser deletes the user record, then the spool. purge ignores the
// identity key and an absent user.
func (s *Store) removeUser(ctx context.Context, user []byte, purge bool) error {
	s.removing.Lock()
	defer s.removing.Unlock()
	var name []byte
	err := s.updateUser(ctx, user, func(tx *bolt.Tx, n []byte, u *userRecord) error {
		name = n
		switch {
		case u == nil && purge:
			return nil
		case u == nil:
			return spoolproto.ErrUnknownUser
		case u.identity != nil && !purge:
			return spoolproto.ErrIdentitySet
		}
		return tx.Bucket(bucketUsers).Delete(n)
	})
	if err != nil {
		return err
	}
	// A crash here leaves a spool without a user; Open removes it.
	return s.spool.Update(func(tx *bolt.Tx) error {
		return deleteSpool(tx, name)
	})
}
