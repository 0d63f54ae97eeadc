package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// LookupUID turns a user name or numeric uid (as in Privsep.MixdUser) into the uid that this
// process sees for that user: what SO_PEERCRED reports for its connections and what chown(2)
// takes. "" means this process's own uid.
//
// In the initial user namespace that is simply the user's uid. Under systemd's PrivateUsers=yes
// the daemon runs in a user namespace that maps only root and its own user; every other user
// appears as the overflow uid (/proc/sys/kernel/overflowuid, normally 65534), and LookupUID
// returns that. SECURITY: the overflow uid stands for every unmapped user, so a uid check then
// only says "some other user"; the socket file's mode and group, enforced by the kernel on the
// real ids, are what keeps other users out (see systemd/README.md).
func LookupUID(s string) (uint32, error) {
	if s == "" {
		return uint32(os.Getuid()), nil
	}
	id, err := parseOrLookup(s, "user", func(name string) (string, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
	if err != nil {
		return 0, err
	}
	return visibleID(id, "/proc/self/uid_map", "/proc/sys/kernel/overflowuid"), nil
}

// LookupGID is LookupUID for groups (Privsep.AdminGroup): a group name or numeric gid, "" meaning
// this process's own gid, translated the same way (overflowgid when unmapped).
func LookupGID(s string) (uint32, error) {
	if s == "" {
		return uint32(os.Getgid()), nil
	}
	id, err := parseOrLookup(s, "group", func(name string) (string, error) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
	if err != nil {
		return 0, err
	}
	return visibleID(id, "/proc/self/gid_map", "/proc/sys/kernel/overflowgid"), nil
}

func parseOrLookup(s, kind string, lookup func(string) (string, error)) (uint32, error) {
	text := s
	if !isDecimal(s) {
		var err error
		if text, err = lookup(s); err != nil {
			return 0, fmt.Errorf("unknown %s %q: %w", kind, s, err)
		}
	}
	id, err := strconv.ParseUint(text, 10, 32)
	if err != nil || id == 1<<32-1 { // (uid_t)-1 means "no change" to the kernel
		return 0, fmt.Errorf("%s %q: not a valid id", kind, s)
	}
	return uint32(id), nil
}

func isDecimal(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// visibleID returns id if this process's user namespace maps it (it lies in the inside range of a
// line of mapFile), else the overflow id. Without a readable map (no /proc) it returns id.
func visibleID(id uint32, mapFile, overflowFile string) uint32 {
	m, err := os.ReadFile(mapFile)
	if err != nil {
		return id
	}
	if idMapped(id, m) {
		return id
	}
	overflow := uint32(65534)
	if b, err := os.ReadFile(overflowFile); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil {
			overflow = uint32(v)
		}
	}
	return overflow
}

// idMapped reports whether id is inside one of the ranges of a uid_map/gid_map text
// ("inside outside count" per line; see user_namespaces(7)).
func idMapped(id uint32, mapText []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(mapText))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		inside, err1 := strconv.ParseUint(f[0], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if uint64(id) >= inside && uint64(id) < inside+count {
			return true
		}
	}
	return false
}
