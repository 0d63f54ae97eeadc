package schedtest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
)

// NewQueue opens a fresh, empty queue with the given capacity and random-
// drop seed. It registers its own cleanup (closing the queue is harmless
// after a test already did).
type NewQueue func(t *testing.T, capacity int, seed *[32]byte) scheduler.Queue

// Seed returns a fixed random-drop seed derived from n.
func Seed(n byte) *[32]byte {
	var s [32]byte
	s[0] = n
	s[31] = 0x5c
	return &s
}

// testItem returns an item whose payload and Meta both name it by i.
func testItem(at int64, i int) scheduler.Item {
	return scheduler.Item{DispatchAt: at, Payload: fmt.Appendf(nil, "packet-%d", i), Meta: uint64(i)}
}

// RunQueueSuite runs the queue conformance tests against newQueue.
func RunQueueSuite(t *testing.T, newQueue NewQueue) {
	t.Run("OrderedByDispatchTime", func(t *testing.T) { testQueueOrder(t, newQueue) })
	t.Run("ExtremeTimes", func(t *testing.T) { testQueueExtremeTimes(t, newQueue) })
	t.Run("PopDueRespectsNowAndBuffer", func(t *testing.T) { testQueuePopDue(t, newQueue) })
	t.Run("BoundNeverExceeded", func(t *testing.T) { testQueueBound(t, newQueue) })
	t.Run("RandomDropIsUniform", func(t *testing.T) { testQueueUniformDrop(t, newQueue) })
	t.Run("ConcurrentPush", func(t *testing.T) { testQueueConcurrentPush(t, newQueue) })
	t.Run("Close", func(t *testing.T) { testQueueClose(t, newQueue) })
}

// popAll pops everything, checking that each round respects the buffer.
func popAll(t *testing.T, q scheduler.Queue) []scheduler.Item {
	t.Helper()
	var all []scheduler.Item
	buf := make([]scheduler.Item, 7)
	for {
		n, err := q.PopDue(math.MaxInt64, buf)
		if err != nil {
			t.Fatalf("PopDue: %v", err)
		}
		if n > len(buf) {
			t.Fatalf("PopDue returned %d items into a buffer of %d", n, len(buf))
		}
		if n == 0 {
			return all
		}
		all = append(all, buf[:n]...)
	}
}

func checkSame(t *testing.T, got, want scheduler.Item) {
	t.Helper()
	if got.DispatchAt != want.DispatchAt || got.Meta != want.Meta || !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("got item {%d %q %d}, want {%d %q %d}",
			got.DispatchAt, got.Payload, got.Meta, want.DispatchAt, want.Payload, want.Meta)
	}
}

func testQueueOrder(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 1000, Seed(1))
	r := rand.New(rand.NewPCG(7, 7))
	var want []scheduler.Item
	for i := range 500 {
		// Few distinct times, so ties are common and must keep push order.
		it := testItem(1_000_000+r.Int64N(60), i)
		if i%50 == 0 {
			it.Payload = nil // empty packets are packets too
		}
		want = append(want, it)
		if _, dropped, err := q.Push(it); err != nil || dropped {
			t.Fatalf("push %d: dropped=%v err=%v", i, dropped, err)
		}
	}
	if q.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", q.Len(), len(want))
	}
	slices.SortStableFunc(want, func(a, b scheduler.Item) int {
		switch {
		case a.DispatchAt < b.DispatchAt:
			return -1
		case a.DispatchAt > b.DispatchAt:
			return 1
		}
		return 0
	})
	if at, ok := q.Earliest(); !ok || at != want[0].DispatchAt {
		t.Fatalf("Earliest = %d,%v, want %d", at, ok, want[0].DispatchAt)
	}
	got := popAll(t, q)
	if len(got) != len(want) {
		t.Fatalf("popped %d items, want %d", len(got), len(want))
	}
	for i := range want {
		checkSame(t, got[i], want[i])
	}
	if _, ok := q.Earliest(); ok || q.Len() != 0 {
		t.Fatalf("queue not empty after popping everything: Len=%d", q.Len())
	}
}

func testQueueExtremeTimes(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 10, Seed(2))
	times := []int64{math.MaxInt64, 0, -1, math.MinInt64, 1, math.MinInt64 + 1, math.MaxInt64 - 1}
	for i, at := range times {
		if _, _, err := q.Push(testItem(at, i)); err != nil {
			t.Fatal(err)
		}
	}
	got := popAll(t, q)
	if len(got) != len(times) {
		t.Fatalf("popped %d, want %d", len(got), len(times))
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	for i := range sorted {
		if got[i].DispatchAt != sorted[i] {
			t.Fatalf("position %d: got time %d, want %d", i, got[i].DispatchAt, sorted[i])
		}
	}
}

func testQueuePopDue(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 100, Seed(3))
	for i := range 10 {
		if _, _, err := q.Push(testItem(int64(100+i*10), i)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]scheduler.Item, 3)
	if n, err := q.PopDue(99, buf); err != nil || n != 0 {
		t.Fatalf("PopDue before anything is due: n=%d err=%v", n, err)
	}
	// Due: 100, 110, 120, 130, 140 (now = 140), but the buffer holds 3.
	n, err := q.PopDue(140, buf)
	if err != nil || n != 3 {
		t.Fatalf("PopDue(140) into 3 slots: n=%d err=%v", n, err)
	}
	for i := range n {
		checkSame(t, buf[i], testItem(int64(100+i*10), i))
	}
	n, err = q.PopDue(140, buf)
	if err != nil || n != 2 {
		t.Fatalf("second PopDue(140): n=%d err=%v, want 2", n, err)
	}
	checkSame(t, buf[1], testItem(140, 4))
	if n, err := q.PopDue(140, buf); err != nil || n != 0 {
		t.Fatalf("third PopDue(140): n=%d err=%v, want 0", n, err)
	}
	if n, err := q.PopDue(math.MaxInt64, buf[:0]); err != nil || n != 0 {
		t.Fatalf("PopDue into an empty buffer: n=%d err=%v", n, err)
	}
	if q.Len() != 5 {
		t.Fatalf("Len = %d, want 5", q.Len())
	}
}

