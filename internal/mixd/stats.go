package mixd

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/splitmix/splitmix/internal/management"
	"github.com/splitmix/splitmix/internal/mixd/decoy"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/provider"
)

// stats is STATS (docs/management.md §4.11): the node's counters in
// sections. Counts and states only: nothing names a user, a packet or a
// client's address.
func (m *Mixd) stats(context.Context) management.Stats {
	var st management.Stats
	p := m.live.Load()
	dropSection(st.Add("drops"), m.drops.Snapshot())
	m.queueSection(st.Add("queues"), p)
	m.linkSection(st.Add("links"), p)
	m.epochSection(st.Add("epoch"), p)
	m.replaySection(st.Add("replay"))
	runtimeSection(st.Add("runtime"))
	if m.cfg.Server.IsProvider {
		sec := st.Add("provider")
		if p == nil || p.provider == nil {
			sec.Set("running", "false")
		} else {
			sec.Set("running", "true")
			providerSections(sec, st.Add("provider_drops"), p.provider.Stats())
		}
	}
	decoySection(st.Add("decoy"), p)
	return st
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// dropSection lists received, forwarded, delivered and every drop reason,
// zero or not, so that a reader finds each key.
func dropSection(sec *management.StatsSection, s drops.Snapshot) {
	sec.Set("received", u64(s.Received)).Set("forwarded", u64(s.Forwarded)).Set("delivered", u64(s.Delivered))
	for r := drops.Reason(0); r < drops.NumReasons; r++ {
		sec.Set(r.String(), u64(s.Dropped[r]))
	}
	sec.Set("total_dropped", u64(s.TotalDropped()))
}

// queueSection lists each bounded queue's depth and capacity.
func (m *Mixd) queueSection(sec *management.StatsSection, p *pipeline) {
	if p == nil {
		sec.Set("pipeline", "not_started")
		return
	}
	n, c := p.workers.Queued()
	sec.Set("crypto_workers", strconv.Itoa(n)).Set("crypto_workers_capacity", strconv.Itoa(c))
	ss := p.sched.Stats()
	sec.Set("scheduler", strconv.Itoa(ss.Queued)).Set("scheduler_capacity", strconv.Itoa(ss.Capacity))
	sec.Set("scheduler_dispatched", u64(ss.Dispatched))
	queued, capacity := 0, 0
	for _, l := range p.links.States() {
		queued += l.Queued
		capacity += l.Capacity
	}
	sec.Set("send_queues", strconv.Itoa(queued)).Set("send_queues_capacity", strconv.Itoa(capacity))
	if p.provider != nil {
		ps := p.provider.Stats()
		sec.Set("provider_delivery", strconv.Itoa(ps.DeliveryQueue)).
			Set("provider_delivery_capacity", strconv.Itoa(ps.DeliveryQueueCap)).
			Set("provider_kaetzchen", strconv.Itoa(ps.KaetzchenQueue)).
			Set("provider_kaetzchen_capacity", strconv.Itoa(ps.KaetzchenQueueCap))
	}
}

// linkSection lists the outgoing links by peer name (up or down) and how
// many incoming links of each kind are up.
func (m *Mixd) linkSection(sec *management.StatsSection, p *pipeline) {
	if p == nil {
		sec.Set("outgoing", "0").Set("outgoing_up", "0").Set("incoming_nodes", "0").Set("client_sessions", "0").
			Set("incoming_max", "0").Set("incoming_refused_full", "0").Set("incoming_refused_busy", "0").
			Set("client_recheck_failures", u64(m.recheckFailures.Load()))
		return
	}
	states := p.links.States()
	up := 0
	for _, l := range states {
		if l.Up {
			up++
		}
	}
	sec.Set("outgoing", strconv.Itoa(len(states))).Set("outgoing_up", strconv.Itoa(up))
	for _, l := range states {
		state := "down"
		if l.Up {
			state = "up"
		}
		sec.Set("to."+l.Name, state)
	}
	nodes, clients := p.in.Counts()
	sec.Set("incoming_nodes", strconv.Itoa(nodes)).Set("client_sessions", strconv.Itoa(clients))
	full, busy := p.in.Refused()
	sec.Set("incoming_max", strconv.Itoa(p.maxConns)).
		Set("incoming_refused_full", u64(full)).Set("incoming_refused_busy", u64(busy)).
		Set("client_recheck_failures", u64(m.recheckFailures.Load()))
}

// epochSection shows the clock and the documents mixd routes by.
func (m *Mixd) epochSection(sec *management.StatsSection, p *pipeline) {
	e, elapsed, till := m.clock.Current()
	sec.Set("current", u64(e)).Set("elapsed", elapsed.Round(1e6).String()).Set("till_next", till.Round(1e6).String())
	sec.Set("period", m.clock.Period.String())
	var views []string
	for _, v := range m.table.Epochs() {
		views = append(views, u64(v))
	}
	sec.Set("documents", strings.Join(views, ","))
	sec.Set("routing", strconv.FormatBool(p != nil))
}

// replaySection shows each Sphinx key's replay filter.
func (m *Mixd) replaySection(sec *management.StatsSection) {
	for _, e := range m.ring.Epochs() {
		fs, ok := m.ring.FilterStats(e)
		if !ok {
			continue
		}
		prefix := "epoch_" + u64(e) + "_"
		sec.Set(prefix+"tags", u64(fs.Count)).Set(prefix+"capacity", u64(fs.Capacity)).Set(prefix+"refused", u64(fs.Refused))
	}
}

// providerSections shows the Provider's counters and its drops by reason.
func providerSections(sec, dropSec *management.StatsSection, s provider.Stats) {
	sec.Set("stored", u64(s.Stored)).
		Set("replies_stored", u64(s.RepliesStored)).
		Set("acks_sent", u64(s.AcksSent)).
		Set("kaetzchen_replies", u64(s.KaetzchenReplies)).
		Set("retrieved", u64(s.Retrieved)).
		Set("connected_users", strconv.Itoa(s.ConnectedUsers)).
		Set("sessions", strconv.Itoa(s.Sessions)).
		Set("ephemeral_users", strconv.Itoa(s.EphemeralUsers))
	caps := make([]string, 0, len(s.Services))
	for c := range s.Services {
		caps = append(caps, c)
	}
	slices.Sort(caps)
	for _, c := range caps {
		state := "stopped"
		if s.Services[c] {
			state = "running"
		}
		sec.Set("service."+c, state)
	}
	for _, r := range provider.Reasons() {
		dropSec.Set(r.String(), u64(s.Drop(r)))
	}
}

// runtimeSection shows what the process holds: goroutines, Go heap and
// resident memory, so that an operator (and the soak test) can see that a
// load leaves nothing behind once it is gone.
func runtimeSection(sec *management.StatsSection) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	sec.Set("goroutines", strconv.Itoa(runtime.NumGoroutine())).
		Set("heap_alloc_bytes", u64(ms.HeapAlloc)).
		Set("heap_objects", u64(ms.HeapObjects)).
		Set("sys_bytes", u64(ms.Sys)).
		Set("rss_bytes", u64(residentBytes()))
}

