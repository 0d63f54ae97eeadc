package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/sphinx"
	"github.com/splitmix/splitmix/ipc/spoolproto"
)

// A packet without SURB for a local user lands in the user's spool as its
// user payload, and nothing is sent back.
func TestDeliverToSpool(t *testing.T) {
	h := newHarness(t, nil)
	user := addUser(t, h.st)
	body := h.userPayload([]byte("hello, spool"))
	if !h.p.Deliver(h.forward(user, nil, body, 0), time.Now()) {
		t.Fatal("Deliver refused the packet")
	}
	h.waitStat("message stored", func(s *Stats) bool { return s.Stored == 1 })
	head, err := h.st.GetHead(ctxT(t), user)
	if err != nil {
		t.Fatal(err)
	}
	if head.Count != 1 || head.Message.SURBID != nil || !bytes.Equal(head.Message.Body, body) {
		t.Fatalf("spool head: count %d, SURB id %v, body equal %v", head.Count, head.Message.SURBID, bytes.Equal(head.Message.Body, body))
	}
	h.noPacket()
}

// With a SURB, the SURB-ACK comes out of the network callback after the
// store, due at the terminal delay; carried along the reply path it arrives
// here as a SURB reply for the sender, is spooled as an ACK entry, is
// retrieved as MessageACK and decrypts at the sender to the all-zero ACK of
// docs/spec/client.md §7.1.
func TestDeliverSURBACKRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	recipient := addUser(t, h.st)
	sender := addUser(t, h.st)
	surb, surbKeys, surbID := h.surb(sender)
	body := h.userPayload([]byte("acknowledge me"))
	received := time.Now()
	if !h.p.Deliver(h.forward(recipient, surb, body, 1500), received) {
		t.Fatal("Deliver refused the packet")
	}
	ack := h.next()
	if want := received.Add(1500 * time.Millisecond); !ack.DispatchAt.Equal(want) {
		t.Fatalf("ACK due at %v, want %v", ack.DispatchAt, want)
	}
	// The ACK was sent only after the message was stored.
	if head, err := h.st.GetHead(ctxT(t), recipient); err != nil || head.Count != 1 {
		t.Fatalf("recipient's spool when the ACK left: %+v %v", head, err)
	}
	// The ACK is counted once it has been handed to the scheduler, just
	// after the test saw it.
	h.waitStat("one message stored and one ACK counted", func(s *Stats) bool { return s.AcksSent == 1 && s.Stored == 1 })

	res := h.travel(ack)
	if res.Commands.SURBID != surbID {
		t.Fatal("the ACK carries another SURB id")
	}
	if !h.p.Deliver(res, time.Now()) {
		t.Fatal("Deliver refused the ACK")
	}
	h.waitStat("ACK stored", func(s *Stats) bool { return s.RepliesStored == 1 })

	sess, err := h.p.NewSession(sender)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	cmd, err := sess.RetrieveMessage(ctxT(t), &link.RetrieveMessage{Sequence: 0})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := cmd.(*link.MessageACK)
	if !ok || m.Sequence != 0 || m.QueueHint != 0 || m.SURBID != surbID || len(m.Payload) != h.sph.Geometry().PayloadLength {
		t.Fatalf("retrieved %T %+v", cmd, cmd)
	}
	plain, err := h.sph.DecryptSURBPayload(surbKeys, bytes.Clone(m.Payload))
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != h.sph.Geometry().ForwardPayloadLength || !allZero(plain) {
		t.Fatalf("ACK reply of %d bytes is not all zero", len(plain))
	}
}

// An unknown recipient is dropped and counted, and gets no ACK.
func TestDeliverUnknownUser(t *testing.T) {
	h := newHarness(t, nil)
	sender := addUser(t, h.st)
	surb, _, _ := h.surb(sender)
	if !h.p.Deliver(h.forward(newUserName(t), surb, h.userPayload(nil), 0), time.Now()) {
		t.Fatal("Deliver refused the packet before the lookup")
	}
	h.waitStat("unknown user counted", func(s *Stats) bool { return s.Drop(DropUnknownUser) == 1 })
	h.noPacket()
	if s := h.p.Stats(); s.AcksSent != 0 || s.Stored != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// Deliver refuses what it cannot deliver before queueing, by reason.
func TestDeliverRefusals(t *testing.T) {
	h := newHarness(t, nil)
	g := h.sph.Geometry()
	rid := func(s string) sphinx.RecipientID {
		var r sphinx.RecipientID
		copy(r[:], s)
		return r
	}
	cases := []struct {
		name string
		res  sphinx.UnwrapResult
		want Reason
	}{
		{"forwarding hop", sphinx.UnwrapResult{Commands: sphinx.Commands{HasNextHop: true}}, DropNotTerminal},
		{"upper case name", sphinx.UnwrapResult{Commands: sphinx.Commands{HasRecipient: true, Recipient: rid("Alice")}, Payload: make([]byte, g.ForwardPayloadLength)}, DropBadRecipient},
		{"zero inside name", sphinx.UnwrapResult{Commands: sphinx.Commands{HasRecipient: true, Recipient: rid("al\x00ice")}, Payload: make([]byte, g.ForwardPayloadLength)}, DropBadRecipient},
		{"reply to endpoint", sphinx.UnwrapResult{Commands: sphinx.Commands{HasRecipient: true, HasSURBReply: true, Recipient: rid("+echo")}, Payload: make([]byte, g.PayloadLength)}, DropReplyToEndpoint},
		{"bad framing", sphinx.UnwrapResult{Commands: sphinx.Commands{HasRecipient: true, Recipient: rid("alice")}, Payload: append([]byte{7}, make([]byte, g.ForwardPayloadLength-1)...)}, DropBadPayload},
		{"no such service", sphinx.UnwrapResult{Commands: sphinx.Commands{HasRecipient: true, Recipient: rid("+nothing")}, Payload: make([]byte, g.ForwardPayloadLength)}, DropUnknownService},
	}
	for _, c := range cases {
		before := h.p.Stats().Drop(c.want)
		if h.p.Deliver(&c.res, time.Now()) {
			t.Errorf("%s: accepted", c.name)
		}
		if got := h.p.Stats().Drop(c.want) - before; got != 1 {
			t.Errorf("%s: %s counted %d times", c.name, c.want, got)
		}
	}
}

// A packet that waited longer than ProviderDelay is dropped as too late.
func TestProviderDelay(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ProviderDelay = 500 * time.Millisecond })
	user := addUser(t, h.st)
	if !h.p.Deliver(h.forward(user, nil, h.userPayload(nil), 0), time.Now().Add(-2*time.Second)) {
		t.Fatal("Deliver refused the packet")
	}
	h.waitStat("too late counted", func(s *Stats) bool { return s.Drop(DropTooLate) == 1 })
	if head, err := h.st.GetHead(ctxT(t), user); err != nil || head.Count != 0 {
		t.Fatalf("late packet spooled: %+v %v", head, err)
	}
}

