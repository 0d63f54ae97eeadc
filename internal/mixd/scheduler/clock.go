package scheduler

import "time"

// Clock is the scheduler's time source. SystemClock is the real one; tests
// use schedtest.FakeClock, which they advance by hand.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer fires once on its channel at an absolute time. Deadlines are
// absolute rather than durations so that a fake clock advanced between
// the loop's reading the time and arming the timer cannot push the
// deadline later.
type Timer interface {
	C() <-chan time.Time
	// ResetAt arms the timer to fire at t, at once if t has passed. No
	// value from an earlier arming is received afterwards.
	ResetAt(t time.Time)
	// Stop disarms the timer; no value from an earlier arming is received
	// afterwards.
	Stop()
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a stopped time.Timer. Go 1.23 timer semantics give the
// guarantees Timer asks for: Reset and Stop discard stale values.
func (SystemClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return systemTimer{t}
}

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time  { return s.t.C }
func (s systemTimer) ResetAt(at time.Time) { s.t.Reset(time.Until(at)) }
func (s systemTimer) Stop()                { s.t.Stop() }
