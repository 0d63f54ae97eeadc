package scheduler

import (
	"math"
	"time"
)

// run is the scheduler's one goroutine. Each turn it looks at the earliest
// queued packet: if it is due, it dispatches one round of at most MaxBurst
// due packets and looks again; otherwise it sleeps until that packet's time,
// an earlier push (wake), or Close.
//
// Waking on an earlier push without a lock between Push and the loop:
// before looking at the queue the loop sets armed to MaxInt64, so every
// push from then on signals wake; after looking, it sets armed to the time
// its timer will fire, so only earlier pushes signal. A push that lands
// between the look and the store has therefore signalled, and the loop
// looks again; the cost is an occasional spurious wake-up, never a missed
// one.
func (s *Scheduler) run() {
	defer close(s.done)
	timer := s.clock.NewTimer()
	defer timer.Stop()
	for {
		s.armed.Store(math.MaxInt64)
		at, ok := s.cfg.Queue.Earliest()
		now := s.clock.Now().UnixNano()
		if ok && at <= now {
			if err := s.dispatchRound(now); err != nil {
				s.storageErrs.Add(1)
				if s.cfg.Log != nil {
					s.cfg.Log.Warning("scheduler: cannot pop from queue; retrying", "err", err, "retry", errorBackoff)
				}
				timer.ResetAt(time.Unix(0, now).Add(errorBackoff))
				select {
				case <-s.stop:
					return
				case <-timer.C():
				}
				continue
			}
			// Between rounds, let Close in; pushers run meanwhile
			// because they never wait for this goroutine.
			select {
			case <-s.stop:
				return
			default:
			}
			continue
		}
		if ok {
			s.armed.Store(at)
			timer.ResetAt(time.Unix(0, at))
		} else {
			timer.Stop()
		}
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C():
		}
	}
}

// dispatchRound pops up to MaxBurst due packets and sends or drops each:
// one wake-up in the sense of Debug.SchedulerMaxBurst.
func (s *Scheduler) dispatchRound(now int64) error {
	n, err := s.cfg.Queue.PopDue(now, s.burst)
	if n > 0 {
		s.wakeups.Add(1)
	}
	// A packet due before deadline is more than Slack late
	// (Debug.SchedulerSlack). Written as a comparison against now-Slack so
	// that a dispatch time near MinInt64 cannot overflow into "on time".
	deadline := now - int64(s.cfg.Slack)
	for i := range n {
		it := s.burst[i]
		s.burst[i] = Item{} // do not keep the packet reachable
		if it.DispatchAt < deadline {
			s.drop(it, DropTooLate)
			continue
		}
		s.dispatched.Add(1)
		s.cfg.Dispatch(it)
	}
	return err
}
