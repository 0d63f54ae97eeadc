package scheduler_test

import (
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
)

func TestNewRejectsBadConfig(t *testing.T) {
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: 1})
	if err != nil {
		t.Fatal(err)
	}
	dispatch := func(scheduler.Item) {}
	for name, cfg := range map[string]scheduler.Config{
		"no queue":       {Dispatch: dispatch, MaxBurst: 1},
		"no dispatch":    {Queue: q, MaxBurst: 1},
		"zero burst":     {Queue: q, Dispatch: dispatch},
		"negative slack": {Queue: q, Dispatch: dispatch, MaxBurst: 1, Slack: -1},
		"negative delay": {Queue: q, Dispatch: dispatch, MaxBurst: 1, MaxDelay: -1},
	} {
		if s, err := scheduler.New(cfg); err == nil {
			_ = s.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSystemClock runs the scheduler on the real clock: a packet due 30 ms
// from now is dispatched, and not before its time.
func TestSystemClock(t *testing.T) {
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan time.Time, 1)
	s, err := scheduler.New(scheduler.Config{
		Queue: q, MaxBurst: 4, Slack: time.Minute,
		Dispatch: func(scheduler.Item) { out <- time.Now() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	due := time.Now().Add(30 * time.Millisecond)
	if err := s.Push(scheduler.Item{DispatchAt: due.UnixNano(), Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-out:
		if got.Before(due) {
			t.Fatalf("dispatched at %v, %v before it was due", got, due.Sub(got))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("packet not dispatched within 10 s")
	}
}

func TestDropReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := range scheduler.NumDropReasons {
		name := r.String()
		if name == "unknown" || seen[name] {
			t.Errorf("reason %d has name %q", r, name)
		}
		seen[name] = true
	}
	if scheduler.NumDropReasons.String() != "unknown" || scheduler.DropReason(-1).String() != "unknown" {
		t.Error("out-of-range reasons must be named unknown")
	}
}
