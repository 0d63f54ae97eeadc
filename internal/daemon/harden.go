package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden applies the process-wide settings every daemon wants before it touches a key, a socket
// or a file:
//
//   - umask 0077: files and sockets are created private; ListenUnix and key files then widen
//     permissions explicitly.
//   - prctl(PR_SET_DUMPABLE, 0): no core dumps, and /proc/PID/{mem,environ,maps} and ptrace are
//     closed to other processes of the same uid (systemd does not set this itself).
//   - RLIMIT_CORE 0 (soft and hard): no core file even if dumpable were set again.
//
// The limit is set with prlimit64, not setrlimit: the units' SystemCallFilter=~@resources blocks
// setrlimit but not prlimit64, which is in @default.
func Harden() error {
	unix.Umask(0o077)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("harden: prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	if err := unix.Prlimit(0, unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}, nil); err != nil {
		return fmt.Errorf("harden: prlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}
