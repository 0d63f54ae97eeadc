package schedtest

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
)

// Start is the fake clock's initial reading in the scheduler suite.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// waitTimeout bounds every wait on the scheduler's goroutine in real time.
const waitTimeout = 10 * time.Second

// Dispatched is one packet handed to Config.Dispatch, with the wake-up
// round it was dispatched in.
type Dispatched struct {
	Item   scheduler.Item
	Wakeup uint64
}

// Dropped is one packet reported to Config.OnDrop.
type Dropped struct {
	Item   scheduler.Item
	Reason scheduler.DropReason
}

// Harness runs a Scheduler on a FakeClock and records what it dispatches
// and drops on buffered channels.
type Harness struct {
	T     testing.TB
	Clock *FakeClock
	Queue scheduler.Queue
	Sched *scheduler.Scheduler
	Out   chan Dispatched
	Drops chan Dropped
}

// NewHarness starts a scheduler over q. cfg's Queue, Clock, Dispatch and
// OnDrop are filled in; MaxBurst defaults to 16.
func NewHarness(tb testing.TB, q scheduler.Queue, cfg scheduler.Config) *Harness {
	tb.Helper()
	h := &Harness{
		T:     tb,
		Clock: NewFakeClock(Start),
		Queue: q,
		Out:   make(chan Dispatched, 10_000),
		Drops: make(chan Dropped, 10_000),
	}
	var sched *scheduler.Scheduler
	var ready sync.WaitGroup
	ready.Add(1)
	cfg.Queue = q
	cfg.Clock = h.Clock
	cfg.Dispatch = func(it scheduler.Item) {
		ready.Wait()
		h.Out <- Dispatched{Item: it, Wakeup: sched.Stats().Wakeups}
	}
	cfg.OnDrop = func(it scheduler.Item, r scheduler.DropReason) { h.Drops <- Dropped{it, r} }
	if cfg.MaxBurst == 0 {
		cfg.MaxBurst = 16
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		tb.Fatalf("scheduler.New: %v", err)
	}
	sched = s
	ready.Done()
	h.Sched = s
	tb.Cleanup(func() { _ = s.Close() })
	return h
}

// At returns the Unix-nanosecond time d after Start.
func At(d time.Duration) int64 { return Start.Add(d).UnixNano() }

// Push pushes it and fails the test on error.
func (h *Harness) Push(it scheduler.Item) {
	h.T.Helper()
	if err := h.Sched.Push(it); err != nil {
		h.T.Fatalf("Push: %v", err)
	}
}

// Next returns the next dispatched packet, failing the test after
// waitTimeout.
func (h *Harness) Next() Dispatched {
	h.T.Helper()
	select {
	case d := <-h.Out:
		return d
	case <-time.After(waitTimeout):
		h.T.Fatalf("nothing dispatched within %v; stats %+v", waitTimeout, h.Sched.Stats())
		return Dispatched{}
	}
}

// NextDrop returns the next dropped packet, failing the test after
// waitTimeout.
func (h *Harness) NextDrop() Dropped {
	h.T.Helper()
	select {
	case d := <-h.Drops:
		return d
	case <-time.After(waitTimeout):
		h.T.Fatalf("nothing dropped within %v; stats %+v", waitTimeout, h.Sched.Stats())
		return Dropped{}
	}
}

