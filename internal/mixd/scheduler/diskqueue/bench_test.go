package diskqueue

import (
	"testing"

	"github.com/splitmix/splitmix/internal/mixd/scheduler"
)

// BenchmarkPushPopDisk measures one push and one pop of a 2 KiB packet
// through the disk queue at a steady depth of 1000 packets, popping in
// bursts of 16 as the scheduler does with SchedulerMaxBurst 16 (so one
// write transaction per push and one per 16 pops).
func BenchmarkPushPopDisk(b *testing.B) {
	q, err := Open(Options{Dir: b.TempDir(), Capacity: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	benchPushPop(b, q)
}

// BenchmarkPushPopDiskSync is BenchmarkPushPopDisk with Options.Sync: every
// commit waits for fsync.
func BenchmarkPushPopDiskSync(b *testing.B) {
	q, err := Open(Options{Dir: b.TempDir(), Capacity: 1 << 20, Sync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	benchPushPop(b, q)
}

func benchPushPop(b *testing.B, q scheduler.Queue) {
	const depth, burst = 1000, 16
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
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	popped := 0
	for i := 0; i < b.N; i++ {
		push()
		if i%burst == burst-1 {
			n, err := q.PopDue(at-depth, buf)
			if err != nil {
				b.Fatal(err)
			}
			popped += n
		}
	}
	b.StopTimer()
	if popped < b.N/burst*burst-burst {
		b.Fatalf("popped %d of %d", popped, b.N)
	}
}
