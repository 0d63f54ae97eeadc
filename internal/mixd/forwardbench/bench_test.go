package forwardbench

import (
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/proctest"
)

var (
	flagWindow  = flag.Int("forward.window", 0, "most packets between the sender's write and the sink's receipt (0: 7/8 of the mix's crypto worker queue)")
	flagLinks   = flag.Int("forward.links", 1, "sender link sessions to the mix")
	flagCeiling = flag.Int("forward.ceiling", 3000, "packets unwrapped to time the ceiling, before and after each run")
	flagRigProf = flag.String("forward.rigprofile", "", "write the sender+sink helper's CPU profile of the last round here")
)

// shared is the network, started by the first benchmark round and kept
// until TestMain's end: a benchmark's cleanups run after every round.
var shared struct {
	mu  sync.Mutex
	n   *network
	err error
}

func sharedNetwork(b *testing.B) *network {
	b.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.n == nil && shared.err == nil {
		shared.n, shared.err = startNetwork(rigOptions{
			Links:        *flagLinks,
			CeilingBatch: *flagCeiling,
			Stall:        10 * time.Second,
			Profile:      *flagRigProf,
		})
		if shared.err == nil {
			_, shared.err = shared.n.rig.do("connect")
		}
		if shared.err == nil {
			shared.n.window = *flagWindow
			if shared.n.window <= 0 {
				shared.n.window, shared.err = defaultWindow(shared.n)
			}
		}
	}
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.n
}

// queueSampleInterval is how often the worker queue is sampled.
const queueSampleInterval = 200 * time.Millisecond

// maxDropShare is the share of packets the mix may drop before the run
// counts as failed.
const maxDropShare = 0.01

// defaultWindow is 7/8 of the mix's crypto worker queue: the mix never
// pushes back on a link (a packet finding the queue full is dropped), and
// its reader goroutine may wait a scheduling quantum (10 ms, hundreds of
// packets) for a CPU while the workers hold both, so the window must be
// large for the workers never to run dry, and below the queue's bound for
// no packet to be dropped.
func defaultWindow(n *network) (int, error) {
	st, err := readStats(filepath.Join(n.mixDir, "management_sock"))
	if err != nil {
		return 0, err
	}
	c, err := strconv.Atoi(st["queues"]["crypto_workers_capacity"])
	if err != nil || c < 8 {
		return 0, fmt.Errorf("STATS: crypto_workers_capacity %q", st["queues"]["crypto_workers_capacity"])
	}
	return c * 7 / 8, nil
}

