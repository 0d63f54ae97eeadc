package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// spoolEntry stores a user message (surb false) or a SURB reply entry of
// the right size for the default geometry, tagged with tag.
func spoolEntry(t *testing.T, st spoolproto.Store, user []byte, tag byte, surb bool) *spoolproto.Message {
	t.Helper()
	g := sphinx.DefaultGeometry()
	m := &spoolproto.Message{Body: make([]byte, g.UserForwardPayloadLength)}
	if surb {
		m.Body = make([]byte, g.PayloadLength)
		m.SURBID = new(spoolproto.SURBID)
		m.SURBID[0] = tag
	}
	m.Body[0] = tag
	if _, err := rand.Read(m.ID[:]); err != nil {
		t.Fatal(err)
	}
	if err := st.StoreMessage(ctxT(t), user, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// retrieve asks for seq and checks the answer's type, sequence, hint and tag
// (first payload byte); tag < 0 means MessageEmpty.
func retrieve(t *testing.T, r retrieverOf, seq uint32, tag int, hint uint8) {
	t.Helper()
	cmd, err := r.Retrieve(ctxT(t), seq)
	if err != nil {
		t.Fatal(err)
	}
	switch c := cmd.(type) {
	case *link.MessageEmpty:
		if tag >= 0 || c.Sequence != seq {
			t.Fatalf("seq %d: MessageEmpty{%d}, want tag %d", seq, c.Sequence, tag)
		}
	case *link.Message:
		if c.Sequence != seq || int(c.Payload[0]) != tag || c.QueueHint != hint {
			t.Fatalf("seq %d: Message{%d, hint %d, tag %d}, want tag %d hint %d", seq, c.Sequence, c.QueueHint, c.Payload[0], tag, hint)
		}
	case *link.MessageACK:
		if c.Sequence != seq || int(c.Payload[0]) != tag || int(c.SURBID[0]) != tag || c.QueueHint != hint {
			t.Fatalf("seq %d: MessageACK{%d, hint %d, tag %d}, want tag %d hint %d", seq, c.Sequence, c.QueueHint, c.Payload[0], tag, hint)
		}
	default:
		t.Fatalf("seq %d: answer %T", seq, cmd)
	}
}

// retrieverOf is a Retriever or a Session seen as one.
type retrieverOf interface {
	Retrieve(ctx context.Context, seq uint32) (link.Command, error)
}

// sessionRetriever retrieves through Session.RetrieveMessage.
type sessionRetriever struct{ *Session }

func (s sessionRetriever) Retrieve(ctx context.Context, seq uint32) (link.Command, error) {
	return s.RetrieveMessage(ctx, &link.RetrieveMessage{Sequence: seq})
}

func spoolCount(t *testing.T, st spoolproto.Store, user []byte) int {
	t.Helper()
	head, err := st.GetHead(ctxT(t), user)
	if err != nil {
		t.Fatal(err)
	}
	return head.Count
}

// The stop-and-wait sequence of docs/spec/client.md §8.2 and §8.3 over a
// spool mixing messages and ACK entries.
func TestRetrieveStopAndWait(t *testing.T) {
	st := store(t)
	user := addUser(t, st)
	spoolEntry(t, st, user, 1, false)
	spoolEntry(t, st, user, 2, true)
	spoolEntry(t, st, user, 3, false)
	r := NewRetriever(st, user, sphinx.DefaultGeometry())

	retrieve(t, r, 0, 1, 2) // head, two more behind it
	retrieve(t, r, 0, 1, 2) // the same seq again: the same entry
	if n := spoolCount(t, st, user); n != 3 {
		t.Fatalf("removed before the ack: %d left", n)
	}
	retrieve(t, r, 1, 2, 1) // acks 1, delivers the ACK entry
	if n := spoolCount(t, st, user); n != 2 {
		t.Fatalf("after the ack: %d left", n)
	}
	retrieve(t, r, 1, 2, 1) // repeat: same entry, nothing removed
	retrieve(t, r, 2, 3, 0)
	retrieve(t, r, 3, -1, 0) // acks 3: empty
	if n := spoolCount(t, st, user); n != 0 {
		t.Fatalf("drained spool holds %d", n)
	}
	retrieve(t, r, 3, -1, 0) // empty stays empty; nothing pending
	retrieve(t, r, 4, -1, 0)

	// A new entry after an empty answer: asking seq+1 after MessageEmpty
	// acknowledges nothing.
	spoolEntry(t, st, user, 4, false)
	retrieve(t, r, 4, 4, 0)
	// An unrelated number asks for the head without acknowledging, and
	// clears pending: the following +1 acknowledges only what was
	// delivered under the unrelated number.
	retrieve(t, r, 9, 4, 0)
	if n := spoolCount(t, st, user); n != 1 {
		t.Fatalf("unrelated seq removed an entry: %d left", n)
	}
	retrieve(t, r, 10, -1, 0)
}

// After a non-matching request clears pending, the old sequence + 1 no
// longer acknowledges anything.
func TestRetrievePendingCleared(t *testing.T) {
	st := store(t)
	user := addUser(t, st)
	spoolEntry(t, st, user, 1, false)
	spoolEntry(t, st, user, 2, false)
	r := NewRetriever(st, user, sphinx.DefaultGeometry())
	retrieve(t, r, 5, 1, 1)
	retrieve(t, r, 7, 1, 1) // not 6: nothing removed, pending = (7, e1)
	retrieve(t, r, 6, 1, 1) // 6 is not 7+1: nothing removed
	if n := spoolCount(t, st, user); n != 2 {
		t.Fatalf("%d left, want 2", n)
	}
	retrieve(t, r, 7, 2, 0) // 6+1: acknowledges e1
}

// Sequence numbers wrap modulo 2^32.
func TestRetrieveWraps(t *testing.T) {
	st := store(t)
	user := addUser(t, st)
	spoolEntry(t, st, user, 1, false)
	spoolEntry(t, st, user, 2, false)
	r := NewRetriever(st, user, sphinx.DefaultGeometry())
	retrieve(t, r, 0xFFFFFFFF, 1, 1)
	retrieve(t, r, 0, 2, 0)
}

// An entry delivered but not acknowledged when the session ends is
// delivered again in the next session (§8.4); nothing is lost.
func TestRetrieveSessionDropKeepsEntry(t *testing.T) {
	h := newHarness(t, nil)
	user := addUser(t, h.st)
	spoolEntry(t, h.st, user, 1, false)
	spoolEntry(t, h.st, user, 2, false)
	s1, err := h.p.NewSession(user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.RetrieveMessage(ctxT(t), &link.RetrieveMessage{Sequence: 0}); err != nil {
		t.Fatal(err)
	}
	s1.Close() // the link broke before the ack
	s1.Close() // idempotent

	s2, err := h.p.NewSession(user)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// A new session starts at 0; seq 1 would acknowledge only what this
	// session delivered, which is nothing.
	retrieve(t, sessionRetriever{s2}, 1, 1, 1)
	retrieve(t, sessionRetriever{s2}, 2, 2, 0)
	retrieve(t, sessionRetriever{s2}, 3, -1, 0)
	if s := h.p.Stats(); s.Retrieved != 3 {
		t.Fatalf("retrieved counter %d, want 3", s.Retrieved)
	}
}

// An entry stored under another geometry cannot be sent on the link: it is
// removed, counted, and the next entry is answered.
func TestRetrieveSkipsWrongSize(t *testing.T) {
	h := newHarness(t, nil)
	user := addUser(t, h.st)
	bad := &spoolproto.Message{Body: []byte("short")}
	if _, err := rand.Read(bad.ID[:]); err != nil {
		t.Fatal(err)
	}
	if err := h.st.StoreMessage(ctxT(t), user, bad); err != nil {
		t.Fatal(err)
	}
	good := spoolEntry(t, h.st, user, 9, false)
	s, err := h.p.NewSession(user)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cmd, err := s.RetrieveMessage(ctxT(t), &link.RetrieveMessage{Sequence: 0})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := cmd.(*link.Message)
	if !ok || !bytes.Equal(m.Payload, good.Body) {
		t.Fatalf("answer %T", cmd)
	}
	if st := h.p.Stats(); st.Drop(DropBadSpoolEntry) != 1 {
		t.Fatalf("bad_spool_entry = %d", st.Drop(DropBadSpoolEntry))
	}
}
