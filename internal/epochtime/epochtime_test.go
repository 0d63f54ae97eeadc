package epochtime

import (
	"testing"
	"time"
)

func TestAtAndStart(t *testing.T) {
	c, err := New(20 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []uint64{0, 1, 7, 1000, 52560} {
		start := c.Start(e)
		got, elapsed, till := c.At(start)
		if got != e || elapsed != 0 || till != c.Period {
			t.Errorf("At(Start(%d)) = %d, %v, %v", e, got, elapsed, till)
		}
		got, elapsed, till = c.At(start.Add(c.Period - time.Nanosecond))
		if got != e || elapsed != c.Period-time.Nanosecond || till != time.Nanosecond {
			t.Errorf("last instant of %d: %d, %v, %v", e, got, elapsed, till)
		}
	}
	if e, _, till := c.At(Genesis.Add(-time.Hour)); e != 0 || till != time.Hour {
		t.Errorf("before genesis: epoch %d till %v", e, till)
	}
}

func TestCurrentUsesInjectedClock(t *testing.T) {
	now := Genesis.Add(3*time.Second + 500*time.Millisecond)
	c := Clock{Period: time.Second, Now: func() time.Time { return now }}
	if e, elapsed, till := c.Current(); e != 3 || elapsed != 500*time.Millisecond || till != 500*time.Millisecond {
		t.Fatalf("Current() = %d, %v, %v", e, elapsed, till)
	}
}

func TestNewRejectsNonPositive(t *testing.T) {
	for _, p := range []time.Duration{0, -time.Second} {
		if _, err := New(p); err == nil {
			t.Errorf("New(%v) accepted", p)
		}
	}
}

// FreshPeriod stays within a sixth of the target, in whole seconds, and
// picks a period whose current epoch began seconds ago.
func TestFreshPeriod(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 11, 21, 19, 23, 15, 0, time.UTC),
		Genesis.Add(1234567 * time.Second),
	} {
		p := FreshPeriod(now, time.Hour)
		if p < 50*time.Minute || p > 70*time.Minute || p%time.Second != 0 {
			t.Fatalf("period %v: want about an hour, whole seconds", p)
		}
		if elapsed := now.Sub(Genesis) % p; elapsed > 30*time.Second {
			t.Fatalf("the current epoch of period %v began %v ago; want a few seconds", p, elapsed)
		}
	}
}
