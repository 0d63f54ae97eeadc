// Package drops counts the packets mixd drops, by reason.
//
// The reasons are a fixed enum and the counters are atomic words, so counting
// a drop on the packet path is one atomic add: no lock, no allocation, nothing
// that identifies the packet. Snapshot and Snapshot.String give the operator
// view: mixd logs the non-zero counts at NOTICE every minute and on SIGUSR1,
// and the management socket (a later issue) can serve the same Snapshot.
//
// Every place a packet can leave the pipeline without being sent has a
// reason here (DESIGN.md: "Counters for every packet dropped, by reason").
package drops

import (
	"strconv"
	"strings"
	"sync/atomic"
)

// Reason says why a packet was dropped. Values are stable: they index the
// counters and name them in logs, and new reasons are only ever appended.
type Reason uint8

// The reasons, roughly in pipeline order.
const (
	// InboundQueueFull: the crypto workers' queue was full when the packet
	// arrived from a link.
	InboundQueueFull Reason = iota
	// UnwrapTooLate: the packet waited longer than Debug.UnwrapDelay for a
	// crypto worker.
	UnwrapTooLate
	// BadSize: the packet is not the geometry's packet length.
	BadSize
	// BadHeader: wrong Sphinx version or an invalid group element.
	BadHeader
	// NoKey: no Sphinx key is held for the epoch the packet arrived in.
	NoKey
	// UnwrapFailed: the header MAC failed under every Sphinx key tried.
	UnwrapFailed
	// BadCommands: the routing commands are malformed.
	BadCommands
	// Replay: the packet's replay tag was seen before under that key.
	Replay
	// ReplayFilterFull: the key's replay filter is at capacity and refuses
	// new tags (the node receives more than it was sized for).
	ReplayFilterFull
	// NotForMix: the packet ends at this node (a recipient or SURB reply
	// command), but a mix delivers nothing.
	NotForMix
	// NoDocument: no PKI document to route by.
	NoDocument
	// UnknownNextHop: the next hop is not in the next layer of the document.
	UnknownNextHop
	// DelayTooLong: the packet asks to be held longer than the document's
	// maximum per-hop delay.
	DelayTooLong
	// SchedulerQueueFull: random drop by the full scheduler queue
	// (Debug.SchedulerQueueSize).
	SchedulerQueueFull
	// SchedulerTooLate: the scheduler popped the packet more than
	// Debug.SchedulerSlack after its dispatch time.
	SchedulerTooLate
	// Storage: the disk-backed scheduler queue failed to store or read it.
	Storage
	// LinkDown: no link to the next hop was up when the packet was due.
	LinkDown
	// SendQueueFull: the next hop's send queue was full.
	SendQueueFull
	// SendTooLate: the packet waited in a send queue longer than
	// Debug.SendSlack.
	SendTooLate
	// ShuttingDown: the packet was still queued when mixd stopped.
	ShuttingDown
	// ClientTerminal: a client's packet ends at its own Provider, which is
	// only ever hop 0 of a client's path (docs/spec/client.md §4.1).
	ClientTerminal
	// ProviderNotTerminal: a packet from the last mix layer does not end at
	// this Provider: a Provider relays nothing back into the network.
	ProviderNotTerminal

	// NumReasons is the number of reasons.
	NumReasons
)

var names = [NumReasons]string{
	InboundQueueFull:    "inbound_queue_full",
	UnwrapTooLate:       "unwrap_too_late",
	BadSize:             "bad_size",
	BadHeader:           "bad_header",
	NoKey:               "no_key",
	UnwrapFailed:        "unwrap_failed",
	BadCommands:         "bad_commands",
	Replay:              "replay",
	ReplayFilterFull:    "replay_filter_full",
	NotForMix:           "not_for_mix",
	NoDocument:          "no_document",
	UnknownNextHop:      "unknown_next_hop",
	DelayTooLong:        "delay_too_long",
	SchedulerQueueFull:  "scheduler_queue_full",
	SchedulerTooLate:    "scheduler_too_late",
	Storage:             "storage",
	LinkDown:            "link_down",
	SendQueueFull:       "send_queue_full",
	SendTooLate:         "send_too_late",
	ShuttingDown:        "shutting_down",
	ClientTerminal:      "client_terminal",
	ProviderNotTerminal: "provider_not_terminal",
}

