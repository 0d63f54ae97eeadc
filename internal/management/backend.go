package management

import (
	"context"
	"errors"

	"github.com/splitmix/splitmix/internal/keys"
)

// UserIdentityKeySize is the size of a user's identity public key as the
// management socket takes it (SET_USER_IDENTITY) and shows it
// (USER_IDENTITY): 32 bytes, written in hex or base64.
const UserIdentityKeySize = 32

// ErrNotAvailable is returned (possibly wrapped) by a Backend method for a
// command this node does not offer, e.g. user commands on a mix, which has
// no users. The server answers 502. See docs/management.md §3.
var ErrNotAvailable = errors.New("command not available on this node")

// Backend is what the management socket controls: mixd implements it. The
// server has already checked every argument's syntax (user names, keys,
// numbers, capabilities) before it calls a method; the Backend checks what
// the request means (does the user exist, is the capability configured).
//
// An error wrapping ErrNotAvailable is answered with 502; any other error
// with 554 and the error's text, which the operator sees, so it must be a
// plain human sentence (it is flattened to one line). Methods are called
// concurrently from several connections and must be safe for that. ctx is
// cancelled when the command's time limit expires or the server closes.
//
// See docs/management.md §4 for the command each method serves.
type Backend interface {
	// AddUser creates user with link key key (ADD_USER). Adding a user
	// that exists is an error.
	AddUser(ctx context.Context, user string, key *keys.LinkPublicKey) error
	// UpdateUser replaces the link key of an existing user (UPDATE_USER).
	UpdateUser(ctx context.Context, user string, key *keys.LinkPublicKey) error
	// RemoveUser deletes an existing user and its spool (REMOVE_USER).
	RemoveUser(ctx context.Context, user string) error
	// SetUserIdentity sets the identity key (UserIdentityKeySize bytes) of
	// an existing user (SET_USER_IDENTITY).
	SetUserIdentity(ctx context.Context, user string, key []byte) error
	// RemoveUserIdentity clears the identity key of an existing user
	// (REMOVE_USER_IDENTITY).
	RemoveUserIdentity(ctx context.Context, user string) error
	// UserIdentity returns the identity key of an existing user
	// (USER_IDENTITY); a user without one is an error.
	UserIdentity(ctx context.Context, user string) ([]byte, error)
	// SetSendRate sets the client rate limit in packets per minute; 0
	// turns rate limiting off (SEND_RATE).
	SetSendRate(ctx context.Context, perMinute uint64) error
	// SetSendBurst sets the client rate limiter's burst; 0 turns rate
	// limiting off (SEND_BURST).
	SetSendBurst(ctx context.Context, n uint64) error
	// StartKaetzchen starts the configured Kaetzchen service with this
	// capability (START_KAETZCHEN).
	StartKaetzchen(ctx context.Context, capability string) error
	// StopKaetzchen stops it (STOP_KAETZCHEN).
	StopKaetzchen(ctx context.Context, capability string) error
	// Shutdown starts the graceful shutdown of the daemon (SHUTDOWN). The
	// server calls it at most once, on a goroutine of its own, after the
	// caller has had its reply; it may therefore call Server.Close.
	Shutdown()
	// Stats returns the node's counters for STATS. It should not block
	// for long: it is answered while the operator waits.
	Stats(ctx context.Context) Stats
}

// Stats is the node's state as STATS shows it: ordered sections, each an
// ordered list of key/value lines, e.g. section "drops" with a line per
// drop reason, "queues", "links", "epoch". The server adds a section
// "management" with its own counters. See docs/management.md §4.11.
type Stats struct {
	Sections []*StatsSection
}

// StatsSection is one named group of lines. The name and keys should be
// single words; the server replaces whitespace in them with '_' and flattens
// values to one line.
type StatsSection struct {
	Name  string
	Lines []StatsLine
}

// StatsLine is one key and its value.
type StatsLine struct {
	Key   string
	Value string
}

// Add appends a section and returns it for filling in.
func (s *Stats) Add(name string) *StatsSection {
	sec := &StatsSection{Name: name}
	s.Sections = append(s.Sections, sec)
	return sec
}

// Set appends a line to the section and returns the section, so calls chain.
func (sec *StatsSection) Set(key, value string) *StatsSection {
	sec.Lines = append(sec.Lines, StatsLine{Key: key, Value: value})
	return sec
}
