package integration

// The soak test of issue 6, "End-to-end and robustness tests": the Provider
// network of providernet_test.go (an authority, three mixes, two Providers
// with decoy loops, every daemon a real process) under a steady load for a
// bounded time, with a mix SIGKILLed and restarted, the authority
// restarted and several epoch changes while the load runs. Then a quiet
// phase checks, per node, that every packet received is accounted for, and
// that memory and goroutines went back to where they were.
//
// Run:   go test -race -run TestSoak -v ./internal/integration
// Long:  go test -race -run TestSoak -v -timeout 40m ./internal/integration -soak.duration=30m

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/client"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/proctest"
)

// soakDuration is the length of the steady phase: a few minutes in CI,
// longer by hand (raise -timeout to match).
var soakDuration = flag.Duration("soak.duration", 2*time.Minute,
	"length of TestSoak's steady phase (e.g. 30m; raise go test's -timeout to match)")

const (
	// soakWarmUp passes before the runtime baseline is taken, so that
	// buffers, pools, links and replay filters exist.
	soakWarmUp = 15 * time.Second
	// The steady rates: alice sends bob a message (with a SURB-ACK) every
	// aliceEvery, bob answers every bobEvery, and each pings the other's
	// Provider's echo service every pingEvery (one ping outstanding).
	soakAliceEvery = 250 * time.Millisecond
	soakBobEvery   = 500 * time.Millisecond
	soakPingEvery  = 2 * time.Second
	// soakRoundTrip bounds a message's round trip (path delays are at most
	// MuMaxDelay = 300 ms a hop; UnwrapDelay, SchedulerSlack, SendSlack
	// and ProviderDelay bound the waits): a message sent earlier than this
	// before the kill was through the killed mix, both ways, before it died.
	soakRoundTrip = 10 * time.Second
	// Tolerances of "memory and goroutines return to their baseline": the
	// baseline is the highest of several samples taken under load; once the
	// load has stopped and the clients have gone, every mixd must come back
	// to at most baseline + soakGoroutineSlack goroutines and
	// soakHeapFactor x baseline + soakHeapSlack bytes of Go heap.
	soakGoroutineSlack = 10
	soakHeapFactor     = 1.5
	soakHeapSlack      = 2 << 20
	// soakSettle bounds the waits for the network to go quiet and for the
	// runtime to come back to its baseline.
	soakSettle = 90 * time.Second
)

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak run of real processes")
	}
	begin := time.Now()
	pn := startProviderNetWith(t, pnOptions{decoys: true})
	provA, provB := pn.providers[0], pn.providers[1]
	alice := newSoakUser(t, pn, provA, "alice", "bob@"+provB.name, provB.name, soakAliceEvery)
	bob := newSoakUser(t, pn, provB, "bob", "alice@"+provA.name, provA.name, soakBobEvery)
	waitPing(t, pn, alice.c, provB.name, 90*time.Second)
	waitPing(t, pn, bob.c, provA.name, 90*time.Second)
	t.Logf("network up after %v", time.Since(begin).Round(time.Second))

	// The load runs in goroutines of its own until stopSend; the receivers
	// go on until stopRecv, after the quiet phase.
	sendCtx, stopSend := context.WithCancel(context.Background())
	recvCtx, stopRecv := context.WithCancel(context.Background())
	var load, recv sync.WaitGroup
	stopped := false
	stopAll := func() {
		if !stopped {
			stopped = true
			stopSend()
			load.Wait()
			stopRecv()
			recv.Wait()
		}
	}
	t.Cleanup(stopAll) // also on a failure half way
	users := []*soakUser{alice, bob}
	for _, u := range users {
		load.Go(func() { u.sendLoop(sendCtx) })
		load.Go(func() { u.pingLoop(sendCtx) })
		recv.Go(func() { u.recvLoop(recvCtx) })
	}

	steadyStart := time.Now()
	steadyEnd := steadyStart.Add(*soakDuration)
	epochAtStart, _, _ := pn.clock.Current()
	doc := pn.waitDocument(t, epochAtStart, pnPeriod)
	var layer [3]*pnNode
	for _, nd := range pn.mixes {
		if l, ok := doc.LayerOf(nd.id); ok && l >= 0 && l < len(layer) {
			layer[l] = nd
		}
	}
	if layer[0] == nil || layer[1] == nil || layer[2] == nil {
		t.Fatalf("the document of epoch %d does not put one mix in each of 3 layers", epochAtStart)
	}

	// Warm-up, then the baseline of every mixd's runtime.
	soakWait(t, pn, steadyStart.Add(soakWarmUp))
	base := map[*pnNode]runtimeSample{}
	for _, nd := range pn.nodes() {
		base[nd] = runtimeEnvelope(t, pn, nd)
	}

	// A mix killed (keyd and mixd, SIGKILL) and restarted from the same
	// configuration while traffic flows.
	soakWait(t, pn, steadyStart.Add(max(*soakDuration/4, soakWarmUp+10*time.Second)))
	out := killAndRestartMix(t, pn, layer[1], layer[0], users)

	// The directory authority restarted while traffic flows.
	soakWait(t, pn, steadyStart.Add(*soakDuration/2))
	// The restarted mix has had time to warm up: its baseline.
	base[layer[1]] = runtimeEnvelope(t, pn, layer[1])
	restartDirauth(t, pn)

	soakWait(t, pn, steadyEnd)
	epochAtEnd, _, _ := pn.clock.Current()
	t.Logf("steady phase: %v, epochs %d to %d", time.Since(steadyStart).Round(time.Second), epochAtStart, epochAtEnd)
	if epochAtEnd <= epochAtStart {
		t.Errorf("no epoch change while traffic flowed (epoch %d throughout)", epochAtStart)
	}

	// Quiet phase: stop sending, let the network drain, let the receivers
	// empty their spools.
	stopSend()
	load.Wait()
	sessions := map[*pnNode]*management.Client{}
	for _, nd := range pn.nodes() {
		sessions[nd] = mgmtSession(t, nd)
	}
	final := waitQuiet(t, pn, sessions)
	quietAt := time.Now()
	for _, u := range users {
		proctest.Eventually(t, soakSettle, u.name+"'s spool to be empty", func() bool {
			return u.drainedSince(quietAt)
		})
	}
	stopRecv()
	recv.Wait()
	stopped = true
	// final was read before the users' last retrievals: a Provider counts
	// an entry retrieved as it hands it out. Read the Providers' counters
	// again now that a retrieval begun after quietAt found each spool
	// empty, for checkMessages to compare with what the users got.
	for _, nd := range pn.providers {
		final[nd] = statsOf(t, sessions[nd])
	}

	checkMessages(t, pn, alice, bob, out, final)
	checkEpochCrossing(t, pn, users)
	checkDecoys(t, pn, final)

	// The clients go; every mixd comes back to its baseline.
	for _, u := range users {
		u.c.Close()
	}
	checkRuntime(t, pn, sessions, base)
	t.Logf("TestSoak took %v", time.Since(begin).Round(time.Second))
}

