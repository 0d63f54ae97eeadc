package capacitybench

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/proctest"
)

var (
	flagClients   = flag.Int("capacity.clients", 10000, "idle client sessions to open on the Provider")
	flagPackets   = flag.Int("capacity.packets", 10000, "packets for the Provider's scheduler to hold")
	flagWorkers   = flag.Int("capacity.workers", 32, "client handshakes in progress at once (the Provider refuses more than 64)")
	flagDiskQueue = flag.Bool("capacity.diskqueue", false, "the Provider's scheduler queue on disk (Debug.SchedulerExternalMemoryQueue)")
	flagSettle    = flag.Duration("capacity.settle", 150*time.Second, "longest wait for a garbage collection in mixd before a reading")
)

// BenchmarkProviderCapacity opens -capacity.clients idle client sessions
// on one real Provider and then has it hold -capacity.packets packets,
// and reports what each costs the Provider's mixd (bytes, goroutines) and
// the handshake rate reached while the sessions opened. Method:
// docs/bench/capacity.md. Run it with -benchtime 1x: one run is the
// whole measurement.
func BenchmarkProviderCapacity(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a network of processes and opens thousands of connections")
	}
	clients, packets := *flagClients, *flagPackets
	if clients < 1 || packets < 1 || *flagWorkers < 1 {
		b.Fatal("-capacity.clients, -capacity.packets and -capacity.workers must be positive")
	}
	// One run is the whole measurement, whatever b.N (the metrics are not
	// per iteration); a second would start another network.
	measureCapacity(b, clients, packets)
}