// gatedStore holds StoreMessage until released, to fill the queue.
type gatedStore struct {
	spoolproto.Store
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) StoreMessage(ctx context.Context, user []byte, m *spoolproto.Message) error {
	g.entered <- struct{}{}
	<-g.release
	return g.Store.StoreMessage(ctx, user, m)
}

// The delivery queue is bounded: when it is full Deliver drops and counts
// at once instead of blocking.
func TestDeliveryQueueFull(t *testing.T) {
	gs := &gatedStore{Store: store(t), entered: make(chan struct{}, 4), release: make(chan struct{})}
	h := newHarness(t, func(c *Config) { c.Store = gs; c.ProviderWorkers = 1; c.QueueLen = 1 })
	user := addUser(t, h.st)
	if !h.p.Deliver(h.forward(user, nil, h.userPayload([]byte{1}), 0), time.Now()) {
		t.Fatal("first packet refused")
	}
	<-gs.entered // the worker holds the first one
	if !h.p.Deliver(h.forward(user, nil, h.userPayload([]byte{2}), 0), time.Now()) {
		t.Fatal("second packet refused: the queue has room for one")
	}
	if h.p.Deliver(h.forward(user, nil, h.userPayload([]byte{3}), 0), time.Now()) {
		t.Fatal("third packet accepted by a full queue")
	}
	if s := h.p.Stats(); s.Drop(DropQueueFull) != 1 || s.DeliveryQueue != 1 || s.DeliveryQueueCap != 1 {
		t.Fatalf("stats: %+v", s)
	}
	close(gs.release)
	h.waitStat("both stored", func(s *Stats) bool { return s.Stored == 2 })
}

// Close delivers what is queued, then refuses.
func TestCloseDrainsThenRefuses(t *testing.T) {
	h := newHarness(t, nil)
	user := addUser(t, h.st)
	for i := range 5 {
		if !h.p.Deliver(h.forward(user, nil, h.userPayload([]byte{byte(i)}), 0), time.Now()) {
			t.Fatal("refused")
		}
	}
	if err := h.p.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := h.p.Stats(); s.Stored != 5 {
		t.Fatalf("stored %d of 5 before Close returned", s.Stored)
	}
	if h.p.Deliver(h.forward(user, nil, h.userPayload(nil), 0), time.Now()) {
		t.Fatal("accepted after Close")
	}
	if s := h.p.Stats(); s.Drop(DropShuttingDown) != 1 {
		t.Fatalf("shutting_down = %d", s.Drop(DropShuttingDown))
	}
	if _, err := h.p.NewSession(user); err != ErrClosed {
		t.Fatalf("NewSession after Close: %v", err)
	}
}

// Deliver copies the payload: the caller's buffer may be reused at once.
func TestDeliverCopiesPayload(t *testing.T) {
	gs := &gatedStore{Store: store(t), entered: make(chan struct{}, 4), release: make(chan struct{})}
	h := newHarness(t, func(c *Config) { c.Store = gs; c.ProviderWorkers = 1 })
	user := addUser(t, h.st)
	body := h.userPayload([]byte("original"))
	res := h.forward(user, nil, body, 0)
	if !h.p.Deliver(res, time.Now()) {
		t.Fatal("refused")
	}
	if _, err := rand.Read(res.Payload); err != nil { // mixd reuses the buffer
		t.Fatal(err)
	}
	<-gs.entered
	close(gs.release)
	h.waitStat("stored", func(s *Stats) bool { return s.Stored == 1 })
	head, err := h.st.GetHead(ctxT(t), user)
	if err != nil || !bytes.Equal(head.Message.Body, body) {
		t.Fatalf("stored body changed with the caller's buffer: %v", err)
	}
}
