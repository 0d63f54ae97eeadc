package management

import (
	"strconv"
	"sync/atomic"
)

// Counters are the management socket's own counts since the server
// started, shown by STATS in the section "management".
type Counters struct {
	Accepted  uint64 // connections admitted
	Refused   uint64 // callers refused by the credential check (530)
	Busy      uint64 // connections turned away at MaxConns (421)
	Commands  uint64 // command lines answered
	Malformed uint64 // lines answered 500 or 501
	Failed    uint64 // commands answered 502 or 554
	TimedOut  uint64 // sessions closed for being idle
}

type counters struct {
	accepted, refused, busy, commands, malformed, failed, timedOut atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Accepted:  c.accepted.Load(),
		Refused:   c.refused.Load(),
		Busy:      c.busy.Load(),
		Commands:  c.commands.Load(),
		Malformed: c.malformed.Load(),
		Failed:    c.failed.Load(),
		TimedOut:  c.timedOut.Load(),
	}
}

// count records the outcome of one answered line.
func (c *counters) count(code int) {
	c.commands.Add(1)
	switch code {
	case CodeUnknown, CodeBadArguments:
		c.malformed.Add(1)
	case CodeNotAvailable, CodeFailed:
		c.failed.Add(1)
	}
}

func (c Counters) section() *StatsSection {
	sec := &StatsSection{Name: "management"}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return sec.Set("accepted", u(c.Accepted)).
		Set("refused", u(c.Refused)).
		Set("busy", u(c.Busy)).
		Set("commands", u(c.Commands)).
		Set("malformed", u(c.Malformed)).
		Set("failed", u(c.Failed)).
		Set("timed_out", u(c.TimedOut))
}