// RunSchedulerSuite runs the scheduler behaviour tests over queues from
// newQueue.
func RunSchedulerSuite(t *testing.T, newQueue NewQueue) {
	t.Run("DispatchInTimeOrder", func(t *testing.T) { testSchedOrder(t, newQueue) })
	t.Run("MaxBurstPerWakeup", func(t *testing.T) { testSchedMaxBurst(t, newQueue) })
	t.Run("TooLateDropped", func(t *testing.T) { testSchedTooLate(t, newQueue) })
	t.Run("EarlierPushWakesLoop", func(t *testing.T) { testSchedEarlierWakes(t, newQueue) })
	t.Run("QueueFullCounted", func(t *testing.T) { testSchedQueueFull(t, newQueue) })
	t.Run("TooFarRefused", func(t *testing.T) { testSchedTooFar(t, newQueue) })
	t.Run("CloseAndDrain", func(t *testing.T) { testSchedCloseDrain(t, newQueue) })
	t.Run("DrainDiscardCounts", func(t *testing.T) { testSchedDrainDiscard(t, newQueue) })
	t.Run("ConcurrentPush", func(t *testing.T) { testSchedConcurrent(t, newQueue) })
}

func testSchedOrder(t *testing.T, newQueue NewQueue) {
	h := NewHarness(t, newQueue(t, 1000, Seed(20)), scheduler.Config{MaxBurst: 5, Slack: time.Hour})
	r := rand.New(rand.NewPCG(20, 20))
	const n = 200
	first := int64(1<<63 - 1)
	for i := range n {
		at := At(time.Second + time.Duration(r.Int64N(int64(time.Second))))
		first = min(first, at)
		h.Push(testItem(at, i))
	}
	if st := h.Sched.Stats(); st.Queued != n || st.Earliest.UnixNano() != first || st.Capacity != 1000 {
		t.Fatalf("stats before dispatch: %+v, want %d queued, earliest %d", st, n, first)
	}
	h.Clock.WaitArmed(t, time.Unix(0, first), waitTimeout)
	if len(h.Out) != 0 {
		t.Fatal("dispatched before anything was due")
	}
	h.Clock.Advance(2 * time.Second)
	prev := int64(-1 << 63)
	for range n {
		d := h.Next()
		if d.Item.DispatchAt < prev {
			t.Fatalf("dispatched %d after %d", d.Item.DispatchAt, prev)
		}
		checkSame(t, d.Item, testItem(d.Item.DispatchAt, int(d.Item.Meta)))
		prev = d.Item.DispatchAt
	}
	if st := h.Sched.Stats(); st.Dispatched != n || st.Queued != 0 || !st.Earliest.IsZero() || st.TotalDropped() != 0 {
		t.Fatalf("stats after dispatch: %+v", st)
	}
}

func testSchedMaxBurst(t *testing.T, newQueue NewQueue) {
	const burst, n = 3, 10
	h := NewHarness(t, newQueue(t, 100, Seed(21)), scheduler.Config{MaxBurst: burst, Slack: time.Second})
	for i := range n {
		h.Push(testItem(At(time.Second), i))
	}
	h.Clock.WaitArmed(t, Start.Add(time.Second), waitTimeout)
	h.Clock.Advance(time.Second)
	perWakeup := map[uint64]int{}
	for i := range n {
		d := h.Next()
		if d.Item.Meta != uint64(i) {
			t.Fatalf("equal dispatch times left out of push order: got %d at position %d", d.Item.Meta, i)
		}
		perWakeup[d.Wakeup]++
	}
	for w, c := range perWakeup {
		if c > burst {
			t.Fatalf("wake-up %d dispatched %d packets, MaxBurst is %d", w, c, burst)
		}
	}
	if len(perWakeup) != (n+burst-1)/burst {
		t.Fatalf("%d wake-ups for %d packets at burst %d: %v", len(perWakeup), n, burst, perWakeup)
	}
}