// residentBytes reads VmRSS from /proc/self/status; 0 where there is none.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// decoySection shows the Provider's decoy loops (docs/spec/decoy.md §6).
// Every node lists every key, zero where no loops run, so that a reader
// (and the soak test) finds each key.
func decoySection(sec *management.StatsSection, p *pipeline) {
	var s decoy.Stats
	enabled := p != nil && p.decoy != nil
	if enabled {
		s = p.decoy.Stats()
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	sec.Set("enabled", strconv.FormatBool(enabled)).
		Set("sent", u64(s.Sent)).
		Set("returned", u64(s.Returned)).
		Set("lost", u64(s.Lost)).
		Set("outstanding", strconv.Itoa(s.Outstanding)).
		Set("bad_reply", u64(s.BadReply)).
		Set("unmatched", u64(s.Unmatched)).
		Set("no_document", u64(s.NoDocument)).
		Set("no_echo", u64(s.NoEcho)).
		Set("no_route", u64(s.NoRoute)).
		Set("table_full", u64(s.TableFull)).
		Set("send_refused", u64(s.SendRefused)).
		Set("build_failed", u64(s.BuildFailed)).
		Set("rtt_last_ms", ms(s.RTTLast)).
		Set("rtt_mean_ms", ms(s.RTTMean)).
		Set("rtt_max_ms", ms(s.RTTMax)).
		Set("mean_interval_ms", ms(s.MeanInterval))
}