// String returns the reason's name as it appears in logs.
func (r Reason) String() string {
	if r < NumReasons {
		return names[r]
	}
	return "reason_" + strconv.Itoa(int(r))
}

// ParseReason returns the reason with the given name.
func ParseReason(name string) (Reason, bool) {
	for i, n := range names {
		if n == name {
			return Reason(i), true
		}
	}
	return 0, false
}

// Counters counts drops by reason, plus the packets that went through.
// The zero value is ready; it is safe for concurrent use and must not be
// copied after first use.
type Counters struct {
	dropped   [NumReasons]atomic.Uint64
	received  atomic.Uint64
	forwarded atomic.Uint64
	delivered atomic.Uint64
}

// Drop counts one packet dropped for r. Reasons out of range are ignored
// (they cannot be constructed outside this package's constants).
func (c *Counters) Drop(r Reason) {
	if r < NumReasons {
		c.dropped[r].Add(1)
	}
}

// Received counts one packet taken off a link.
func (c *Counters) Received() { c.received.Add(1) }

// Forwarded counts one packet written to the next hop's link.
func (c *Counters) Forwarded() { c.forwarded.Add(1) }

// Delivered counts one packet that ended at this Provider and was handed to
// the Provider's delivery (which counts its own drops).
func (c *Counters) Delivered() { c.delivered.Add(1) }

// Snapshot is a copy of the counters at one moment.
type Snapshot struct {
	Dropped   [NumReasons]uint64
	Received  uint64
	Forwarded uint64
	Delivered uint64
}

// Snapshot reads every counter. The counters are read one by one, so a
// snapshot taken under load is not one atomic instant; each value is exact.
func (c *Counters) Snapshot() Snapshot {
	var s Snapshot
	for i := range c.dropped {
		s.Dropped[i] = c.dropped[i].Load()
	}
	s.Received = c.received.Load()
	s.Forwarded = c.forwarded.Load()
	s.Delivered = c.delivered.Load()
	return s
}

// TotalDropped is the sum over every reason.
func (s Snapshot) TotalDropped() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// String renders the snapshot as space-separated name=count pairs:
// received and forwarded always, delivered when not zero (a Provider), then
// every reason with a non-zero count, in enum order. For example
//
//	received=120 forwarded=117 replay=2 link_down=1
//
// Parse reads it back.
func (s Snapshot) String() string {
	var b strings.Builder
	b.WriteString("received=")
	b.WriteString(strconv.FormatUint(s.Received, 10))
	b.WriteString(" forwarded=")
	b.WriteString(strconv.FormatUint(s.Forwarded, 10))
	if s.Delivered != 0 {
		b.WriteString(" delivered=")
		b.WriteString(strconv.FormatUint(s.Delivered, 10))
	}
	for i, v := range s.Dropped {
		if v == 0 {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(names[i])
		b.WriteByte('=')
		b.WriteString(strconv.FormatUint(v, 10))
	}
	return b.String()
}

// Parse reads what Snapshot.String wrote. Unknown names are an error, so a
// reader built against an older enum notices a newer daemon.
func Parse(text string) (Snapshot, error) {
	var s Snapshot
	for _, field := range strings.Fields(text) {
		name, val, ok := strings.Cut(field, "=")
		if !ok {
			return Snapshot{}, &ParseError{Field: field, Why: "not name=count"}
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return Snapshot{}, &ParseError{Field: field, Why: "count is not a number"}
		}
		switch name {
		case "received":
			s.Received = n
		case "forwarded":
			s.Forwarded = n
		case "delivered":
			s.Delivered = n
		default:
			r, ok := ParseReason(name)
			if !ok {
				return Snapshot{}, &ParseError{Field: field, Why: "unknown reason"}
			}
			s.Dropped[r] = n
		}
	}
	return s, nil
}

// ParseError reports a field Parse could not read.
type ParseError struct {
	Field string
	Why   string
}

func (e *ParseError) Error() string {
	return "drops: " + strconv.Quote(e.Field) + ": " + e.Why
}
