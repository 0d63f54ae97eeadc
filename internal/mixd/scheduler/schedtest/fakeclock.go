package schedtest

import (
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
)

// FakeClock is a scheduler.Clock whose time moves only when the test calls
// Advance. It is safe for concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever a timer changes
}

var _ scheduler.Clock = (*FakeClock)(nil)

// NewFakeClock returns a clock reading start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, changed: make(chan struct{})}
}

// Now implements scheduler.Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements scheduler.Clock.
func (c *FakeClock) NewTimer() scheduler.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock forward by d and fires every timer whose
// deadline has been reached.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.fireLocked()
		}
	}
	c.notifyLocked()
}

// Armed returns the deadlines of the armed timers.
func (c *FakeClock) Armed() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at []time.Time
	for _, t := range c.timers {
		if t.armed {
			at = append(at, t.at)
		}
	}
	return at
}

// WaitArmed waits until some timer is armed for exactly at, failing tb if
// that has not happened within timeout of real time.
func (c *FakeClock) WaitArmed(tb testing.TB, at time.Time, timeout time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		found := false
		for _, t := range c.timers {
			if t.armed && t.at.Equal(at) {
				found = true
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("no timer armed for %v within %v; armed: %v", at, timeout, c.Armed())
		}
	}
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

type fakeTimer struct {
	clock *FakeClock
	ch    chan time.Time // capacity 1
	at    time.Time
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) ResetAt(at time.Time) {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	t.drainLocked()
	t.at = at
	t.armed = true
	if !at.After(c.now) {
		t.fireLocked()
	}
	c.notifyLocked()
}

func (t *fakeTimer) Stop() {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	t.drainLocked()
	t.armed = false
	c.notifyLocked()
}

func (t *fakeTimer) fireLocked() {
	t.armed = false
	select {
	case t.ch <- t.clock.now:
	default:
	}
}

// drainLocked discards a value sent by an earlier arming, as Go 1.23
// timers do on Reset and Stop.
func (t *fakeTimer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}