// soakWait lets the load run until the time until, checking every second
// that no daemon died.
func soakWait(t *testing.T, pn *pnet, until time.Time) {
	t.Helper()
	for {
		pn.checkAlive(t)
		left := time.Until(until)
		if left <= 0 {
			return
		}
		<-time.After(min(left, time.Second)) // pacing the test's schedule
	}
}

// soakMsg is a message a soak user sent.
type soakMsg struct {
	id   client.MessageID
	body string
	at   time.Time
}

// soakUser is alice or bob: a client, the load it generates and what it
// received.
type soakUser struct {
	name  string
	c     *client.Client
	log   *clientLog
	to    string // the peer's address
	ping  string // the Provider whose echo service it pings
	every time.Duration

	mu        sync.Mutex
	sent      []soakMsg
	got       map[client.MessageID]int
	gotBody   map[client.MessageID]string
	sendErrs  int
	recvErrs  int
	pings     int
	pingFails []time.Time // when each failed ping was sent
	lastErr   error
	emptyFrom time.Time // start of the last Retrieve that found the spool empty
}

// newSoakUser adds name at Provider nd and connects its client.
func newSoakUser(t *testing.T, pn *pnet, nd *pnNode, name, to, ping string, every time.Duration) *soakUser {
	t.Helper()
	key := newLinkKey(t)
	pn.mixctlOK(t, nd, "user", "add", name, hex.EncodeToString(key.Public().Bytes()))
	cl := newClientLog(t, filepath.Join(pn.dir, name+".client.log"))
	be, err := logging.NewWriter(cl, "DEBUG")
	if err != nil {
		t.Fatal(err)
	}
	u := &soakUser{name: name, log: cl, to: to, ping: ping, every: every,
		got: map[client.MessageID]int{}, gotBody: map[client.MessageID]string{}}
	u.c = pn.newClientLog(t, nd, name, key, be.Logger(name))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- log of %s's client ----\n%s", name, proctest.Tail(cl.f.Name(), 40))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := u.c.Connect(ctx); err != nil {
		t.Fatalf("connecting %s: %v", name, err)
	}
	return u
}

