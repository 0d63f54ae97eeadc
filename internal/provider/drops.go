package provider

import "sync/atomic"

// Reason says why the Provider dropped a packet or request. Values index the
// counters and are only ever appended to.
type Reason uint8

const (
	// DropNotTerminal: Deliver was given a packet that does not end here.
	DropNotTerminal Reason = iota
	// DropBadRecipient: the recipient id is neither a user name nor an
	// endpoint (docs/spec/client.md §1.3).
	DropBadRecipient
	// DropBadPayload: the forward payload framing is invalid (sphinx §8.2).
	DropBadPayload
	// DropQueueFull: the delivery workers' queue was full.
	DropQueueFull
	// DropTooLate: the packet waited longer than Debug.ProviderDelay for a
	// delivery worker.
	DropTooLate
	// DropUnknownUser: no such user at this Provider.
	DropUnknownUser
	// DropSpoolFull: the user's spool is full.
	DropSpoolFull
	// DropStoreRefused: spoold refused the message as invalid or too large.
	DropStoreRefused
	// DropStoreFailed: spoold could not be reached or failed.
	DropStoreFailed
	// DropReplyToEndpoint: a SURB reply addressed to a Kaetzchen endpoint
	// (docs/spec/client.md §9.1).
	DropReplyToEndpoint
	// DropKaetzchenQueueFull: the Kaetzchen workers' queue was full.
	DropKaetzchenQueueFull
	// DropKaetzchenTooLate: the request waited longer than
	// Debug.KaetzchenDelay for a Kaetzchen worker.
	DropKaetzchenTooLate
	// DropUnknownService: no service has this endpoint.
	DropUnknownService
	// DropServiceStopped: the service is stopped (STOP_KAETZCHEN).
	DropServiceStopped
	// DropNoSURB: a Kaetzchen request without a SURB (§9.1).
	DropNoSURB
	// DropServiceFailed: the service could not answer (its store failed).
	DropServiceFailed
	// DropBadSURB: the SURB could not be used to build a reply.
	DropBadSURB
	// DropSendRefused: the network callback refused the reply packet.
	DropSendRefused
	// DropRateLimited: a client sent over its rate limit.
	DropRateLimited
	// DropShuttingDown: the Provider was closing.
	DropShuttingDown
	// DropBadSpoolEntry: a spool entry of the wrong size for the current
	// geometry was removed at retrieval instead of being delivered.
	DropBadSpoolEntry

	numReasons
)

var reasonNames = [numReasons]string{
	DropNotTerminal:        "not_terminal",
	DropBadRecipient:       "bad_recipient",
	DropBadPayload:         "bad_payload",
	DropQueueFull:          "provider_queue_full",
	DropTooLate:            "provider_too_late",
	DropUnknownUser:        "unknown_user",
	DropSpoolFull:          "spool_full",
	DropStoreRefused:       "store_refused",
	DropStoreFailed:        "store_failed",
	DropReplyToEndpoint:    "reply_to_endpoint",
	DropKaetzchenQueueFull: "kaetzchen_queue_full",
	DropKaetzchenTooLate:   "kaetzchen_too_late",
	DropUnknownService:     "unknown_service",
	DropServiceStopped:     "service_stopped",
	DropNoSURB:             "kaetzchen_no_surb",
	DropServiceFailed:      "service_failed",
	DropBadSURB:            "bad_surb",
	DropSendRefused:        "send_refused",
	DropRateLimited:        "rate_limited",
	DropShuttingDown:       "shutting_down",
	DropBadSpoolEntry:      "bad_spool_entry",
}

// String is the reason's name in STATS and logs.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason in order, for printing all counters.
func Reasons() []Reason {
	rs := make([]Reason, numReasons)
	for i := range rs {
		rs[i] = Reason(i)
	}
	return rs
}

// counters are the Provider's event counts: one atomic word each, so
// counting on the packet path takes no lock and records nothing about the
// packet.
type counters struct {
	drops            [numReasons]atomic.Uint64
	stored           atomic.Uint64
	repliesStored    atomic.Uint64
	acksSent         atomic.Uint64
	kaetzchenReplies atomic.Uint64
	retrieved        atomic.Uint64
}

func (c *counters) drop(r Reason) {
	if r < numReasons {
		c.drops[r].Add(1)
	}
}
