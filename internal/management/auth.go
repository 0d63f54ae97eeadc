package management

import (
	"fmt"
	"slices"
)

// peer is what the kernel recorded about a caller when it connected
// (SO_PEERCRED, SO_PEERGROUPS): local process identities, not mix users,
// so they may be logged at any level.
type peer struct {
	pid    int32
	uid    uint32
	gid    uint32   // effective gid
	groups []uint32 // supplementary groups
}

// policy is who may use the management socket: its owner (the daemon's
// uid) and, when set, members of the admin group, by effective or
// supplementary gid. root is not special: it connects as the owner (sudo
// -u) or as a member of the group (sudo -g). See docs/management.md §1.
type policy struct {
	ownerUID uint32
	adminGID int // < 0: no admin group
}

// admit returns nil for an allowed caller and the reason otherwise.
func (p policy) admit(c peer) error {
	if c.uid == p.ownerUID {
		return nil
	}
	if p.adminGID >= 0 {
		gid := uint32(p.adminGID)
		if c.gid == gid || slices.Contains(c.groups, gid) {
			return nil
		}
		return fmt.Errorf("uid %d is not the owner (uid %d) and not in the admin group (gid %d)", c.uid, p.ownerUID, gid)
	}
	return fmt.Errorf("uid %d is not the owner (uid %d) and no admin group is configured", c.uid, p.ownerUID)
}
