package boltstore

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// errNotEphemeral rolls back a PurgeUser of a user without an ephemeral
// mark, which then succeeds without removing anything.
var errNotEphemeral = errors.New("not ephemeral")

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

// createUser writes a new user and sets or clears its ephemeral mark in
// the same transaction. Clearing matters only for a mark left without its
// user, which no commit leaves (vacuum drops them anyway): a user the
// operator adds is permanent whatever was there before.
func createUser(tx *bolt.Tx, user []byte, link *keys.LinkPublicKey, ephemeral bool) error {
	if err := putUser(tx, user, &userRecord{link: *link}); err != nil {
		return err
	}
	marks := tx.Bucket(bucketEphemeral)
	if ephemeral {
		return marks.Put(user, encodeMark())
	}
	return marks.Delete(user)
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
		return createUser(tx, name, link, false)
	})
}

// AddUserIfAbsent implements spoolproto.Store.
func (s *Store) AddUserIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error) {
	return s.addIfAbsent(ctx, user, link, false)
}

// AddEphemeralIfAbsent implements spoolproto.Store: the user and its mark
// in one commit, so a crash cannot leave either without the other.
func (s *Store) AddEphemeralIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error) {
	return s.addIfAbsent(ctx, user, link, true)
}

// addIfAbsent adds user with link, marked ephemeral if asked, unless it
// exists; an existing user is not changed, its mark included.
func (s *Store) addIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey, ephemeral bool) (added, valid bool, err error) {
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
		return createUser(tx, name, link, ephemeral)
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

// removeUser deletes the user record and its ephemeral mark in one commit,
// then the spool. purge ignores the identity key and an absent user (whose
// stray mark, if any, it still deletes), and leaves alone a user without a
// mark: the operator may have removed an ephemeral user and added a
// permanent one of the same name since mixd decided to purge it
// (PROTOCOL.md §3.3).
func (s *Store) removeUser(ctx context.Context, user []byte, purge bool) error {
	s.removing.Lock()
	defer s.removing.Unlock()
	var name []byte
	err := s.updateUser(ctx, user, func(tx *bolt.Tx, n []byte, u *userRecord) error {
		name = n
		switch {
		case u == nil && !purge:
			return spoolproto.ErrUnknownUser
		case u != nil && u.identity != nil && !purge:
			return spoolproto.ErrIdentitySet
		case u != nil && purge && tx.Bucket(bucketEphemeral).Get(n) == nil:
			return errNotEphemeral
		}
		if err := tx.Bucket(bucketEphemeral).Delete(n); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Delete(n)
	})
	if errors.Is(err, errNotEphemeral) {
		return nil
	}
	if err != nil {
		return err
	}
	// A crash here leaves a spool without a user; Open removes it.
	return s.spool.Update(func(tx *bolt.Tx) error {
		return deleteSpool(tx, name)
	})
}

// ListEphemeral implements spoolproto.Store: one read transaction, so a
// page is one snapshot.
func (s *Store) ListEphemeral(ctx context.Context, after []byte, limit int) ([][]byte, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	if err := spoolproto.CheckListEphemeral(after, limit); err != nil {
		return nil, err
	}
	var users [][]byte
	err := s.users.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEphemeral).Cursor()
		k, v := c.Seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
		for ; k != nil && len(users) < limit; k, v = c.Next() {
			if err := decodeMark(v); err != nil {
				return err
			}
			// Keys are valid only inside the transaction.
			users = append(users, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing ephemeral users: %w", err)
	}
	return users, nil
}