func testSchedTooLate(t *testing.T, newQueue NewQueue) {
	const slack = 100 * time.Millisecond
	h := NewHarness(t, newQueue(t, 100, Seed(22)), scheduler.Config{Slack: slack})
	late := testItem(At(time.Second), 1)
	onTime := testItem(At(2*time.Second), 2)
	edge := testItem(At(2*time.Second-slack), 3) // exactly Slack late: still sent
	h.Push(onTime)
	h.Push(late)
	h.Push(edge)
	h.Clock.WaitArmed(t, Start.Add(time.Second), waitTimeout)
	h.Clock.Advance(2 * time.Second) // late is now 1s late
	d := h.NextDrop()
	if d.Reason != scheduler.DropTooLate {
		t.Fatalf("drop reason %v, want %v", d.Reason, scheduler.DropTooLate)
	}
	checkSame(t, d.Item, late)
	checkSame(t, h.Next().Item, edge)
	checkSame(t, h.Next().Item, onTime)
	st := h.Sched.Stats()
	if st.Dropped[scheduler.DropTooLate] != 1 || st.Dispatched != 2 || st.TotalDropped() != 1 {
		t.Fatalf("stats %+v: want 1 too-late drop and 2 dispatched", st)
	}
}

func testSchedEarlierWakes(t *testing.T, newQueue NewQueue) {
	h := NewHarness(t, newQueue(t, 100, Seed(23)), scheduler.Config{Slack: time.Second})
	later := testItem(At(10*time.Second), 1)
	earlier := testItem(At(time.Second), 2)
	h.Push(later)
	h.Clock.WaitArmed(t, Start.Add(10*time.Second), waitTimeout)
	h.Push(earlier)
	// Without the wake-up the loop would sleep on the 10 s timer and this
	// would time out.
	h.Clock.WaitArmed(t, Start.Add(time.Second), waitTimeout)
	h.Clock.Advance(time.Second)
	checkSame(t, h.Next().Item, earlier)
	if st := h.Sched.Stats(); st.Queued != 1 || st.Earliest.UnixNano() != later.DispatchAt {
		t.Fatalf("stats %+v: the later packet should still be queued", st)
	}
	h.Clock.WaitArmed(t, Start.Add(10*time.Second), waitTimeout)
	h.Clock.Advance(9 * time.Second)
	checkSame(t, h.Next().Item, later)
}

func testSchedQueueFull(t *testing.T, newQueue NewQueue) {
	const capacity, n = 4, 10
	h := NewHarness(t, newQueue(t, capacity, Seed(24)), scheduler.Config{})
	for i := range n {
		h.Push(testItem(At(time.Hour+time.Duration(i)), i))
		if q := h.Sched.Stats().Queued; q > capacity {
			t.Fatalf("queued %d > capacity %d", q, capacity)
		}
	}
	st := h.Sched.Stats()
	if st.Dropped[scheduler.DropQueueFull] != n-capacity || st.Queued != capacity {
		t.Fatalf("stats %+v: want %d queue-full drops, %d queued", st, n-capacity, capacity)
	}
	for range n - capacity {
		if d := h.NextDrop(); d.Reason != scheduler.DropQueueFull {
			t.Fatalf("drop reason %v", d.Reason)
		}
	}
}

func testSchedTooFar(t *testing.T, newQueue NewQueue) {
	h := NewHarness(t, newQueue(t, 10, Seed(25)), scheduler.Config{MaxDelay: time.Minute})
	if err := h.Sched.Push(testItem(At(time.Minute+1), 1)); !errors.Is(err, scheduler.ErrTooFar) {
		t.Fatalf("Push beyond MaxDelay: %v, want ErrTooFar", err)
	}
	h.Push(testItem(At(time.Minute), 2))
	st := h.Sched.Stats()
	if st.Dropped[scheduler.DropTooFar] != 1 || st.Queued != 1 {
		t.Fatalf("stats %+v: want one too-far drop and one queued", st)
	}
	if d := h.NextDrop(); d.Reason != scheduler.DropTooFar || d.Item.Meta != 1 {
		t.Fatalf("drop %+v", d)
	}
}

