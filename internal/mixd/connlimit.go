package mixd

import (
	"golang.org/x/sys/unix"
)

// Bounds of the incoming connection limit derived from the open-file limit
// when Debug.MaxIncomingConnections is 0.
const (
	// fdReserve is kept for what mixd opens besides incoming connections:
	// outgoing links, the IPC and management sockets, the replay filter
	// and scheduler files, the log.
	fdReserve = 512
	// maxDerivedConns caps the derived limit: past it an operator should
	// say what the node is meant to carry (about 22 KB and one goroutine
	// per idle client, docs/bench/capacity.md).
	maxDerivedConns = 1 << 16
	// minDerivedConns is the floor under a tiny open-file limit.
	minDerivedConns = 64
)

// incomingConnLimit is the bound on incoming connections: the configured
// value, or else what the open-file limit leaves after fdReserve (Go's
// runtime has already raised the soft limit to the hard one), so that a
// Provider refuses connections cleanly, counted, instead of failing
// accept(2) with EMFILE.
func incomingConnLimit(configured int) int {
	if configured > 0 {
		return configured
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return minDerivedConns
	}
	return derivedConnLimit(rl.Cur)
}

// derivedConnLimit maps an open-file limit to a connection limit.
func derivedConnLimit(nofile uint64) int {
	if nofile == unix.RLIM_INFINITY || nofile > maxDerivedConns+fdReserve {
		return maxDerivedConns
	}
	if nofile < minDerivedConns+fdReserve {
		return minDerivedConns
	}
	return int(nofile) - fdReserve
}
