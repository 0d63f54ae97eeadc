package ipc

import (
	"errors"
	"fmt"
	"slices"
)

// Cred is what the kernel says about the process at the other end of a
// connection, captured when it called connect(2). See ipc/PROTOCOL.md §9.
type Cred struct {
	PID      int32
	UID, GID uint32 // effective ids
}

// String renders the credentials for logs: local process identities, not
// mix users, so they may be logged at any level.
func (c Cred) String() string { return fmt.Sprintf("uid=%d gid=%d pid=%d", c.UID, c.GID, c.PID) }

// Peer is the authorised caller of a request, as handlers see it.
type Peer struct {
	Cred Cred
	Role Role
}

// Authorizer decides whether a caller may use a socket, and in which role.
// An error refuses the connection: the caller gets a denied hello, the
// refusal is logged at WARNING. See ipc/PROTOCOL.md §9.
type Authorizer func(Cred) (Role, error)

// AllowUIDs admits callers whose effective uid is one of uids, as role.
func AllowUIDs(role Role, uids ...uint32) Authorizer {
	uids = slices.Clone(uids)
	return func(c Cred) (Role, error) {
		if slices.Contains(uids, c.UID) {
			return role, nil
		}
		return "", fmt.Errorf("uid %d is not allowed as %s", c.UID, role)
	}
}

// AllowGIDs admits callers whose effective gid is one of gids, as role.
// SO_PEERCRED does not report supplementary groups. See ipc/PROTOCOL.md §9.
func AllowGIDs(role Role, gids ...uint32) Authorizer {
	gids = slices.Clone(gids)
	return func(c Cred) (Role, error) {
		if slices.Contains(gids, c.GID) {
			return role, nil
		}
		return "", fmt.Errorf("gid %d is not allowed as %s", c.GID, role)
	}
}

// AnyOf admits a caller with the role given by the first authorizer that
// admits it, and refuses it with all their reasons otherwise.
func AnyOf(authorizers ...Authorizer) Authorizer {
	authorizers = slices.Clone(authorizers)
	return func(c Cred) (Role, error) {
		var errs []error
		for _, a := range authorizers {
			role, err := a(c)
			if err == nil {
				return role, nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			return "", errors.New("no authorizer configured")
		}
		return "", errors.Join(errs...)
	}
}
