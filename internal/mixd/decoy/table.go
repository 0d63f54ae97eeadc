package decoy

import (
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/sphinx"
)

// DefaultMaxOutstanding bounds the loops in flight when
// Config.MaxOutstanding is zero (docs/spec/decoy.md §4.3).
const DefaultMaxOutstanding = 1024

// tokenSize is the length of the random token an echo request carries
// (docs/spec/decoy.md §3.5, client.md §9.3).
const tokenSize = 16

// loop is one loop in flight (docs/spec/decoy.md §4.1).
type loop struct {
	// keys decrypt the reply; secret, wiped by forget.
	keys sphinx.SURBKeys
	// token is what the echo must send back.
	token [tokenSize]byte
	// sent is when the loop was built; the round trip runs from here.
	sent time.Time
	// deadline is when the loop counts as lost (§4.2).
	deadline time.Time
}

// forget wipes the loop's secrets.
func (l *loop) forget() {
	clear(l.keys)
	clear(l.token[:])
}

// table is the bounded set of loops in flight, by SURB id. Safe for
// concurrent use: the sender adds, the crypto workers take, the sweep
// expires.
type table struct {
	mu    sync.Mutex
	max   int
	loops map[sphinx.SURBID]*loop
	// sent counts the loops ever added and not taken back by unsend. It
	// changes with loops, under mu, so that a reader never sees a loop
	// outstanding that is not counted sent.
	sent uint64
}

func newTable(max int) *table {
	return &table{max: max, loops: make(map[sphinx.SURBID]*loop)}
}

// full reports whether no loop can be added now.
func (t *table) full() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.loops) >= t.max
}

// add records l under id; false if the table is full or id is taken (a
// 128-bit random collision, or a bug: either way the loop is not sent).
func (t *table) add(id sphinx.SURBID, l *loop) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.loops[id]; dup || len(t.loops) >= t.max {
		return false
	}
	t.loops[id] = l
	t.sent++
	return true
}

// unsend removes the loop under id, which was never sent after all, and
// wipes it.
func (t *table) unsend(id sphinx.SURBID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.loops[id]; ok {
		delete(t.loops, id)
		l.forget()
		t.sent--
	}
}

// take removes and returns the loop under id, if any. The caller owns it
// and must forget it.
func (t *table) take(id sphinx.SURBID) (*loop, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.loops[id]
	if ok {
		delete(t.loops, id)
	}
	return l, ok
}

// expire removes, wipes and counts the loops whose deadline is before now
// (docs/spec/decoy.md §4.4).
func (t *table) expire(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, l := range t.loops {
		if l.deadline.Before(now) {
			delete(t.loops, id)
			l.forget()
			n++
		}
	}
	return n
}

// counts returns the loops sent and those in flight, together.
func (t *table) counts() (sent uint64, outstanding int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent, len(t.loops)
}

// wipe forgets every loop (at Close).
func (t *table) wipe() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, l := range t.loops {
		delete(t.loops, id)
		l.forget()
	}
}
