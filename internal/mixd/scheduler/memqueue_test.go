package scheduler_test

import (
	"math"
	"testing"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/mixd/scheduler/schedtest"
)

func newMemQueue(t *testing.T, capacity int, seed *[32]byte) scheduler.Queue {
	t.Helper()
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: capacity, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestMemQueueConformance(t *testing.T) { schedtest.RunQueueSuite(t, newMemQueue) }

func TestSchedulerOverMemQueue(t *testing.T) { schedtest.RunSchedulerSuite(t, newMemQueue) }

func TestNewMemQueueRejectsBadCapacity(t *testing.T) {
	for _, c := range []int{0, -1, math.MinInt} {
		if _, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: c}); err == nil {
			t.Errorf("capacity %d accepted", c)
		}
	}
}

// TestMemQueueDoesNotAllocate pins the hot-path promise: once the heap has
// its working size, pushing (including a random drop) and popping allocate
// nothing per packet.
func TestMemQueueDoesNotAllocate(t *testing.T) {
	q, err := scheduler.NewMemQueue(scheduler.MemOptions{Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 2048)
	buf := make([]scheduler.Item, 16)
	var at int64
	warm := func() {
		for range 80 { // more than Capacity: exercises random drop too
			at++
			if _, _, err := q.Push(scheduler.Item{DispatchAt: at % 97, Payload: payload, Meta: 1}); err != nil {
				t.Fatal(err)
			}
		}
		for {
			n, err := q.PopDue(math.MaxInt64, buf)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	warm()
	if allocs := testing.AllocsPerRun(50, warm); allocs != 0 {
		t.Fatalf("%.1f allocations per 80 pushes and pops, want 0", allocs)
	}
}
