package spoolproto

import (
	"context"

	"github.com/splitmix/splitmix/internal/keys"
)

// fakeStore answers every call without state: it checks the name, returns
// err (if set) and otherwise fixed values, for testing the protocol layer.
// Behaviour is tested against the real store (internal/spoold/storetest).
type fakeStore struct {
	err  error
	link *keys.LinkPublicKey
	head *Head
	// listed is what ListEphemeral returns, whatever it is asked.
	listed [][]byte
}

func (f *fakeStore) check(user []byte) error {
	if _, err := NormalizeUser(user); err != nil {
		return err
	}
	return f.err
}

func (f *fakeStore) IsValid(_ context.Context, u []byte, _ *keys.LinkPublicKey) (bool, error) {
	return f.check(u) == nil, f.check(u)
}
func (f *fakeStore) Exists(_ context.Context, u []byte) (bool, error) {
	return f.check(u) == nil, f.check(u)
}
func (f *fakeStore) AddUser(_ context.Context, u []byte, _ *keys.LinkPublicKey) error {
	return f.check(u)
}
func (f *fakeStore) AddUserIfAbsent(_ context.Context, u []byte, _ *keys.LinkPublicKey) (bool, bool, error) {
	return true, true, f.check(u)
}
func (f *fakeStore) UpdateUser(_ context.Context, u []byte, _ *keys.LinkPublicKey) error {
	return f.check(u)
}
func (f *fakeStore) RemoveUser(_ context.Context, u []byte) error { return f.check(u) }
func (f *fakeStore) GetLink(_ context.Context, u []byte) (*keys.LinkPublicKey, error) {
	return f.link, f.check(u)
}
func (f *fakeStore) SetIdentity(_ context.Context, u, id []byte) error {
	if len(id) != IdentityKeySize {
		return Errorf(ErrInvalidKey, "%d bytes", len(id))
	}
	return f.check(u)
}
func (f *fakeStore) RemoveIdentity(_ context.Context, u []byte) error { return f.check(u) }
func (f *fakeStore) GetIdentity(_ context.Context, u []byte) ([]byte, error) {
	return make([]byte, IdentityKeySize), f.check(u)
}
func (f *fakeStore) StoreMessage(_ context.Context, u []byte, _ *Message) error { return f.check(u) }
func (f *fakeStore) GetHead(_ context.Context, u []byte) (*Head, error) {
	if err := f.check(u); err != nil {
		return nil, err
	}
	return f.head, nil
}
func (f *fakeStore) RemoveMessage(_ context.Context, u []byte, _ MessageID) error {
	return f.check(u)
}
func (f *fakeStore) PurgeUser(_ context.Context, u []byte) error { return f.check(u) }
func (f *fakeStore) AddEphemeralIfAbsent(_ context.Context, u []byte, _ *keys.LinkPublicKey) (bool, bool, error) {
	return true, true, f.check(u)
}
func (f *fakeStore) ListEphemeral(_ context.Context, after []byte, limit int) ([][]byte, error) {
	if err := CheckListEphemeral(after, limit); err != nil {
		return nil, err
	}
	return f.listed, f.err
}
