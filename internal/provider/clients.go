package provider

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// client is what the Provider keeps about a user while it has sessions, and
// about an ephemeral user until it is purged.
type client struct {
	// limiter is the user's token bucket, shared by its sessions so that
	// opening more sessions does not raise its rate.
	limiter *rate.Limiter
	// sessions is the number of open sessions.
	sessions int
	// lastSeen is when the last session closed (or opened), or when an
	// ephemeral user was adopted at start-up (purge.go).
	lastSeen time.Time
	// ephemeral: created by EnableEphemeralClients (by this Provider, or
	// by an earlier mixd and adopted from spoold's marks), purged when gone.
	ephemeral bool
	// purging: a purge of this ephemeral user is under way; the user may
	// not connect until it is done.
	purging bool
}

// clientTable maps user names to clients. Entries of non-ephemeral users live
// while they have sessions; ephemeral users' entries live until purged,
// and there are at most maxEphemeral of those.
type clientTable struct {
	mu           sync.Mutex
	byUser       map[string]*client
	ephemeral    int
	maxEphemeral int
}

func newClientTable(maxEphemeral int) *clientTable {
	return &clientTable{byUser: make(map[string]*client), maxEphemeral: maxEphemeral}
}

// each calls fn for every client, under the table's lock.
func (t *clientTable) each(fn func(*client)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.byUser {
		fn(c)
	}
}

// counts returns the number of clients with sessions, the sessions, and the
// ephemeral users.
func (t *clientTable) counts() (connected, sessions, ephemeral int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.byUser {
		if c.sessions > 0 {
			connected++
			sessions += c.sessions
		}
	}
	return connected, sessions, t.ephemeral
}
