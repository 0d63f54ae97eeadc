package decoy

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the loop counters of docs/spec/decoy.md §6.
type Stats struct {
	// Sent loops were handed to the scheduler.
	Sent uint64
	// Returned loops came back in time with the right payload.
	Returned uint64
	// Lost loops were not back by their deadline.
	Lost uint64
	// Outstanding loops are in flight now.
	Outstanding int
	// BadReply counts consumed replies that failed authentication or
	// carried the wrong payload.
	BadReply uint64
	// Unmatched counts replies to the decoy recipient with an unknown
	// SURB id; they were not consumed.
	Unmatched uint64
	// NoDocument, NoEcho, NoRoute, TableFull and SendRefused count loops
	// not sent, by reason.
	NoDocument  uint64
	NoEcho      uint64
	NoRoute     uint64
	TableFull   uint64
	SendRefused uint64
	// BuildFailed counts loops not sent because building the packet
	// failed (the random source, or a geometry the SURB does not fit).
	BuildFailed uint64
	// RTTLast, RTTMean and RTTMax are the round-trip times of returned
	// loops (zero before the first).
	RTTLast time.Duration
	RTTMean time.Duration
	RTTMax  time.Duration
	// MeanInterval is the mean time between loops now in use (§2.2).
	MeanInterval time.Duration
}

// counters are Stats as the running code updates them; the table keeps
// Sent and Outstanding.
type counters struct {
	returned, lost, badReply, unmatched                 atomic.Uint64
	noDocument, noEcho, noRoute, tableFull, sendRefused atomic.Uint64
	buildFailed                                         atomic.Uint64
	meanInterval                                        atomic.Int64

	rttMu    sync.Mutex
	rttLast  time.Duration
	rttMax   time.Duration
	rttSum   time.Duration
	rttCount uint64
}

// returnedAfter counts a returned loop and its round-trip time.
func (c *counters) returnedAfter(rtt time.Duration) {
	rtt = max(rtt, 0) // a clock step backwards must not make it negative
	c.rttMu.Lock()
	c.rttLast = rtt
	c.rttMax = max(c.rttMax, rtt)
	c.rttSum += rtt
	c.rttCount++
	c.rttMu.Unlock()
	c.returned.Add(1)
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Returned: c.returned.Load(), Lost: c.lost.Load(),
		BadReply: c.badReply.Load(), Unmatched: c.unmatched.Load(),
		NoDocument: c.noDocument.Load(), NoEcho: c.noEcho.Load(), NoRoute: c.noRoute.Load(),
		TableFull: c.tableFull.Load(), SendRefused: c.sendRefused.Load(), BuildFailed: c.buildFailed.Load(),
		MeanInterval: time.Duration(c.meanInterval.Load()),
	}
	c.rttMu.Lock()
	s.RTTLast, s.RTTMax = c.rttLast, c.rttMax
	if c.rttCount > 0 {
		s.RTTMean = c.rttSum / time.Duration(c.rttCount)
	}
	c.rttMu.Unlock()
	return s
}
