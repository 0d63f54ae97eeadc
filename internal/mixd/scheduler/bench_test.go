package scheduler_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
)

// BenchmarkPushPop measures one push and one pop of a 2 KiB packet through
// the memory queue at a steady depth of 1000 packets, popping in bursts of
// 16 (SchedulerMaxBurst's default). Compare BenchmarkPushPopDisk in
// package diskqueue.
func BenchmarkPushPop(b *testing.B) {
	const depth, burst = 1000, 16
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 2048)
	buf := make([]scheduler.Item, burst)
	var at int64
	push := func() {
		at++
		if _, _, err := q.Push(scheduler.Item{DispatchAt: at, Payload: payload, Meta: 1}); err != nil {
			b.Fatal(err)
		}
	}
	for range depth {
		push()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		push()
		if i%burst == burst-1 {
			if _, err := q.PopDue(at-depth, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPushFull measures a push into a full memory queue of 100 000
// packets: every push is a random drop.
func BenchmarkPushFull(b *testing.B) {
	const capacity = 100_000
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: capacity})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 2048)
	for i := range capacity {
		if _, _, err := q.Push(scheduler.Item{DispatchAt: int64(i), Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, dropped, err := q.Push(scheduler.Item{DispatchAt: int64(i % capacity), Payload: payload}); err != nil || !dropped {
			b.Fatalf("dropped=%v err=%v", dropped, err)
		}
	}
}

// BenchmarkSchedulerParallelPush measures Scheduler.Push from GOMAXPROCS
// goroutines at once, as NumSphinxWorkers crypto workers call it, while
// the run loop dispatches (real clock, packets due at once).
func BenchmarkSchedulerParallelPush(b *testing.B) {
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var dispatched atomic.Int64
	s, err := scheduler.New(scheduler.Config{
		Queue: q, MaxBurst: 16, Slack: time.Hour,
		Dispatch: func(scheduler.Item) { dispatched.Add(1) },
	})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Push(scheduler.Item{DispatchAt: time.Now().UnixNano(), Payload: payload}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// Whatever the loop has not dispatched yet is discarded, so the next
	// run starts clean.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Drain(nil); err != nil {
		b.Fatal(err)
	}
}