func measureCapacity(b *testing.B, clients, packets int) {
	b.StopTimer() // the metrics are what counts, not the benchmark's time
	limit := raiseFileLimit(b)
	if limit < uint64(clients)+512 {
		b.Fatalf("RLIMIT_NOFILE hard limit %d is too low for %d client connections", limit, clients)
	}
	n := startNetwork(b, netOptions{schedulerQueue: packets + 1000, diskQueue: *flagDiskQueue})
	prov := n.provider
	if lim, err := openFileLimit(prov.mixd); err == nil {
		b.Logf("the Provider's mixd may open %s files (this process: %d)", lim, limit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	doc, err := n.document(ctx)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	var provKey = doc.Providers[0].Descriptor.LinkKey
	limits := clientLimits(doc)

	users := newUsers(b, prov.mgmtSocket(), "cap", clients)
	sender := newUsers(b, prov.mgmtSocket(), "capsender", 1)[0]

	// The sender's session opens first, so that the readings after it
	// differ by the idle clients alone and then by the packets alone.
	s, err := dialClient(context.Background(), prov.address(), provKey, limits, sender)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	base := settledUsage(b, n)
	cpu0 := cpuTimes(b, n)
	opened := openSessions(b, prov.address(), provKey, limits, users, *flagWorkers)
	cpu1 := cpuTimes(b, n)
	open := opened.open()
	if open == 0 {
		b.Fatalf("no client session opened: %v", opened.refused)
	}
	proctest.Eventually(b, time.Minute, fmt.Sprintf("%d client sessions in the Provider's STATS", open+1), func() bool {
		st, err := readStats(prov.mgmtSocket())
		if err != nil {
			return false
		}
		c, err := st.number("links", "client_sessions")
		return err == nil && c == int64(open)+1 // and the sender's
	})
	idle := settledUsage(b, n)

	pkts := queuedPackets(b, doc, prov.name, sender.name, packets)
	sendQueued(b, n, s, pkts)
	held := settledUsage(b, n)
	n.checkAlive(b)

	hs := float64(open) / opened.elapsed.Seconds()
	perConn := idle.minus(base).per(open)
	perPkt := held.minus(idle).per(packets)
	b.ReportMetric(float64(open), "clients")
	b.ReportMetric(hs, "handshakes/s")
	b.ReportMetric(perConn.rss, "rss-B/client")
	b.ReportMetric(perConn.heapAlloc, "heap-B/client")
	b.ReportMetric(perConn.goroutines, "goroutines/client")
	b.ReportMetric(perPkt.rss, "rss-B/packet")
	b.ReportMetric(perPkt.heapAlloc, "heap-B/packet")
	mixdCPU := cpu1.mixd - cpu0.mixd
	keydCPU := cpu1.keyd - cpu0.keyd
	spooldCPU := cpu1.spoold - cpu0.spoold
	b.ReportMetric(float64(mixdCPU.Microseconds())/float64(open), "mixd-cpu-µs/handshake")
	b.ReportMetric(float64(keydCPU.Microseconds())/float64(open), "keyd-cpu-µs/handshake")

	b.Logf("Provider's mixd (STATS [runtime]); scheduler queue on disk: %v", *flagDiskQueue)
	b.Logf("  %-34s %12s %14s %12s %14s", "", "goroutines", "heap_alloc", "heap_objects", "rss")
	for _, r := range []struct {
		name string
		u    usage
	}{{"before the clients", base}, {fmt.Sprintf("%d idle clients", open), idle}, {fmt.Sprintf("and %d packets held", packets), held}} {
		b.Logf("  %-34s %12d %14d %12d %14d", r.name, r.u.goroutines, r.u.heapAlloc, r.u.heapObjects, r.u.rss)
	}
	b.Logf("per idle client: %.2f goroutines, %.0f B heap, %.1f heap objects, %.0f B resident", perConn.goroutines, perConn.heapAlloc, perConn.heapObjects, perConn.rss)
	b.Logf("per held packet: %.0f B heap, %.1f heap objects, %.0f B resident", perPkt.heapAlloc, perPkt.heapObjects, perPkt.rss)
	b.Logf("opening %d sessions, %d at a time: %v, %.0f handshakes/s, %d retried handshakes", open, *flagWorkers, opened.elapsed.Round(time.Millisecond), hs, opened.retries)
	b.Logf("CPU per handshake: mixd %v, keyd %v, spoold %v (this process, the clients' side, ran on the same cores)",
		mixdCPU/time.Duration(open), keydCPU/time.Duration(open), spooldCPU/time.Duration(open))
	if opened.refused != nil {
		b.Errorf("the Provider accepted %d of %d client sessions and then refused more: %v", open, clients, opened.refused)
	}
}

// cpu is the CPU time each of the Provider's daemons has used.
type cpu struct{ mixd, keyd, spoold time.Duration }

func cpuTimes(tb testing.TB, n *network) cpu {
	tb.Helper()
	var c cpu
	for _, p := range []struct {
		p   *proctest.Proc
		dst *time.Duration
	}{{n.provider.mixd, &c.mixd}, {n.provider.keyd, &c.keyd}, {n.provider.spoold, &c.spoold}} {
		d, err := cpuTime(p.p)
		if err != nil {
			tb.Fatal(err)
		}
		*p.dst = d
	}
	return c
}

// settledUsage reads the Provider's STATS [runtime] once a garbage
// collection has run since the load ended, so that heap_alloc is live
// memory and not garbage: STATS does not collect, so it reads every second
// until heap_alloc falls (a collection ran; the runtime forces one at
// least every two minutes) and then reads twice more, a second apart,
// and returns the second reading. If no collection is seen within
// -capacity.settle it returns the last reading and says so.
func settledUsage(tb testing.TB, n *network) usage {
	tb.Helper()
	read := func() usage {
		st, err := readStats(n.provider.mgmtSocket())
		if err != nil {
			tb.Fatal(err)
		}
		u, err := usageOf(st)
		if err != nil {
			tb.Fatal(err)
		}
		return u
	}
	prev := read()
	deadline := time.Now().Add(*flagSettle)
	collected := false
	for !collected && time.Now().Before(deadline) {
		wait(time.Second)
		cur := read()
		collected = cur.heapAlloc < prev.heapAlloc
		prev = cur
	}
	if !collected {
		tb.Logf("no garbage collection seen in mixd within %v: heap_alloc includes garbage", *flagSettle)
	}
	wait(time.Second)
	first := read()
	wait(time.Second)
	second := read()
	if first.goroutines != second.goroutines {
		tb.Logf("goroutines moved between two readings a second apart: %d, %d", first.goroutines, second.goroutines)
	}
	return second
}

// wait pauses between two readings of an external process's counters:
// pacing, not synchronisation (nothing here waits for an event by
// sleeping).
func wait(d time.Duration) { <-time.After(d) }

// perUnit is a difference of usages divided by a count.
type perUnit struct{ goroutines, heapAlloc, heapObjects, rss float64 }

func (u usage) minus(o usage) usage {
	return usage{u.goroutines - o.goroutines, u.heapAlloc - o.heapAlloc, u.heapObjects - o.heapObjects, u.rss - o.rss}
}

func (u usage) per(n int) perUnit {
	f := float64(n)
	return perUnit{float64(u.goroutines) / f, float64(u.heapAlloc) / f, float64(u.heapObjects) / f, float64(u.rss) / f}
}