func (u *soakUser) fail(counter *int, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	*counter++
	u.lastErr = err
}

// sendLoop sends a message with a SURB-ACK every u.every until ctx ends.
func (u *soakUser) sendLoop(ctx context.Context) {
	tick := time.NewTicker(u.every)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		body := fmt.Sprintf("soak %s %d", u.name, n)
		at := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		id, err := u.c.Send(sctx, u.to, []byte(body), client.WithACK())
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				u.fail(&u.sendErrs, err)
			}
			continue
		}
		u.mu.Lock()
		u.sent = append(u.sent, soakMsg{id: id, body: body, at: at})
		u.mu.Unlock()
	}
}

// pingLoop pings u.ping's echo service, one ping at a time, every
// soakPingEvery until ctx ends.
func (u *soakUser) pingLoop(ctx context.Context) {
	for ctx.Err() == nil {
		at := time.Now()
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := u.c.Ping(pctx, u.ping, "+echo")
		cancel()
		if ctx.Err() != nil {
			return // cut short by the end of the load: neither counted
		}
		u.mu.Lock()
		u.pings++
		if err != nil {
			u.pingFails = append(u.pingFails, at)
			u.lastErr = err
		}
		u.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(at.Add(soakPingEvery))): // the ping rate
		}
	}
}

// recvLoop retrieves u's spool until ctx ends: messages, and the SURB
// replies (ACKs) that the client matches on the way.
func (u *soakUser) recvLoop(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		m, err := u.c.Retrieve(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			u.fail(&u.recvErrs, err)
		case m == nil:
			u.mu.Lock()
			u.emptyFrom = start
			u.mu.Unlock()
		default:
			u.mu.Lock()
			u.got[m.ID]++
			u.gotBody[m.ID] = string(m.Body)
			u.mu.Unlock()
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond): // the poll interval (client.md §8.5)
		}
	}
}

// drainedSince reports whether a retrieval that started after at found
// the spool empty.
func (u *soakUser) drainedSince(at time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.emptyFrom.After(at)
}

// ackedAfter reports whether a message sent after at was acknowledged.
func (u *soakUser) ackedAfter(at time.Time) bool {
	u.mu.Lock()
	msgs := slices.Clone(u.sent)
	u.mu.Unlock()
	for _, m := range msgs {
		if m.at.After(at) && u.c.AckState(m.id) == client.AckDelivered {
			return true
		}
	}
	return false
}

// clientLog is a client's DEBUG log, kept in a file and scanned for the
// events the test counts: duplicate spool entries the client library
// discarded (client.md §8.4) and (re)connections to the Provider.
type clientLog struct {
	mu       sync.Mutex
	f        *os.File
	dups     int
	connects int
}

func newClientLog(t *testing.T, path string) *clientLog {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the client's own cleanup, so it runs after it.
	t.Cleanup(func() { f.Close() })
	return &clientLog{f: f}
}

func (l *clientLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dups += bytes.Count(p, []byte("duplicate message discarded"))
	l.connects += bytes.Count(p, []byte("connected to the Provider"))
	return l.f.Write(p)
}

func (l *clientLog) counts() (dups, connects int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dups, l.connects
}

// outage records the mix killed mid-run.
type outage struct {
	name   string
	held   uint64 // packets in its queues at the last look before the kill
	drops  uint64 // its drops counted before the kill (that process's)
	killed time.Time
	back   time.Time
}

// killAndRestartMix SIGKILLs victim's keyd and mixd while traffic flows,
// waits until prev (the layer before) sees the link go down, restarts both
// daemons from the same configuration and waits until the mix routes
// again, its links are up and a message sent after that is acknowledged.
func killAndRestartMix(t *testing.T, pn *pnet, victim, prev *pnNode, users []*soakUser) outage {
	t.Helper()
	o := outage{name: victim.name}
	s := pn.stats(t, victim)
	if err := dropsHaveReasons(s); err != nil {
		t.Errorf("%s before the kill: %v", victim.name, err)
	}
	o.held = queued(s, false)
	o.drops = s.count(t, "total_dropped", "drops")
	victim.mixd.Kill()
	victim.keyd.Kill()
	o.killed = time.Now()
	link := "to." + victim.name
	proctest.Eventually(t, 30*time.Second, prev.name+" to see its link to "+victim.name+" down", func() bool {
		return pn.stats(t, prev)["links"][link] == "down"
	})

	from := logSize(filepath.Join(victim.dir, "mixd.log"))
	pn.startKeyd(t, victim)
	pn.startMixd(t, victim)
	victim.mixd.waitLog(t, from, reReady, 60*time.Second)
	proctest.Eventually(t, 60*time.Second, "the links to and from the restarted "+victim.name, func() bool {
		pn.checkAlive(t)
		if pn.stats(t, prev)["links"][link] != "up" {
			return false
		}
		l := pn.stats(t, victim)["links"]
		return l["outgoing"] != "0" && l["outgoing"] == l["outgoing_up"] && l["incoming_nodes"] != "0"
	})
	o.back = time.Now()
	proctest.Eventually(t, 60*time.Second, "a message sent after the restart to be acknowledged", func() bool {
		pn.checkAlive(t)
		for _, u := range users {
			if u.ackedAfter(o.back) {
				return true
			}
		}
		return false
	})
	t.Logf("%s killed with %d packets queued; back after %v; traffic flows again after %v",
		victim.name, o.held, o.back.Sub(o.killed).Round(time.Millisecond), time.Since(o.killed).Round(time.Millisecond))
	return o
}

