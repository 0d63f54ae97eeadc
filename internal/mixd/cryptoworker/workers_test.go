package cryptoworker

import (
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/mixd/scheduler"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// fakeKeys accepts packets whose first byte is 1 and blocks while gate is
// held, so a test can fill the queue.
type fakeKeys struct{ gate sync.RWMutex }

func (f *fakeKeys) Unwrap(_ *sphinx.Sphinx, _ time.Time, pkt []byte, res *sphinx.UnwrapResult) (drops.Reason, bool) {
	f.gate.RLock()
	defer f.gate.RUnlock()
	if pkt[0] == 2 { // ends here
		res.Commands = sphinx.Commands{HasRecipient: true}
		res.Commands.Recipient[0] = pkt[1]
		return 0, true
	}
	if pkt[0] != 1 {
		return drops.UnwrapFailed, false
	}
	res.Commands = sphinx.Commands{HasNextHop: true, HasDelay: true, Delay: uint32(pkt[1]) * 10}
	res.Commands.NextHop[0] = pkt[2]
	return 0, true
}

type fakeRouter struct{}

// fakeRouter delivers terminal packets from nodes, drops them from clients,
// and forwards to any next hop but 0.
func (fakeRouter) Decide(c *sphinx.Commands, from route.Origin) (route.Verdict, keys.NodeID, time.Duration, drops.Reason) {
	if c.IsTerminal() {
		if from == route.FromClient {
			return route.Drop, keys.NodeID{}, 0, drops.ClientTerminal
		}
		return route.Deliver, keys.NodeID{}, 0, 0
	}
	if c.NextHop[0] == 0 {
		return route.Drop, keys.NodeID{}, 0, drops.UnknownNextHop
	}
	return route.Forward, c.NextHop, time.Duration(c.Delay) * time.Millisecond, 0
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
	return newRigDeliver(t, workers, queue, nil)
}

func newRigDeliver(t *testing.T, workers, queue int, deliver func(*sphinx.UnwrapResult, time.Time) bool) *rig {
	t.Helper()
	g, err := sphinx.NewGeometry(2, 64)
	if err != nil {
		t.Fatal(err)
	}
	sph, _ := sphinx.New(g)
	pool, _ := packet.NewPool(g.PacketLength, 16)
	r := &rig{keys: &fakeKeys{}, sched: &fakeSched{got: make(chan struct{}, 100)}, pool: pool, drops: &drops.Counters{}}
	r.w, err = Start(Config{Workers: workers, QueueLen: queue, UnwrapDelay: time.Second, Sphinx: sph,
		Keys: r.keys, Router: fakeRouter{}, Scheduler: r.sched, Pool: pool, Drops: r.drops, Deliver: deliver})
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
	if !r.w.Submit(r.packet(true, 50, 9), received, route.FromNode) {
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
	r.w.Submit(r.packet(false, 0, 9), time.Now(), route.FromNode)
	r.w.Submit(r.packet(true, 0, 0), time.Now(), route.FromNode)
	r.w.Submit(r.packet(true, 0, 9), time.Now().Add(-2*time.Second), route.FromNode) // waited too long
	r.w.Submit(make([]byte, 3), time.Now(), route.FromNode)                          // wrong length
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
	r.w.Submit(r.packet(true, 0, 9), time.Now(), route.FromNode)
	waitFor(t, "the worker to take a packet", func() bool { return len(r.w.in) == 0 })
	okCount := 0
	for i := 0; i < 5; i++ {
		if r.w.Submit(r.packet(true, 0, 9), time.Now(), route.FromNode) {
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
	if r.w.Submit(r.packet(true, 0, 9), time.Now(), route.FromNode) || r.drops.Snapshot().Dropped[drops.ShuttingDown] != 1 {
		t.Fatal("Submit after Close was not refused and counted")
	}
	r.w.Close() // idempotent
}

// TestTerminalPacketsGoToDeliver: at a Provider a packet that ends here is
// handed to Deliver (with its receipt time), not to the scheduler; the same
// packet from a client, or at a mix (no Deliver), is dropped and counted.
func TestTerminalPacketsGoToDeliver(t *testing.T) {
	type got struct {
		recipient byte
		received  time.Time
	}
	delivered := make(chan got, 4)
	r := newRigDeliver(t, 1, 8, func(res *sphinx.UnwrapResult, received time.Time) bool {
		delivered <- got{res.Commands.Recipient[0], received}
		return true
	})
	terminal := func(recipient byte) []byte {
		b := r.pool.Get()
		clear(b)
		b[0], b[1] = 2, recipient
		return b
	}
	received := time.Now().Add(-time.Millisecond)
	r.w.Submit(terminal(7), received, route.FromNode)
	select {
	case g := <-delivered:
		if g.recipient != 7 || !g.received.Equal(time.Unix(0, received.UnixNano())) {
			t.Fatalf("delivered %+v, want recipient 7 received %v", g, received)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("terminal packet never delivered")
	}
	r.w.Submit(terminal(8), time.Now(), route.FromClient)
	waitFor(t, "the client's terminal packet to be dropped", func() bool {
		return r.drops.Snapshot().Dropped[drops.ClientTerminal] == 1
	})
	if s := r.drops.Snapshot(); s.Delivered != 1 || len(delivered) != 0 || len(r.sched.got) != 0 {
		t.Fatalf("delivered %d (%d more calls), scheduled %d", s.Delivered, len(delivered), len(r.sched.got))
	}

	mix := newRig(t, 1, 8)
	mix.w.Submit(terminal(9), time.Now(), route.FromNode)
	waitFor(t, "a mix to drop a terminal packet", func() bool {
		return mix.drops.Snapshot().Dropped[drops.NotForMix] == 1
	})
}

func TestStartChecksConfig(t *testing.T) {
	if _, err := Start(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
}
