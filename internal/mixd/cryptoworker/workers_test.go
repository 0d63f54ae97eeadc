package cryptoworker

import (
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// fakeKeys accepts packets whose first byte is 1 and blocks while gate is
// held, so a test can fill the queue.
type fakeKeys struct{ gate sync.RWMutex }

func (f *fakeKeys) Unwrap(_ *sphinx.Sphinx, _ time.Time, pkt []byte, res *sphinx.UnwrapResult) (drops.Reason, bool) {
	f.gate.RLock()
	defer f.gate.RUnlock()
	if pkt[0] != 1 {
		return drops.UnwrapFailed, false
	}
	res.Commands = sphinx.Commands{HasNextHop: true, HasDelay: true, Delay: uint32(pkt[1]) * 10}
	res.Commands.NextHop[0] = pkt[2]
	return 0, true
}

type fakeRouter struct{}

func (fakeRouter) Decide(c *sphinx.Commands) (keys.NodeID, time.Duration, drops.Reason, bool) {
	if c.NextHop[0] == 0 {
		return keys.NodeID{}, 0, drops.UnknownNextHop, false
	}
	return c.NextHop, time.Duration(c.Delay) * time.Millisecond, 0, true
}

type fakeSched struct {
	mu    sync.Mutex
	items []scheduler.Item
	got   chan struct{}
}

func (f *fakeSched) Push(it scheduler.Item) error {
	f.mu.Lock()
	f.items = append(f.items, it)
	f.mu.Unlock()
	f.got <- struct{}{}
	return nil
}

type rig struct {
	w     *Workers
	keys  *fakeKeys
	sched *fakeSched
	pool  *packet.Pool
	drops *drops.Counters
}

func newRig(t *testing.T, workers, queue int) *rig {
	t.Helper()
	g, err := sphinx.NewGeometry(2, 64)
	if err != nil {
		t.Fatal(err)
	}
	sph, _ := sphinx.New(g)
	pool, _ := packet.NewPool(g.PacketLength, 16)
	r := &rig{keys: &fakeKeys{}, sched: &fakeSched{got: make(chan struct{}, 100)}, pool: pool, drops: &drops.Counters{}}
	r.w, err = Start(Config{Workers: workers, QueueLen: queue, UnwrapDelay: time.Second, Sphinx: sph,
		Keys: r.keys, Router: fakeRouter{}, Scheduler: r.sched, Pool: pool, Drops: r.drops})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.w.Close)
	return r
}

func (r *rig) packet(ok bool, delay10ms, next byte) []byte {
	b := r.pool.Get()
	clear(b)
	if ok {
		b[0] = 1
	}
	b[1], b[2] = delay10ms, next
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising
	}
}

func TestRoutedPacketReachesSchedulerWithDelayFromReceipt(t *testing.T) {
	r := newRig(t, 2, 8)
	received := time.Now()
	if !r.w.Submit(r.packet(true, 50, 9), received) {
		t.Fatal("Submit refused")
	}
	select {
	case <-r.sched.got:
	case <-time.After(5 * time.Second):
		t.Fatal("packet never reached the scheduler")
	}
	r.sched.mu.Lock()
	it := r.sched.items[0]
	r.sched.mu.Unlock()
	if want := received.Add(500 * time.Millisecond).UnixNano(); it.DispatchAt != want {
		t.Fatalf("DispatchAt %d, want %d", it.DispatchAt, want)
	}
	_, next, ok := r.pool.Split(it.Payload)
	if !ok || next[0] != 9 {
		t.Fatalf("next hop not carried: %v %v", next, ok)
	}
}

func TestDropsAreCountedByReason(t *testing.T) {
	r := newRig(t, 1, 8)
	r.w.Submit(r.packet(false, 0, 9), time.Now())
	r.w.Submit(r.packet(true, 0, 0), time.Now())
	r.w.Submit(r.packet(true, 0, 9), time.Now().Add(-2*time.Second)) // waited too long
	r.w.Submit(make([]byte, 3), time.Now())                          // wrong length
	waitFor(t, "four drops", func() bool { return r.drops.Snapshot().TotalDropped() == 4 })
	s := r.drops.Snapshot()
	for _, reason := range []drops.Reason{drops.UnwrapFailed, drops.UnknownNextHop, drops.UnwrapTooLate, drops.BadSize} {
		if s.Dropped[reason] != 1 {
			t.Errorf("%v counted %d times", reason, s.Dropped[reason])
		}
	}
}

func TestFullQueueDropsAndCloseDrains(t *testing.T) {
	r := newRig(t, 1, 2)
	r.keys.gate.Lock() // the one worker blocks on its first packet
	r.w.Submit(r.packet(true, 0, 9), time.Now())
	waitFor(t, "the worker to take a packet", func() bool { return len(r.w.in) == 0 })
	okCount := 0
	for i := 0; i < 5; i++ {
		if r.w.Submit(r.packet(true, 0, 9), time.Now()) {
			okCount++
		}
	}
	if okCount != 2 || r.drops.Snapshot().Dropped[drops.InboundQueueFull] != 3 {
		t.Fatalf("queued %d, dropped %d", okCount, r.drops.Snapshot().Dropped[drops.InboundQueueFull])
	}
	r.keys.gate.Unlock()
	r.w.Close()
	if n := len(r.sched.got); n != 3 {
		t.Fatalf("%d packets reached the scheduler after Close, want 3", n)
	}
	if r.w.Submit(r.packet(true, 0, 9), time.Now()) || r.drops.Snapshot().Dropped[drops.ShuttingDown] != 1 {
		t.Fatal("Submit after Close was not refused and counted")
	}
	r.w.Close() // idempotent
}

func TestStartChecksConfig(t *testing.T) {
	if _, err := Start(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
}
