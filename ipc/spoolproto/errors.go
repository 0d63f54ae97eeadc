package spoolproto

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/splitmix/splitmix/ipc"
)

// The errors of a Store, the same on both sides of the socket: the bolt
// store returns them (wrapped with detail), the server sends them as typed
// wire errors, and Client turns those back into them. Check with errors.Is.
// See PROTOCOL.md §5.
var (
	ErrInvalidUser     = errors.New("invalid user name")
	ErrInvalidKey      = errors.New("invalid key")
	ErrInvalidMessage  = errors.New("invalid message")
	ErrMessageTooLarge = errors.New("message too large")
	ErrUnknownUser     = errors.New("no such user")
	ErrNoIdentity      = errors.New("no identity key")
	ErrUserExists      = errors.New("user exists")
	ErrIdentitySet     = errors.New("identity key still set")
	ErrSpoolFull       = errors.New("spool full")
	ErrInvalidLimit    = errors.New("invalid limit")
)

// wireErrors is PROTOCOL.md §5's table: each error's code. Within one
// code, no reason is a prefix of another, so the client can tell them
// apart by the message's first words.
var wireErrors = []struct {
	err  error
	code ipc.Code
}{
	{ErrInvalidUser, ipc.CodeInvalid},
	{ErrInvalidKey, ipc.CodeInvalid},
	{ErrInvalidMessage, ipc.CodeInvalid},
	{ErrMessageTooLarge, ipc.CodeInvalid},
	{ErrUnknownUser, ipc.CodeNotFound},
	{ErrNoIdentity, ipc.CodeNotFound},
	{ErrUserExists, ipc.CodeConflict},
	{ErrIdentitySet, ipc.CodeConflict},
	{ErrSpoolFull, ipc.CodeUnavailable},
	{ErrInvalidLimit, ipc.CodeInvalid},
}

// wireError turns a Store error into what the caller sees: a reason from
// the table, with the store's detail after it. Other errors stay local:
// ipc answers CodeInternal and logs them. The store's errors never name a
// user, so the detail may cross the socket.
func wireError(err error) error {
	for _, w := range wireErrors {
		if errors.Is(err, w.err) {
			if msg := err.Error(); msg != w.err.Error() && strings.HasPrefix(msg, w.err.Error()) {
				return ipc.Errorf(w.code, "%s", msg)
			}
			return ipc.Errorf(w.code, "%s", w.err)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ipc.Errorf(ipc.CodeUnavailable, "spoold is shutting down")
	}
	return err
}

// localError wraps a wire error in the Store error it stands for, so that
// callers check errors.Is as on the in-process store; errors.As still
// finds the *ipc.Error.
func localError(err error) error {
	var we *ipc.Error
	if !errors.As(err, &we) {
		return err
	}
	for _, w := range wireErrors {
		if we.Code == w.code && strings.HasPrefix(we.Msg, w.err.Error()) {
			return fmt.Errorf("%w: %w", w.err, err)
		}
	}
	return err
}

// Errorf wraps a sentinel with detail for Store implementations, keeping
// the sentinel's text first so that the detail survives the trip over the
// socket (wireError). The detail must not name a user.
func Errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
