package spoolproto

import (
	"bytes"
	"fmt"
)

// MaxListEphemeral is the most names one ListEphemeral returns, and the
// largest limit it accepts. A name is at most MaxUserSize bytes, 34 with its
// CBOR header, so a full page is under 18 KiB: well inside MaxFrame with
// room for the envelope. See PROTOCOL.md §3.8.
const MaxListEphemeral = 512

// AddEphemeralIfAbsent's request is a UserKeyRequest and its reply an
// AddUserIfAbsentReply (users.go): the same bodies as AddUserIfAbsent, since
// it differs only in the mark it records with a user it adds.

// ListEphemeralRequest asks for a page of the ephemeral users' names.
// See PROTOCOL.md §3.8.
type ListEphemeralRequest struct {
	// After is where the page starts: names strictly greater, byte by
	// byte. Absent or empty: from the first. At most MaxUserSize bytes.
	After []byte `cbor:"A,omitempty"`
	// Limit is the most names wanted, 1 to MaxListEphemeral.
	Limit uint64 `cbor:"N"`
}

// ListEphemeralReply answers ListEphemeral. See PROTOCOL.md §3.8.
type ListEphemeralReply struct {
	Users [][]byte `cbor:"U"` // ascending, each > After, at most Limit
}

// CheckListEphemeral checks ListEphemeral's arguments as every Store must
// (PROTOCOL.md §3.8): after of at most MaxUserSize bytes (ErrInvalidUser),
// limit from 1 to MaxListEphemeral (ErrInvalidLimit). after is a position,
// not a name: it is not normalised.
func CheckListEphemeral(after []byte, limit int) error {
	if len(after) > MaxUserSize {
		return Errorf(ErrInvalidUser, "list position of %d bytes, at most %d", len(after), MaxUserSize)
	}
	if limit < 1 || limit > MaxListEphemeral {
		return Errorf(ErrInvalidLimit, "%d, want 1 to %d", limit, MaxListEphemeral)
	}
	return nil
}

// users checks a reply against its request: at most limit names, each a
// normalised name (PROTOCOL.md §1.1), strictly ascending and after after.
// Anything else means spoold is not behaving, and mixd must not page on
// from a position it cannot trust.
func (rep *ListEphemeralReply) users(after []byte, limit int) ([][]byte, error) {
	if len(rep.Users) > limit {
		return nil, fmt.Errorf("%w: %d names for a limit of %d", errReply, len(rep.Users), limit)
	}
	prev := after
	for i, u := range rep.Users {
		if n, err := NormalizeUser(u); err != nil || len(n) != len(u) {
			return nil, fmt.Errorf("%w: name %d is not a user name", errReply, i)
		}
		if bytes.Compare(u, prev) <= 0 {
			return nil, fmt.Errorf("%w: name %d out of order", errReply, i)
		}
		prev = u
	}
	return rep.Users, nil
}
