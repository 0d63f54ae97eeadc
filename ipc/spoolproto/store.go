package spoolproto

import (
	"context"
	"fmt"

	"github.com/splitmix/splitmix/internal/keys"
)

// Sizes and limits of PROTOCOL.md §1.
const (
	// MaxUserSize is the longest user name: the Sphinx recipient id.
	MaxUserSize = 32
	// IdentityKeySize is the size of a user's identity key: 32 opaque
	// bytes, whatever the algorithm (PROTOCOL.md §1.2).
	IdentityKeySize = 32
	// MessageIDSize and SURBIDSize are the sizes of a message's
	// client-chosen id and of a SURB id.
	MessageIDSize = 16
	SURBIDSize    = 16
	// MaxMessageSize is the protocol's bound on a message body; a store
	// may enforce a smaller one.
	MaxMessageSize = 32 << 10
	// MaxSpoolCount bounds the messages one user's spool may hold under
	// any store's configuration.
	MaxSpoolCount = 1 << 20
)

// MessageID names a message in its user's spool. mixd chooses it at
// random when it first stores the message, and sends the same id when it
// retries, so that a retried store is not stored twice. See PROTOCOL.md §3.5.
type MessageID [MessageIDSize]byte

// SURBID is the id of the SURB a message carried, kept with the message
// so the client can match the reply. See PROTOCOL.md §3.5.
type SURBID [SURBIDSize]byte

// Message is one spooled message: opaque bytes to spoold.
type Message struct {
	ID     MessageID
	SURBID *SURBID // nil when the message carried no SURB
	Body   []byte
}

// Head is the oldest message of a user's spool and how many the spool holds.
type Head struct {
	Message *Message // nil when the spool is empty
	Count   int      // messages in the spool, Message included
}

// Store is the user database and the spool as mixd uses them. It is
// implemented by the embedded bolt store inside spoold
// (internal/spoold/boltstore) and by Client, over spoold's socket; one
// conformance suite (internal/spoold/storetest) holds both to the same
// behaviour. Errors are the sentinels of errors.go, checked with errors.Is
// on either side of the socket. Every user name goes through NormalizeUser.
type Store interface {
	// IsValid reports whether user exists and has link as its link key,
	// comparing in constant time. An unknown user is not an error: false.
	IsValid(ctx context.Context, user []byte, link *keys.LinkPublicKey) (bool, error)
	// Exists reports whether user exists.
	Exists(ctx context.Context, user []byte) (bool, error)
	// AddUser adds user with link; ErrUserExists if it exists.
	AddUser(ctx context.Context, user []byte, link *keys.LinkPublicKey) error
	// AddUserIfAbsent is trust on first use: it adds user with link if
	// absent (added, and valid), and otherwise reports whether link is the
	// stored key, as IsValid.
	AddUserIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error)
	// UpdateUser replaces user's link key; ErrUnknownUser if absent.
	UpdateUser(ctx context.Context, user []byte, link *keys.LinkPublicKey) error
	// RemoveUser removes user, its spool and its ephemeral mark.
	// ErrUnknownUser if absent;
	// ErrIdentitySet while it has an identity key (the operator
	// documentation: REMOVE_USER_IDENTITY must come first).
	RemoveUser(ctx context.Context, user []byte) error
	// GetLink returns user's link key; ErrUnknownUser if absent.
	GetLink(ctx context.Context, user []byte) (*keys.LinkPublicKey, error)
	// SetIdentity sets user's identity key (IdentityKeySize bytes).
	SetIdentity(ctx context.Context, user, identity []byte) error
	// RemoveIdentity removes user's identity key; nothing to remove is not
	// an error, an unknown user is.
	RemoveIdentity(ctx context.Context, user []byte) error
	// GetIdentity returns user's identity key: ErrUnknownUser, or
	// ErrNoIdentity when none is set.
	GetIdentity(ctx context.Context, user []byte) ([]byte, error)
	// StoreMessage appends m to user's spool and returns once it is on
	// stable storage. A message whose id is already in the spool is not
	// stored again (success). ErrUnknownUser, ErrMessageTooLarge,
	// ErrSpoolFull, ErrInvalidMessage.
	StoreMessage(ctx context.Context, user []byte, m *Message) error
	// GetHead returns the oldest message of user's spool and the spool's
	// size. An unknown user has an empty spool.
	GetHead(ctx context.Context, user []byte) (*Head, error)
	// RemoveMessage removes the message with id from user's spool, once
	// its client acknowledged it. A message that is not there (removed
	// already) is not an error.
	RemoveMessage(ctx context.Context, user []byte, id MessageID) error
	// PurgeUser removes an ephemeral user: the user, its identity key, its
	// spool and its mark, whatever the identity key and the spool hold. A
	// user without the mark (the operator's) is left as it is, and that and
	// an unknown user are not errors. See PROTOCOL.md §3.3.
	PurgeUser(ctx context.Context, user []byte) error

	// AddEphemeralIfAbsent is AddUserIfAbsent for EnableEphemeralClients:
	// a user it adds is also marked ephemeral, in the same commit, so that
	// a later mixd finds it with ListEphemeral and purges it even if the
	// mixd that created it died. A user that exists is left as it is,
	// marked or not. The mark goes with the user (RemoveUser, PurgeUser)
	// and stays through UpdateUser and SetIdentity; AddUser never sets it.
	// See PROTOCOL.md §3.8.
	AddEphemeralIfAbsent(ctx context.Context, user []byte, link *keys.LinkPublicKey) (added, valid bool, err error)
	// ListEphemeral returns the names of the users marked ephemeral, in
	// ascending byte order, those strictly after after (empty: from the
	// first), at most limit of them; fewer than limit means the end. See
	// CheckListEphemeral for the bounds, and PROTOCOL.md §3.8.
	ListEphemeral(ctx context.Context, after []byte, limit int) ([][]byte, error)
}

// NormalizeUser returns the canonical form of a user name (PROTOCOL.md
// §1.1): at most MaxUserSize bytes, trailing zero bytes dropped (a Sphinx
// recipient id is the name zero-padded to 32 bytes), at least one byte
// left. Bytes are otherwise kept exactly: names are often
// hashes, and case folding would merge distinct ones. The result shares
// no memory with user.
func NormalizeUser(user []byte) ([]byte, error) {
	if len(user) > MaxUserSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidUser, len(user), MaxUserSize)
	}
	n := len(user)
	for n > 0 && user[n-1] == 0 {
		n--
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidUser)
	}
	return append([]byte(nil), user[:n]...), nil
}