// restartDirauth stops the authority with SIGTERM early in an epoch and
// starts it again; the next epoch's document, made by the restarted
// authority at 3/4 of the epoch, must reach every node.
func restartDirauth(t *testing.T, pn *pnet) {
	t.Helper()
	proctest.Eventually(t, 2*pnPeriod, "the first quarter of an epoch", func() bool {
		_, elapsed, _ := pn.clock.Current()
		return elapsed < pnPeriod/4
	})
	e, _, _ := pn.clock.Current()
	if err := pn.dirauth.stop(t, 30*time.Second); err != nil {
		t.Errorf("dirauth after SIGTERM: %v", err)
	}
	authDir := filepath.Join(pn.dir, "dirauth")
	pn.dirauth = start(pn.root, "dirauth", "dirauth", filepath.Join(authDir, "dirauth.log"),
		"-f", filepath.Join(authDir, "dirauth.toml"))
	restarted := time.Now()
	doc := pn.waitDocument(t, e+1, 3*pnPeriod)
	if len(doc.Providers) != 2 || len(doc.Layers) != 3 {
		t.Errorf("document for epoch %d after the restart: %d Providers, %d layers; want 2 and 3", e+1, len(doc.Providers), len(doc.Layers))
	}
	want := strconv.FormatUint(e+1, 10)
	for _, nd := range pn.nodes() {
		proctest.Eventually(t, 2*pnPeriod, nd.name+" to hold the document of epoch "+want, func() bool {
			return slices.Contains(strings.Split(pn.stats(t, nd)["epoch"]["documents"], ","), want)
		})
	}
	t.Logf("dirauth restarted in epoch %d; every node holds the document of epoch %d %v later", e, e+1, time.Since(restarted).Round(time.Millisecond))
}

// runtimeSample is a mixd's goroutines and Go heap.
type runtimeSample struct{ goroutines, heap, rss uint64 }

func readRuntime(s pnStats) (runtimeSample, error) {
	var r runtimeSample
	var err error
	for _, f := range []struct {
		key string
		dst *uint64
	}{{"goroutines", &r.goroutines}, {"heap_alloc_bytes", &r.heap}, {"rss_bytes", &r.rss}} {
		if *f.dst, err = statU(s, "runtime", f.key); err != nil {
			return r, err
		}
	}
	return r, nil
}

// runtimeEnvelope samples nd's runtime five times, half a second apart,
// under load, and keeps the highest of each: the top of the garbage
// collector's saw-tooth, not a low point between two collections.
func runtimeEnvelope(t *testing.T, pn *pnet, nd *pnNode) runtimeSample {
	t.Helper()
	var env runtimeSample
	for i := range 5 {
		if i > 0 {
			<-time.After(500 * time.Millisecond) // spacing the samples
		}
		r, err := readRuntime(pn.stats(t, nd))
		if err != nil {
			t.Fatalf("%s: %v", nd.name, err)
		}
		env = runtimeSample{max(env.goroutines, r.goroutines), max(env.heap, r.heap), max(env.rss, r.rss)}
	}
	t.Logf("%s baseline under load: %d goroutines, heap %d KiB, rss %d KiB", nd.name, env.goroutines, env.heap>>10, env.rss>>10)
	return env
}

