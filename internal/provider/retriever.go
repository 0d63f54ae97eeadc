package provider

import (
	"context"
	"fmt"
	"sync"

	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// maxBadEntries bounds how many wrong-sized spool entries one
// RetrieveMessage removes before giving up, so one request does a bounded
// amount of work.
const maxBadEntries = 16

// Retriever is the Provider's side of one session's stop-and-wait retrieval
// (docs/spec/client.md §8.2). It keeps pending: the sequence number and spool
// entry last delivered in this session. It is safe for concurrent use, though
// a client sends one request at a time.
type Retriever struct {
	store spoolproto.Store
	user  []byte
	// msgLen and ackLen are the exact payload sizes of Message and
	// MessageACK (docs/spec/client.md §2.4): UserForwardPayloadLength and
	// PayloadLength.
	msgLen, ackLen int
	// onBad counts a spool entry removed for its size; may be nil.
	onBad func()

	mu         sync.Mutex
	hasPending bool
	pendingSeq uint32
	pendingID  spoolproto.MessageID
}

// NewRetriever returns the retrieval state of a new session of user over
// store, for geometry g. pending starts empty.
func NewRetriever(store spoolproto.Store, user []byte, g sphinx.Geometry) *Retriever {
	return &Retriever{
		store:  store,
		user:   append([]byte(nil), user...),
		msgLen: g.UserForwardPayloadLength,
		ackLen: g.PayloadLength,
	}
}

// Retrieve answers RetrieveMessage{seq} (docs/spec/client.md §8.2):
//
//  1. if seq is pending's sequence + 1 (mod 2^32), pending's entry is removed
//     from the spool, by its id, and pending is cleared;
//  2. otherwise nothing is removed and pending is cleared;
//  3. an empty spool is answered MessageEmpty{seq};
//  4. otherwise the head is answered as Message or MessageACK with sequence
//     seq and becomes pending.
//
// An error (spoold failed) leaves the spool as it was, except that a removal
// in step 1 may have happened; the caller ends the session, and the client
// asks again in a new one (§8.4).
func (r *Retriever) Retrieve(ctx context.Context, seq uint32) (link.Command, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hasPending && seq == r.pendingSeq+1 {
		if err := r.store.RemoveMessage(ctx, r.user, r.pendingID); err != nil {
			return nil, fmt.Errorf("provider: removing the acknowledged entry: %w", err)
		}
	}
	r.hasPending = false

	for range maxBadEntries {
		head, err := r.store.GetHead(ctx, r.user)
		if err != nil {
			return nil, fmt.Errorf("provider: reading the spool: %w", err)
		}
		if head.Message == nil {
			return &link.MessageEmpty{Sequence: seq}, nil
		}
		m := head.Message
		hint := uint8(min(max(head.Count-1, 0), 255))
		var cmd link.Command
		switch {
		case m.SURBID == nil && len(m.Body) == r.msgLen:
			cmd = &link.Message{Sequence: seq, QueueHint: hint, Payload: m.Body}
		case m.SURBID != nil && len(m.Body) == r.ackLen:
			cmd = &link.MessageACK{Sequence: seq, QueueHint: hint, SURBID: *m.SURBID, Payload: m.Body}
		default:
			// Stored under another geometry: it cannot be sent on
			// this link (§2.4), nor ever will be. Remove it.
			if err := r.store.RemoveMessage(ctx, r.user, m.ID); err != nil {
				return nil, fmt.Errorf("provider: removing an unsendable entry: %w", err)
			}
			if r.onBad != nil {
				r.onBad()
			}
			continue
		}
		r.hasPending, r.pendingSeq, r.pendingID = true, seq, m.ID
		return cmd, nil
	}
	return nil, fmt.Errorf("provider: more than %d unsendable spool entries in a row", maxBadEntries)
}