func testQueueBound(t *testing.T, newQueue NewQueue) {
	const capacity, pushes = 8, 200
	q := newQueue(t, capacity, Seed(4))
	if q.Cap() != capacity {
		t.Fatalf("Cap = %d, want %d", q.Cap(), capacity)
	}
	seen := map[uint64]int{} // Meta -> times it left the queue
	drops := 0
	for i := range pushes {
		victim, dropped, err := q.Push(testItem(int64(i*7919%1000), i))
		if err != nil {
			t.Fatal(err)
		}
		if dropped {
			drops++
			seen[victim.Meta]++
			checkSame(t, victim, testItem(victim.DispatchAt, int(victim.Meta)))
		}
		if q.Len() > capacity {
			t.Fatalf("after push %d: Len %d exceeds capacity %d", i, q.Len(), capacity)
		}
	}
	if drops != pushes-capacity {
		t.Fatalf("%d drops, want %d", drops, pushes-capacity)
	}
	for _, it := range popAll(t, q) {
		seen[it.Meta]++
	}
	if len(seen) != pushes {
		t.Fatalf("%d distinct items came out (dropped or popped), want %d", len(seen), pushes)
	}
	for m, n := range seen {
		if n != 1 {
			t.Fatalf("item %d came out %d times", m, n)
		}
	}
}

// testQueueUniformDrop fills a queue of 4, pushes a fifth item and records
// which of the five was dropped, many times. Under a uniform choice each
// is dropped in a fifth of the trials; a chi-square statistic above 30
// (four degrees of freedom: p < 1e-5) fails. The seed is fixed, so the test
// is deterministic; an implementation that always drops the newest item,
// or never does, scores in the thousands.
func testQueueUniformDrop(t *testing.T, newQueue NewQueue) {
	const size, trials = 4, 1000
	q := newQueue(t, size, Seed(5))
	r := rand.New(rand.NewPCG(11, 13))
	var counts [size + 1]int
	for trial := range trials {
		// Random times, so an item's label says nothing about where it
		// sits in the queue.
		for i := range size + 1 {
			victim, dropped, err := q.Push(testItem(r.Int64N(1000), i))
			if err != nil {
				t.Fatal(err)
			}
			if dropped != (i == size) {
				t.Fatalf("trial %d push %d: dropped=%v", trial, i, dropped)
			}
			if dropped {
				counts[victim.Meta]++
			}
		}
		if left := popAll(t, q); len(left) != size {
			t.Fatalf("trial %d: %d items left, want %d", trial, len(left), size)
		}
	}
	expected := float64(trials) / float64(size+1)
	chi2 := 0.0
	for _, c := range counts {
		d := float64(c) - expected
		chi2 += d * d / expected
	}
	t.Logf("drop counts %v, chi-square %.2f", counts, chi2)
	if chi2 > 30 {
		t.Fatalf("random drop is not uniform: counts %v, chi-square %.1f > 30", counts, chi2)
	}
}

func testQueueConcurrentPush(t *testing.T, newQueue NewQueue) {
	const workers, each, capacity = 8, 100, 500
	q := newQueue(t, capacity, Seed(6))
	var wg sync.WaitGroup
	var mu sync.Mutex
	drops := 0
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range each {
				_, dropped, err := q.Push(testItem(r.Int64N(10_000), w*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				if dropped {
					mu.Lock()
					drops++
					mu.Unlock()
				}
				if n := q.Len(); n > capacity {
					t.Errorf("Len %d exceeds capacity %d", n, capacity)
					return
				}
			}
		})
	}
	// Pop concurrently with the pushes, as the run loop would.
	popped := 0
	buf := make([]scheduler.Item, 16)
	for range 20 {
		n, err := q.PopDue(100, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range buf[:n] {
			if it.DispatchAt > 100 {
				t.Fatalf("PopDue(100) returned an item due at %d", it.DispatchAt)
			}
		}
		popped += n
	}
	wg.Wait()
	rest := popAll(t, q)
	for i := 1; i < len(rest); i++ {
		if rest[i].DispatchAt < rest[i-1].DispatchAt {
			t.Fatalf("out of order after concurrent pushes: %d after %d", rest[i].DispatchAt, rest[i-1].DispatchAt)
		}
	}
	if total := popped + len(rest) + drops; total != workers*each {
		t.Fatalf("popped %d + left %d + dropped %d = %d, want %d", popped, len(rest), drops, total, workers*each)
	}
}

func testQueueClose(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 10, Seed(7))
	if _, _, err := q.Push(testItem(1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := q.Push(testItem(2, 2)); !errors.Is(err, scheduler.ErrClosed) {
		t.Fatalf("Push after Close: %v, want ErrClosed", err)
	}
	if _, err := q.PopDue(math.MaxInt64, make([]scheduler.Item, 1)); !errors.Is(err, scheduler.ErrClosed) {
		t.Fatalf("PopDue after Close: %v, want ErrClosed", err)
	}
}
