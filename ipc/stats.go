package ipc

import "sync/atomic"

// ServerStats counts what a server has seen since it was created. Every
// refusal and every fault of ipc/PROTOCOL.md §7 has its own counter.
type ServerStats struct {
	Accepted      uint64 // connections accepted from a listener (before the hello)
	Refused       uint64 // callers the Authorizer refused (or whose credentials were unreadable)
	BadHellos     uint64 // hellos that did not decode, or named another protocol or version
	Active        int64  // connections currently established
	Requests      uint64 // requests dispatched to a handler
	BadFrames     uint64 // framing or envelope faults: connection closed
	BadMessages   uint64 // bodies that did not decode: answered CodeInvalid
	UnknownTypes  uint64 // message types not in the routes: connection closed
	WrongRole     uint64 // message types the caller's role may not send: connection closed
	HandlerErrors uint64 // handler calls that returned an error (including BadMessages)
	Panics        uint64 // handler panics: connection closed
}

// serverCounters is the live, concurrently updated form of ServerStats.
type serverCounters struct {
	accepted, refused, badHellos, requests, badFrames, badMessages,
	unknownTypes, wrongRole, handlerErrors, panics atomic.Uint64
	active atomic.Int64
}

func (c *serverCounters) snapshot() ServerStats {
	return ServerStats{
		Accepted:      c.accepted.Load(),
		Refused:       c.refused.Load(),
		BadHellos:     c.badHellos.Load(),
		Active:        c.active.Load(),
		Requests:      c.requests.Load(),
		BadFrames:     c.badFrames.Load(),
		BadMessages:   c.badMessages.Load(),
		UnknownTypes:  c.unknownTypes.Load(),
		WrongRole:     c.wrongRole.Load(),
		HandlerErrors: c.handlerErrors.Load(),
		Panics:        c.panics.Load(),
	}
}
