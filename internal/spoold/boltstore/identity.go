package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// SetIdentity implements spoolproto.Store. The key is opaque: only its
// size is checked.
func (s *Store) SetIdentity(ctx context.Context, user, identity []byte) error {
	if len(identity) != spoolproto.IdentityKeySize {
		return spoolproto.Errorf(spoolproto.ErrInvalidKey, "identity key of %d bytes, want %d", len(identity), spoolproto.IdentityKeySize)
	}
	return s.updateUser(ctx, user, func(tx *bolt.Tx, name []byte, u *userRecord) error {
		if u == nil {
			return spoolproto.ErrUnknownUser
		}
		u.identity = append([]byte(nil), identity...)
		return putUser(tx, name, u)
	})
}

// RemoveIdentity implements spoolproto.Store.
func (s *Store) RemoveIdentity(ctx context.Context, user []byte) error {
	return s.updateUser(ctx, user, func(tx *bolt.Tx, name []byte, u *userRecord) error {
		if u == nil {
			return spoolproto.ErrUnknownUser
		}
		if u.identity == nil {
			return nil
		}
		u.identity = nil
		return putUser(tx, name, u)
	})
}

// GetIdentity implements spoolproto.Store.
func (s *Store) GetIdentity(ctx context.Context, user []byte) ([]byte, error) {
	_, u, err := s.readUser(ctx, user)
	switch {
	case err != nil:
		return nil, err
	case u == nil:
		return nil, spoolproto.ErrUnknownUser
	case u.identity == nil:
		return nil, spoolproto.ErrNoIdentity
	}
	return u.identity, nil
}