// BenchmarkMixForwarding measures one mix forwarding b.N packets with zero
// delay, and the unwrap ceiling in the same run. See the package
// documentation for the method and the metrics.
func BenchmarkMixForwarding(b *testing.B) {
	if testing.Short() {
		b.Skip("starts dirauth, keyd and a mix")
	}
	b.StopTimer()
	n := sharedNetwork(b)
	if _, err := n.rig.do(fmt.Sprintf("prepare %d", b.N)); err != nil {
		b.Fatal(err)
	}
	before, err := n.rig.do("ceiling")
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the previous round's garbage is not this round's cost
	s0 := n.mix.Counters()
	busy0, err := machineBusy()
	if err != nil {
		b.Fatal(err)
	}
	queue := sampleQueue(filepath.Join(n.mixDir, "management_sock"), queueSampleInterval, n.workers)
	reads0, writes0, err := syscallCounts()
	if err != nil {
		b.Fatal(err)
	}
	user0, sys0 := rusageUserSys()
	b.ResetTimer()
	b.StartTimer()
	sent, err := n.rig.do(fmt.Sprintf("send %d", n.window))
	b.StopTimer()
	user1, sys1 := rusageUserSys()
	mixCPU := user1 - user0 + sys1 - sys0
	reads1, writes1, _ := syscallCounts()
	busy1, _ := machineBusy()
	queueMean, queueStarved := queue.finish()
	if err != nil {
		b.Fatal(err)
	}
	// The mix counts a packet forwarded once its write returned, a hair
	// after the sink may have read it.
	var s1 drops.Snapshot
	_ = proctest.WaitFor(2*time.Second, "the mix's counters", func() (bool, error) {
		s1 = n.mix.Counters()
		return s1.Forwarded-s0.Forwarded >= uint64(sent.Received), nil
	})
	forwarded := s1.Forwarded - s0.Forwarded
	dropped := s1.TotalDropped() - s0.TotalDropped()
	// A busy machine may make the mix drop a packet now and then (its
	// scheduler too late by Debug.SchedulerSlack): counted, reported and
	// tolerated up to maxDropShare. Anything else is a failure.
	if sent.Received+int64(dropped) != int64(b.N) || forwarded != uint64(sent.Received) ||
		float64(dropped) > maxDropShare*float64(b.N) || sent.Elapsed <= 0 {
		b.Fatalf("%d packets sent: the sink got %d, the mix forwarded %d and dropped %d (counters: %s)",
			b.N, sent.Received, forwarded, dropped, s1.String())
	}
	after, err := n.rig.do("ceiling")
	if err != nil {
		b.Fatal(err)
	}

	// The time is the helper's, from its first write to the sink's last
	// receipt: the parent's timer also holds the pipe round trips, and
	// the wait for dropped packets.
	b.ReportMetric(float64(sent.Elapsed.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(dropped), "drops")
	// The lower of the two timings: what disturbs a timing on a shared
	// machine only adds to it, and the higher ceiling is the stricter.
	m := computeMetrics(int(forwarded), sent.Elapsed, mixCPU, sent.CPU, sent.Elapsed, min(before.Unwrap, after.Unwrap), runtime.GOMAXPROCS(0))
	b.ReportMetric(m.pps, "pkts/s")
	b.ReportMetric(m.ceiling, "ceiling-pkts/s")
	b.ReportMetric(m.ratio, "ratio")
	b.ReportMetric(m.ratioExclRig, "ratio-excl-rig")
	b.ReportMetric(m.mixUnwrapShare, "mix-unwrap-share")
	b.ReportMetric(m.mixCores, "mix-cores")
	// The kernel's share of mixd's CPU: socket system calls and, on
	// loopback, the receiving side's TCP processing done in the writer's
	// system call.
	b.ReportMetric((sys1-sys0).Seconds()/mixCPU.Seconds(), "mix-sys-share")
	b.ReportMetric(m.rigCores, "rig-cores")
	// What the rest of the machine used meanwhile: other processes (and
	// keyd and dirauth, idle here). The parent's window also holds the
	// pipe round trips, so this slightly overstates it.
	b.ReportMetric(max(0, (busy1-busy0-mixCPU-sent.CPU).Seconds()/sent.Elapsed.Seconds()), "other-cores")
	// The management requests of the queue sampler (and keyd's, none
	// here) are in these counts: a few per 200 ms.
	b.ReportMetric(float64(reads1-reads0)/float64(forwarded), "mix-reads/pkt")
	b.ReportMetric(float64(writes1-writes0)/float64(forwarded), "mix-writes/pkt")
	b.ReportMetric(queueMean, "worker-queue")
	b.ReportMetric(queueStarved, "worker-starved")
	// The machine with every core unwrapping and nothing else (no
	// links, no sender): a second, lower ceiling when a loaded core runs
	// slower than a lone one.
	parRate := max(before.ParallelRate, after.ParallelRate)
	b.ReportMetric(parRate, "par-ceiling-pkts/s")
	b.ReportMetric(m.pps/parRate, "ratio-par")
	b.ReportMetric(float64(min(before.ParallelUnwrap, after.ParallelUnwrap))/float64(time.Microsecond), "unwrap-par-µs")
	b.ReportMetric(float64(m.unwrap)/float64(time.Microsecond), "unwrap-µs")
	b.ReportMetric(float64(min(before.UnwrapWall, after.UnwrapWall))/float64(time.Microsecond), "unwrap-wall-µs")
}

// metrics are one run's figures.
type metrics struct {
	// pps is packets forwarded per second of wall time.
	pps float64
	// unwrap is the CPU time of one single-goroutine unwrap; ceiling is
	// procs / unwrap.
	unwrap  time.Duration
	ceiling float64
	// ratio is pps / ceiling: the whole machine's share, sender and sink
	// included.
	ratio float64
	// mixCores and rigCores are the CPU cores mixd and the sender+sink
	// used on average during the run.
	mixCores, rigCores float64
	// ratioExclRig is pps over the ceiling of the cores the sender and
	// sink left: pps * unwrap / (procs - rigCores).
	ratioExclRig float64
	// mixUnwrapShare is the share of mixd's own CPU time that the
	// unwraps alone would take: pps * unwrap / mixCores.
	mixUnwrapShare float64
}

// computeMetrics derives the figures of a run of n packets in wall, mixd
// having used mixCPU and the helper rigCPU over rigWall, with one unwrap
// taking unwrap and procs cores for mixd.
func computeMetrics(n int, wall, mixCPU, rigCPU, rigWall, unwrap time.Duration, procs int) metrics {
	var m metrics
	if wall <= 0 || unwrap <= 0 || procs <= 0 {
		return m
	}
	m.pps = float64(n) / wall.Seconds()
	m.unwrap = unwrap
	m.ceiling = float64(procs) / unwrap.Seconds()
	m.ratio = m.pps / m.ceiling
	m.mixCores = mixCPU.Seconds() / wall.Seconds()
	if rigWall > 0 {
		m.rigCores = rigCPU.Seconds() / rigWall.Seconds()
	}
	if free := float64(procs) - m.rigCores; free > 0 {
		m.ratioExclRig = m.pps * unwrap.Seconds() / free
	}
	if m.mixCores > 0 {
		m.mixUnwrapShare = m.pps * unwrap.Seconds() / m.mixCores
	}
	return m
}