// checkRuntime waits until every mixd is back within the tolerances of its
// baseline, once the clients have disconnected.
func checkRuntime(t *testing.T, pn *pnet, sessions map[*pnNode]*management.Client, base map[*pnNode]runtimeSample) {
	t.Helper()
	deadline := time.Now().Add(soakSettle)
	for {
		var bad []string
		for _, nd := range pn.nodes() {
			s := statsOf(t, sessions[nd])
			r, err := readRuntime(s)
			if err != nil {
				t.Fatalf("%s: %v", nd.name, err)
			}
			b := base[nd]
			heapLimit := uint64(soakHeapFactor*float64(b.heap)) + soakHeapSlack
			switch {
			case nd.provider && s["links"]["client_sessions"] != "0":
				bad = append(bad, fmt.Sprintf("%s: %s client sessions", nd.name, s["links"]["client_sessions"]))
			case r.goroutines > b.goroutines+soakGoroutineSlack || r.heap > heapLimit:
				bad = append(bad, fmt.Sprintf("%s: %d goroutines (limit %d), heap %d KiB (limit %d KiB), rss %d KiB",
					nd.name, r.goroutines, b.goroutines+soakGoroutineSlack, r.heap>>10, heapLimit>>10, r.rss>>10))
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back to the baseline %v after the load:\n%s", soakSettle, strings.Join(bad, "\n"))
		}
		<-time.After(500 * time.Millisecond) // polling a condition
	}
	for _, nd := range pn.nodes() {
		r, _ := readRuntime(statsOf(t, sessions[nd]))
		t.Logf("%s after the load: %d goroutines (baseline %d), heap %d KiB (baseline %d KiB), rss %d KiB (baseline %d KiB)",
			nd.name, r.goroutines, base[nd].goroutines, r.heap>>10, base[nd].heap>>10, r.rss>>10, base[nd].rss>>10)
	}
}

// statU reads a count from STATS.
func statU(s pnStats, section, key string) (uint64, error) {
	v, ok := s[section][key]
	if !ok {
		return 0, fmt.Errorf("STATS has no %s in [%s]", key, section)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("STATS [%s] %s = %q: not a count", section, key, v)
	}
	return n, nil
}

// statsReader reads counts, keeping the first error.
type statsReader struct {
	s   pnStats
	err error
}

func (r *statsReader) n(section, key string) uint64 {
	v, err := statU(r.s, section, key)
	if err != nil && r.err == nil {
		r.err = err
	}
	return v
}

// sumSection adds every count of a section but the keys in skip.
func (r *statsReader) sumSection(section string, skip ...string) uint64 {
	var total uint64
	for k := range r.s[section] {
		if !slices.Contains(skip, k) {
			total += r.n(section, k)
		}
	}
	return total
}

// dropCounters are the keys of [drops] that are not drop reasons.
var dropCounters = []string{"received", "forwarded", "delivered", "total_dropped"}

// dropsHaveReasons checks that mixd's total_dropped is the sum of its
// reason counters (and the Provider's, if it shows a total).
func dropsHaveReasons(s pnStats) error {
	r := &statsReader{s: s}
	if total, sum := r.n("drops", "total_dropped"), r.sumSection("drops", dropCounters...); total != sum {
		return fmt.Errorf("total_dropped %d, but its reasons add up to %d", total, sum)
	}
	if _, ok := s["provider_drops"]["total_dropped"]; ok {
		if total, sum := r.n("provider_drops", "total_dropped"), r.sumSection("provider_drops", "total_dropped"); total != sum {
			return fmt.Errorf("provider_drops total_dropped %d, but its reasons add up to %d", total, sum)
		}
	}
	return r.err
}

// queued is what a node's queues hold: the crypto workers', the
// scheduler's and the send queues, and with delivery the Provider's
// delivery and Kaetzchen queues.
func queued(s pnStats, delivery bool) uint64 {
	r := &statsReader{s: s}
	q := r.n("queues", "crypto_workers") + r.n("queues", "scheduler") + r.n("queues", "send_queues")
	if delivery {
		q += r.n("queues", "provider_delivery") + r.n("queues", "provider_kaetzchen")
	}
	return q
}

// providerDrops adds the Provider's drop reasons (its section has no
// total).
func providerDrops(s pnStats) uint64 {
	r := &statsReader{s: s}
	return r.sumSection("provider_drops", "total_dropped")
}

// account checks that every packet nd's mixd took in is accounted for:
// sent on, delivered, dropped for a counted reason or still queued.
//
// A mix: received = forwarded + total_dropped + queued.
//
// A Provider's mixd also sends what the Provider makes (SURB-ACKs,
// Kaetzchen replies, decoy loops) and counts client packets over the rate
// limit as received but leaves their drop to the Provider:
//
//	received + acks_sent + kaetzchen_replies + decoy sent
//	  = forwarded + delivered + total_dropped + rate_limited + queued + e1
//
// where e1, between 0 and the Provider's and the decoy loops' send_refused,
// is the packets the scheduler refused (counted by both sides). What
// mixd delivers, the Provider spools, answers, consumes as a decoy reply
// or drops:
//
//	delivered = stored + replies_stored + kaetzchen_replies
//	  + the Provider's drops before and at delivery + its queues
//	  + decoy returned + decoy bad_reply + e2
//
// where e2, between 0 and bad_surb + send_refused + decoy lost, is the
// Kaetzchen requests whose reply could not be sent and the late decoy
// replies (counted lost with the swept ones).
func account(nd *pnNode, s pnStats) error {
	if err := dropsHaveReasons(s); err != nil {
		return err
	}
	r := &statsReader{s: s}
	received, forwarded, delivered := r.n("drops", "received"), r.n("drops", "forwarded"), r.n("drops", "delivered")
	dropped := r.n("drops", "total_dropped")
	q := queued(s, false)
	if r.err != nil {
		return r.err
	}
	if !nd.provider {
		if delivered != 0 || received != forwarded+dropped+q {
			return fmt.Errorf("received %d != forwarded %d + dropped %d + queued %d (delivered %d)",
				received, forwarded, dropped, q, delivered)
		}
		return nil
	}
	rateLimited, sendRefused := r.n("provider_drops", "rate_limited"), r.n("provider_drops", "send_refused")
	badSURB, badSpool := r.n("provider_drops", "bad_surb"), r.n("provider_drops", "bad_spool_entry")
	atDelivery := providerDrops(s) - rateLimited - sendRefused - badSURB - badSpool
	acks, kz := r.n("provider", "acks_sent"), r.n("provider", "kaetzchen_replies")
	stored, replies := r.n("provider", "stored"), r.n("provider", "replies_stored")
	var dSent, dRefused, dReturned, dBad, dLost uint64
	if s["decoy"]["enabled"] == "true" {
		dSent, dRefused, dReturned = r.n("decoy", "sent"), r.n("decoy", "send_refused"), r.n("decoy", "returned")
		dBad, dLost = r.n("decoy", "bad_reply"), r.n("decoy", "lost")
	}
	pq := queued(s, true) - q
	if r.err != nil {
		return r.err
	}
	in := received + acks + kz + dSent
	out := forwarded + delivered + dropped + rateLimited + q
	if out < in || out-in > sendRefused+dRefused {
		return fmt.Errorf("received %d + acks_sent %d + kaetzchen_replies %d + decoys sent %d = %d; "+
			"forwarded %d + delivered %d + dropped %d + rate_limited %d + queued %d = %d (send_refused %d + %d)",
			received, acks, kz, dSent, in, forwarded, delivered, dropped, rateLimited, q, out, sendRefused, dRefused)
	}
	low := stored + replies + kz + atDelivery + pq + dReturned + dBad
	if delivered < low || delivered-low > badSURB+sendRefused+dLost {
		return fmt.Errorf("delivered %d; stored %d + replies_stored %d + kaetzchen_replies %d + dropped at delivery %d + queued %d "+
			"+ decoys returned %d + bad replies %d = %d (bad_surb %d, send_refused %d, decoys lost %d)",
			delivered, stored, replies, kz, atDelivery, pq, dReturned, dBad, low, badSURB, sendRefused, dLost)
	}
	return nil
}

// stableSections are the STATS sections that change only when a packet
// moves: equal in two snapshots, nothing moved between them.
var stableSections = []string{"drops", "queues", "provider", "provider_drops"}

// waitQuiet waits until the network is quiet: two rounds of STATS on every
// node in a row with nothing moved, every user-traffic queue empty and
// every node's counters accounted for (account). Decoy loops go on, so a
// round may see one move; the rounds repeat until a quiet pair. It
// returns the last round.
func waitQuiet(t *testing.T, pn *pnet, sessions map[*pnNode]*management.Client) map[*pnNode]pnStats {
	t.Helper()
	deadline := time.Now().Add(soakSettle)
	var prev map[*pnNode]pnStats
	for {
		cur := map[*pnNode]pnStats{}
		var problems []string
		for _, nd := range pn.nodes() {
			s := statsOf(t, sessions[nd])
			cur[nd] = s
			if err := account(nd, s); err != nil {
				problems = append(problems, nd.name+": "+err.Error())
			}
			if q := queued(s, nd.provider); q != 0 {
				problems = append(problems, fmt.Sprintf("%s: %d packets queued", nd.name, q))
			}
			if prev != nil {
				for _, sec := range stableSections {
					if !sameSection(prev[nd][sec], s[sec]) {
						problems = append(problems, fmt.Sprintf("%s: [%s] changed", nd.name, sec))
					}
				}
			}
		}
		if prev != nil && len(problems) == 0 {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("the network did not go quiet within %v:\n%s\n%s", soakSettle, strings.Join(problems, "\n"), formatStats(cur))
		}
		prev = cur
		<-time.After(200 * time.Millisecond) // polling a condition
	}
}

func sameSection(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// formatStats shows the counting sections of every node, for a failure.
func formatStats(all map[*pnNode]pnStats) string {
	var b strings.Builder
	var nodes []*pnNode
	for nd := range all {
		nodes = append(nodes, nd)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].name < nodes[j].name })
	for _, nd := range nodes {
		fmt.Fprintf(&b, "---- %s\n", nd.name)
		for _, sec := range append(slices.Clone(stableSections), "decoy") {
			if m, ok := all[nd][sec]; ok {
				fmt.Fprintf(&b, "[%s] %s\n", sec, nonZero(m))
			}
		}
	}
	return b.String()
}