func testSchedCloseDrain(t *testing.T, newQueue NewQueue) {
	h := NewHarness(t, newQueue(t, 100, Seed(26)), scheduler.Config{})
	for i := range 5 {
		h.Push(testItem(At(time.Duration(5-i)*time.Second), i))
	}
	if _, err := h.Sched.Drain(nil); !errors.Is(err, scheduler.ErrRunning) {
		t.Fatalf("Drain while running: %v, want ErrRunning", err)
	}
	if err := h.Sched.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Sched.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := h.Sched.Push(testItem(At(time.Second), 9)); !errors.Is(err, scheduler.ErrClosed) {
		t.Fatalf("Push after Close: %v, want ErrClosed", err)
	}
	if d := h.NextDrop(); d.Reason != scheduler.DropClosed || d.Item.Meta != 9 {
		t.Fatalf("drop %+v, want packet 9 dropped as closed", d)
	}
	var drained []scheduler.Item
	n, err := h.Sched.Drain(func(it scheduler.Item) { drained = append(drained, it) })
	if err != nil || n != 5 || len(drained) != 5 {
		t.Fatalf("Drain: n=%d err=%v drained=%d, want 5", n, err, len(drained))
	}
	for i, it := range drained {
		checkSame(t, it, testItem(At(time.Duration(i+1)*time.Second), 4-i))
	}
	if n, err := h.Sched.Drain(nil); n != 0 || err != nil {
		t.Fatalf("second Drain: n=%d err=%v", n, err)
	}
	st := h.Sched.Stats()
	if st.Dropped[scheduler.DropClosed] != 1 || st.Queued != 0 || st.Dispatched != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func testSchedDrainDiscard(t *testing.T, newQueue NewQueue) {
	h := NewHarness(t, newQueue(t, 100, Seed(27)), scheduler.Config{})
	for i := range 3 {
		h.Push(testItem(At(time.Hour), i))
	}
	if err := h.Sched.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := h.Sched.Drain(nil); n != 3 || err != nil {
		t.Fatalf("Drain(nil): n=%d err=%v", n, err)
	}
	if st := h.Sched.Stats(); st.Dropped[scheduler.DropClosed] != 3 || st.Queued != 0 {
		t.Fatalf("stats %+v: want 3 closed drops", st)
	}
}

// testSchedConcurrent pushes from many goroutines that also advance the
// clock, so pushes, wake-ups and dispatch rounds interleave; run it
// under -race. Every packet must come out exactly once, dispatched or
// dropped.
func testSchedConcurrent(t *testing.T, newQueue NewQueue) {
	const workers, each, capacity = 8, 250, 1500
	h := NewHarness(t, newQueue(t, capacity, Seed(28)), scheduler.Config{MaxBurst: 7, Slack: time.Hour})
	var pushers sync.WaitGroup
	for w := range workers {
		pushers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 28))
			for i := range each {
				at := h.Clock.Now().Add(time.Duration(r.Int64N(int64(50 * time.Millisecond))))
				if err := h.Sched.Push(testItem(at.UnixNano(), w*each+i)); err != nil {
					t.Error(err)
					return
				}
				// Move time on as we go, so the loop's timers fire
				// and dispatch rounds interleave with the pushes.
				if i%10 == 9 {
					h.Clock.Advance(time.Millisecond)
				}
			}
		})
	}
	pushers.Wait()
	h.Clock.Advance(time.Second)

	full := h.Sched.Stats().Dropped[scheduler.DropQueueFull]
	want := workers*each - int(full)
	seen := make(map[uint64]bool, workers*each)
	for range want {
		d := h.Next()
		if seen[d.Item.Meta] {
			t.Fatalf("packet %d dispatched twice", d.Item.Meta)
		}
		seen[d.Item.Meta] = true
	}
	for range full {
		d := h.NextDrop()
		if seen[d.Item.Meta] {
			t.Fatalf("packet %d both dispatched and dropped", d.Item.Meta)
		}
		seen[d.Item.Meta] = true
	}
	st := h.Sched.Stats()
	if len(seen) != workers*each || st.Queued != 0 || st.Dispatched != uint64(want) {
		t.Fatalf("saw %d of %d packets; stats %+v", len(seen), workers*each, st)
	}
}
