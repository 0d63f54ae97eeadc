package client

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/sphinx"
)

// Errors of SURB reply handling (docs/spec/client.md §5.4, §7.2).
var (
	// ErrTooManySURBs: the table of outstanding SURBs is full (§5.4).
	ErrTooManySURBs = errors.New("client: too many outstanding SURBs")
	// ErrUnknownSURB: a reply's SURB id is not outstanding: never ours,
	// expired, or already answered.
	ErrUnknownSURB = errors.New("client: reply for an unknown or expired SURB")
)

// surbKind says what an outstanding SURB is for.
type surbKind uint8

const (
	surbACK     surbKind = iota + 1 // a SURB-ACK of a sent message (§7)
	surbRequest                     // a Kaetzchen request (§9)
)

// Reply is a Kaetzchen reply delivered through a SURB.
type Reply struct {
	// Payload is the decrypted reply payload (ForwardPayloadLength bytes).
	Payload []byte
	// RTT is the time from sending the request to retrieving the reply.
	RTT time.Duration
}

// surbEntry is one outstanding SURB.
type surbEntry struct {
	kind     surbKind
	keys     sphinx.SURBKeys
	deadline time.Time
	sentAt   time.Time
	msgID    MessageID          // surbACK
	check    func([]byte) error // surbRequest: validates the reply, may be nil
	done     chan Reply         // surbRequest: receives the reply; buffered 1
}

// AckState is what the client knows about a message sent with a SURB-ACK.
type AckState uint8

// Ack states (§7.2, §7.3).
const (
	AckUnknown   AckState = iota // never sent with an ACK, or forgotten
	AckPending                   // ACK not yet received, SURB not expired
	AckDelivered                 // the destination Provider spooled it
	AckExpired                   // the SURB expired without an ACK
)

func (s AckState) String() string {
	switch s {
	case AckPending:
		return "pending"
	case AckDelivered:
		return "delivered"
	case AckExpired:
		return "not acknowledged"
	}
	return "unknown"
}

// demux keeps the outstanding SURBs and matches SURB replies to them by SURB
// id (docs/spec/client.md §5.3, §5.4, §7.2). It is safe for concurrent use.
type demux struct {
	mu        sync.Mutex
	max       int
	pending   map[sphinx.SURBID]*surbEntry
	byMsg     map[MessageID]sphinx.SURBID
	delivered *idSet[MessageID]
	expired   *idSet[MessageID]
}

func newDemux(max int) *demux {
	return &demux{
		max:       max,
		pending:   make(map[sphinx.SURBID]*surbEntry),
		byMsg:     make(map[MessageID]sphinx.SURBID),
		delivered: newIDSet[MessageID](max),
		expired:   newIDSet[MessageID](max),
	}
}

// expireLocked forgets every entry past its deadline.
func (d *demux) expireLocked(now time.Time) {
	for id, e := range d.pending {
		if now.After(e.deadline) {
			d.dropLocked(id, e)
			if e.kind == surbACK {
				d.expired.add(e.msgID)
			}
		}
	}
}

func (d *demux) dropLocked(id sphinx.SURBID, e *surbEntry) {
	delete(d.pending, id)
	if e.kind == surbACK {
		delete(d.byMsg, e.msgID)
	}
	clear(e.keys)
}

// add registers an outstanding SURB, expiring old entries first; it fails
// with ErrTooManySURBs when the table stays full.
func (d *demux) add(id sphinx.SURBID, e *surbEntry, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.pending[id]; dup {
		return fmt.Errorf("client: SURB id collision")
	}
	if len(d.pending) >= d.max {
		d.expireLocked(now)
		if len(d.pending) >= d.max {
			return fmt.Errorf("%w (%d)", ErrTooManySURBs, d.max)
		}
	}
	d.pending[id] = e
	if e.kind == surbACK {
		d.byMsg[e.msgID] = id
	}
	return nil
}

// cancel forgets an outstanding SURB (its packet could not be sent).
func (d *demux) cancel(id sphinx.SURBID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.pending[id]; ok {
		d.dropLocked(id, e)
	}
}

// take removes and returns the entry for id if it is outstanding and not
// expired.
func (d *demux) take(id sphinx.SURBID, now time.Time) (*surbEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.pending[id]
	if !ok {
		return nil, false
	}
	delete(d.pending, id)
	if e.kind == surbACK {
		delete(d.byMsg, e.msgID)
	}
	if now.After(e.deadline) {
		if e.kind == surbACK {
			d.expired.add(e.msgID)
		}
		clear(e.keys)
		return nil, false
	}
	return e, true
}

// deliver handles one SURB reply retrieved from the spool (a MessageACK):
// it looks the SURB up, decrypts payload (in place) and completes the ACK or
// request. Every failure means the reply is discarded.
func (d *demux) deliver(sph *sphinx.Sphinx, id sphinx.SURBID, payload []byte, now time.Time) error {
	e, ok := d.take(id, now)
	if !ok {
		return ErrUnknownSURB
	}
	defer clear(e.keys)
	reply, err := sph.DecryptSURBPayload(e.keys, payload)
	if err != nil {
		return err
	}
	switch e.kind {
	case surbACK:
		if err := checkACK(reply); err != nil {
			return err
		}
		d.mu.Lock()
		d.delivered.add(e.msgID)
		d.mu.Unlock()
	case surbRequest:
		if e.check != nil {
			if err := e.check(reply); err != nil {
				return err
			}
		}
		e.done <- Reply{Payload: append([]byte{}, reply...), RTT: now.Sub(e.sentAt)}
	}
	return nil
}

// ackState reports what is known of a message sent with a SURB-ACK.
func (d *demux) ackState(id MessageID, now time.Time) AckState {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.delivered.has(id):
		return AckDelivered
	case d.expired.has(id):
		return AckExpired
	}
	sid, ok := d.byMsg[id]
	if !ok {
		return AckUnknown
	}
	if now.After(d.pending[sid].deadline) {
		d.dropLocked(sid, d.pending[sid])
		d.expired.add(id)
		return AckExpired
	}
	return AckPending
}

// outstanding is the number of SURBs in the table.
func (d *demux) outstanding() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}