// nonZero renders a section's entries other than "0", sorted.
func nonZero(m map[string]string) string {
	var kv []string
	for k, v := range m {
		if v != "0" {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

// checkMessages checks what the protocol promises: every message whose
// SURB-ACK came back was retrieved by its recipient exactly once; no
// message was retrieved that was not sent; every Provider spooled exactly
// what its user retrieved, and handed out no entry twice.
//
// Messages without an ACK were either lost or lost their ACK. What the
// killed mix held (its queues, and what was on its links) died with it,
// uncounted: that loss is bounded in time, to the messages sent from
// soakRoundTrip before the kill until the mix was back, and the test
// reports it. Every other loss, of a message, an ACK, a ping or its reply,
// must have a drop counted on some node.
func checkMessages(t *testing.T, pn *pnet, alice, bob *soakUser, o outage, final map[*pnNode]pnStats) {
	t.Helper()
	var lostOutside, lostInOutage, sentInOutage, acked, total, sentAfter, ackedAfter int
	inOutage := func(at time.Time) bool { return !at.Before(o.killed.Add(-soakRoundTrip)) && !at.After(o.back) }
	for _, dir := range []struct{ from, to *soakUser }{{alice, bob}, {bob, alice}} {
		from, to := dir.from, dir.to
		from.mu.Lock()
		sent := slices.Clone(from.sent)
		from.mu.Unlock()
		to.mu.Lock()
		got, bodies := maps.Clone(to.got), maps.Clone(to.gotBody)
		to.mu.Unlock()
		ids := map[client.MessageID]bool{}
		var dirAcked int
		for _, m := range sent {
			ids[m.id] = true
			isAcked := from.c.AckState(m.id) == client.AckDelivered
			n := got[m.id]
			switch {
			case n > 1:
				t.Errorf("%s's message %q retrieved %d times by %s", from.name, m.body, n, to.name)
			case n == 1 && bodies[m.id] != m.body:
				t.Errorf("%s's message %q retrieved by %s as %q", from.name, m.body, to.name, bodies[m.id])
			case isAcked && n == 0:
				t.Errorf("%s's message %q (sent %v) was acknowledged but %s never retrieved it",
					from.name, m.body, m.at.Format(time.StampMilli), to.name)
			}
			if inOutage(m.at) {
				sentInOutage++
			}
			if m.at.After(o.back) {
				sentAfter++
				if isAcked {
					ackedAfter++
				}
			}
			switch {
			case isAcked:
				dirAcked++
			case inOutage(m.at):
				lostInOutage++
			default:
				lostOutside++
			}
		}
		for id := range got {
			if !ids[id] {
				t.Errorf("%s retrieved message %v, which %s never sent", to.name, id, from.name)
			}
		}
		// The recipient's Provider spooled exactly the messages retrieved:
		// none stored twice, none left behind.
		var toProv *pnNode
		for _, nd := range pn.providers {
			if strings.HasSuffix(from.to, "@"+nd.name) {
				toProv = nd
			}
		}
		r := &statsReader{s: final[toProv]}
		stored, replies, retrieved := r.n("provider", "stored"), r.n("provider", "replies_stored"), r.n("provider", "retrieved")
		if r.err != nil {
			t.Fatal(r.err)
		}
		if stored != uint64(len(got)) {
			t.Errorf("%s stored %d messages, %s retrieved %d distinct ones", toProv.name, stored, to.name, len(got))
		}
		dups, connects := to.log.counts()
		if connects <= 1 && (dups != 0 || retrieved != stored+replies) {
			// One session throughout: stop-and-wait hands each entry out
			// once (client.md §8.2).
			t.Errorf("%s handed out %d entries for %d messages and %d SURB replies; %s's client discarded %d duplicates",
				toProv.name, retrieved, stored, replies, to.name, dups)
		}
		t.Logf("%s -> %s: %d sent, %d acknowledged, %d retrieved; %s: %d send errors; %d duplicates discarded, %d connections",
			from.name, to.name, len(sent), dirAcked, len(got), from.name, from.sendErrs, dups, connects)
		acked += dirAcked
		total += len(sent)
	}

	// Pings lost outside the outage count with the messages: each is a
	// packet lost somewhere.
	var pings, pingsLost int
	for _, u := range []*soakUser{alice, bob} {
		u.mu.Lock()
		pings += u.pings
		for _, at := range u.pingFails {
			if !inOutage(at) {
				pingsLost++
			}
		}
		if u.lastErr != nil {
			t.Logf("%s's last error: %v (%d send, %d retrieval errors)", u.name, u.lastErr, u.sendErrs, u.recvErrs)
		}
		u.mu.Unlock()
	}
	var drops uint64
	var byNode []string
	for _, nd := range pn.nodes() {
		s := final[nd]
		n := s.count(t, "total_dropped", "drops")
		if nd.provider {
			n += providerDrops(s)
		}
		drops += n
		byNode = append(byNode, fmt.Sprintf("%s: %s %s", nd.name, nonZero(s["drops"]), nonZero(s["provider_drops"])))
	}
	drops += o.drops
	t.Logf("drops by node (the killed %s also dropped %d before the kill):\n%s", o.name, o.drops, strings.Join(byNode, "\n"))
	t.Logf("%d of %d messages acknowledged; %d pings, %d failed outside the outage; during the outage of %s (%d queued at the kill): %d of %d messages sent unacknowledged",
		acked, total, pings, pingsLost, o.name, o.held, lostInOutage, sentInOutage)
	t.Logf("after %s was back: %d of %d messages acknowledged", o.name, ackedAfter, sentAfter)
	if acked == 0 || pings == 0 || ackedAfter == 0 {
		t.Fatalf("the load did not flow: %d messages acknowledged (%d after the restart), %d pings", acked, ackedAfter, pings)
	}
	// Every loss outside the outage has a reason: a drop counted on some
	// node (a lost message or its lost ACK, a lost ping or its reply).
	if uint64(lostOutside+pingsLost) > drops {
		t.Errorf("%d messages and %d pings lost outside the outage, but only %d drops counted", lostOutside, pingsLost, drops)
	}
}

// checkEpochCrossing checks that acknowledged messages were sent in the
// last seconds of an epoch, so that they crossed the epoch change on their
// way (every acknowledged message was retrieved: checkMessages).
func checkEpochCrossing(t *testing.T, pn *pnet, users []*soakUser) {
	t.Helper()
	crossing := 0
	for _, u := range users {
		u.mu.Lock()
		sent := slices.Clone(u.sent)
		u.mu.Unlock()
		for _, m := range sent {
			if _, _, till := pn.clock.At(m.at); till < 2*time.Second && u.c.AckState(m.id) == client.AckDelivered {
				crossing++
			}
		}
	}
	t.Logf("%d acknowledged messages were sent less than 2 s before an epoch change", crossing)
	if crossing == 0 {
		t.Error("no acknowledged message was sent just before an epoch change")
	}
}

// checkDecoys checks the Providers' decoy loops: some came back, and every
// loop sent is returned, lost or still out.
func checkDecoys(t *testing.T, pn *pnet, final map[*pnNode]pnStats) {
	t.Helper()
	for _, nd := range pn.providers {
		sec, ok := final[nd]["decoy"]
		if !ok {
			t.Errorf("%s: STATS has no [decoy] section", nd.name)
			continue
		}
		r := &statsReader{s: final[nd]}
		sent, returned, lost := r.n("decoy", "sent"), r.n("decoy", "returned"), r.n("decoy", "lost")
		outstanding := r.n("decoy", "outstanding")
		if r.err != nil {
			t.Errorf("%s: %v", nd.name, r.err)
			continue
		}
		t.Logf("%s decoys: %s", nd.name, nonZero(sec))
		if sec["enabled"] != "true" {
			t.Errorf("%s: decoy enabled = %q with SendDecoyTraffic = true", nd.name, sec["enabled"])
		}
		if returned == 0 || sent < returned+lost+outstanding {
			t.Errorf("%s: decoys sent %d, returned %d, lost %d, outstanding %d: want some returned and sent >= the rest",
				nd.name, sent, returned, lost, outstanding)
		}
	}
}
