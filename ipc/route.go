package ipc

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// HandlerFunc answers one request. body is the request's encoded body
// (decode it with Unmarshal, or let Handle do it); reply is encoded with
// Marshal (nil encodes as CBOR null). An *Error anywhere in err's chain
// is sent to the caller with its own code and message (text wrapped around
// it stays local); any other error is sent as CodeInternal
// with a generic message, and its detail is logged. ctx ends when the
// connection or the server closes.
type HandlerFunc func(ctx context.Context, p Peer, body []byte) (reply any, err error)

// errBadBody marks the CodeInvalid errors of Handle, so the server counts
// them as bad messages.
var errBadBody = errors.New("request body does not decode")

// Handle adapts a typed handler: it strictly decodes the body into a new
// Req (an undecodable body is answered with CodeInvalid and never reaches
// fn) and returns fn's reply.
func Handle[Req, Rep any](fn func(ctx context.Context, p Peer, req *Req) (*Rep, error)) HandlerFunc {
	return func(ctx context.Context, p Peer, body []byte) (any, error) {
		req := new(Req)
		if err := Unmarshal(body, req); err != nil {
			return nil, &Error{Code: CodeInvalid, Msg: fmt.Sprintf("request body: %v", err), cause: errBadBody}
		}
		rep, err := fn(ctx, p, req)
		if err != nil {
			return nil, err
		}
		return rep, nil
	}
}

// Route is one row of a server's dispatch table: who may send a message
// type, and what answers it. See ipc/PROTOCOL.md §7.
type Route struct {
	From   []Role
	Handle HandlerFunc
}

// Routes is a server's dispatch table. A message type not in it, or from a
// role its route does not list, closes the connection.
// See ipc/PROTOCOL.md §7.
type Routes map[MsgType]Route

func (r Route) allows(role Role) bool { return slices.Contains(r.From, role) }

// validate catches rows that could never be used.
func (rs Routes) validate() error {
	if len(rs) == 0 {
		return errors.New("ipc: no routes")
	}
	for t, r := range rs {
		if r.Handle == nil {
			return fmt.Errorf("ipc: route for message type %d has no handler", t)
		}
		if len(r.From) == 0 {
			return fmt.Errorf("ipc: route for message type %d allows no role", t)
		}
	}
	return nil
}
