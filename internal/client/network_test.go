package client

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/internal/sphinx"
)

// testBuilder is the builder of user "alice" at Provider "alpha".
func testBuilder(t *testing.T, n *testNet, seed uint64) *builder {
	t.Helper()
	self, err := sphinx.NewRecipientID("alice")
	if err != nil {
		t.Fatal(err)
	}
	return &builder{sph: n.sph, doc: n.doc, rng: seeded(seed), self: self, src: &n.doc.Providers[0]}
}

// TestForwardPacketDelivers builds a message packet with the client code
// and unwraps it hop by hop with the nodes' private keys: it visits alpha,
// one mix per layer and beta, and beta recovers the user message.
func TestForwardPacketDelivers(t *testing.T) {
	n := newTestNet(t, 3, 2, []string{"alpha", "beta"}, nil, pki.Parameters{Mu: 0.01, MuMaxDelay: 500})
	b := testBuilder(t, n, 10)
	dst := &n.doc.Providers[1]
	payload, err := EncodeMessage(n.doc.Geometry.UserForwardPayloadLength, MessageID{42}, []byte("hello bob"))
	if err != nil {
		t.Fatal(err)
	}
	rcpt, _ := sphinx.NewRecipientID("bob")
	out, err := b.build(dst, rcpt, payload, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.hasSURB || len(out.packet) != n.doc.Geometry.PacketLength {
		t.Fatalf("packet of %d bytes, SURB %v", len(out.packet), out.hasSURB)
	}
	term, res, visited := n.route(t, n.doc.Providers[0].NodeID(), out.packet)
	if term != n.provNamed("beta") || len(visited) != 5 {
		t.Fatalf("packet ended at %s after %d hops", term.entry.Descriptor.Name, len(visited))
	}
	for l := range 3 {
		if layer, _ := n.doc.LayerOf(visited[l+1]); layer != l {
			t.Fatalf("hop %d in layer %d", l+1, layer)
		}
	}
	if res.Commands.Recipient != rcpt || res.Commands.HasSURBReply || res.Commands.Delay != 0 {
		t.Fatalf("terminal commands %+v", res.Commands)
	}
	surb, user, err := n.sph.DecodeForwardPayload(res.Payload)
	if err != nil || surb != nil {
		t.Fatalf("forward payload: surb %v, %v", surb != nil, err)
	}
	id, body, err := DecodeMessage(n.doc.Geometry.UserForwardPayloadLength, user)
	if err != nil || id != (MessageID{42}) || string(body) != "hello bob" {
		t.Fatalf("delivered %v %q %v", id, body, err)
	}
}

// playProvider acts as the destination Provider and the network for a
// packet carrying a SURB: it routes the packet to its terminal hop, hands
// the user payload to service, sends the service's reply through the SURB,
// routes the reply to its terminal hop (the sender's Provider) and returns
// the SURB id and the payload the sender's Provider would spool.
func playProvider(t *testing.T, n *testNet, pkt []byte, service func(user []byte) []byte) (sphinx.SURBID, []byte, *sphinx.UnwrapResult) {
	t.Helper()
	_, res, _ := n.route(t, n.doc.Providers[0].NodeID(), pkt)
	surb, user, err := n.sph.DecodeForwardPayload(res.Payload)
	if err != nil || surb == nil {
		t.Fatalf("forward payload: surb %v, %v", surb != nil, err)
	}
	surb = append([]byte{}, surb...)
	reply, first, err := n.sph.NewPacketFromSURB(surb, service(append([]byte{}, user...)))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := n.doc.LayerOf(first); l != 0 {
		t.Fatalf("the SURB's first hop is in layer %d", l)
	}
	term, rres, visited := n.route(t, first, reply)
	if term != n.provider[0] || len(visited) != 4 {
		t.Fatalf("reply ended at %s after %d hops", term.entry.Descriptor.Name, len(visited))
	}
	if !rres.Commands.HasSURBReply || rres.Commands.Delay != 0 {
		t.Fatalf("reply terminal commands %+v", rres.Commands)
	}
	if want, _ := sphinx.NewRecipientID("alice"); rres.Commands.Recipient != want {
		t.Fatal("reply not addressed to alice")
	}
	return rres.Commands.SURBID, append([]byte{}, rres.Payload...), res
}

// TestSURBPing: an echo request through the test network; the reply is fed
// to the client's demultiplexer, which completes the request with the RTT.
func TestSURBPing(t *testing.T) {
	n := newTestNet(t, 3, 2, []string{"alpha", "beta"}, nil, pki.Parameters{Mu: 0.01, MuMaxDelay: 500})
	b := testBuilder(t, n, 11)
	req := make([]byte, n.doc.Geometry.UserForwardPayloadLength)
	copy(req, "0123456789abcdef")
	rcpt, _ := sphinx.NewRecipientID("+echo")
	out, err := b.build(&n.doc.Providers[1], rcpt, req, true)
	if err != nil {
		t.Fatal(err)
	}
	if !out.hasSURB || out.roundTrip <= 0 {
		t.Fatalf("SURB %v, round trip %v", out.hasSURB, out.roundTrip)
	}
	d := newDemux(4)
	sent := time.Unix(1000, 0)
	e := &surbEntry{kind: surbRequest, keys: out.surbKeys, sentAt: sent, deadline: sent.Add(time.Hour),
		check: func(r []byte) error { return checkEchoReply(req, r) }, done: make(chan Reply, 1)}
	if err := d.add(out.surbID, e, sent); err != nil {
		t.Fatal(err)
	}
	id, payload, fres := playProvider(t, n, out.packet, func(user []byte) []byte { return user })
	if fres.Commands.Recipient != rcpt {
		t.Fatal("request not addressed to +echo")
	}
	if id != out.surbID {
		t.Fatal("reply carries another SURB id")
	}
	if err := d.deliver(n.sph, id, payload, sent.Add(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-e.done:
		if r.RTT != 1500*time.Millisecond || !bytes.Equal(r.Payload[:len(req)], req) {
			t.Fatalf("reply RTT %v", r.RTT)
		}
	default:
		t.Fatal("no reply delivered")
	}
	if err := d.deliver(n.sph, id, payload, sent.Add(2*time.Second)); !errors.Is(err, ErrUnknownSURB) {
		t.Fatalf("second reply through one SURB: %v", err)
	}
}

// TestSURBACK: a message sent with an ACK; the destination Provider answers
// with a zero payload and the client reports delivery. A tampered ACK or a
// wrong reply is refused.
func TestSURBACK(t *testing.T) {
	n := newTestNet(t, 3, 1, []string{"alpha", "beta"}, nil, pki.Parameters{Mu: 0.01, MuMaxDelay: 500})
	g := n.doc.Geometry
	zeroACK := func([]byte) []byte { return make([]byte, g.ForwardPayloadLength) }
	now := time.Unix(2000, 0)
	send := func(seed uint64, msg MessageID, d *demux) *outgoing {
		payload, _ := EncodeMessage(g.UserForwardPayloadLength, msg, []byte("x"))
		rcpt, _ := sphinx.NewRecipientID("bob")
		out, err := testBuilder(t, n, seed).build(&n.doc.Providers[1], rcpt, payload, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.add(out.surbID, &surbEntry{kind: surbACK, keys: out.surbKeys, msgID: msg, sentAt: now, deadline: now.Add(time.Minute)}, now); err != nil {
			t.Fatal(err)
		}
		return out
	}
	d := newDemux(8)

	out := send(12, MessageID{1}, d)
	if st := d.ackState(MessageID{1}, now); st != AckPending {
		t.Fatalf("state %v", st)
	}
	id, payload, fres := playProvider(t, n, out.packet, zeroACK)
	if fres.Commands.Delay == 0 {
		t.Error("the terminal hop of a packet with a SURB has no delay for the reply")
	}
	if err := d.deliver(n.sph, id, payload, now); err != nil {
		t.Fatal(err)
	}
	if st := d.ackState(MessageID{1}, now); st != AckDelivered {
		t.Fatalf("state after ACK %v", st)
	}

	out = send(13, MessageID{2}, d)
	id, payload, _ = playProvider(t, n, out.packet, zeroACK)
	payload[100] ^= 1
	if err := d.deliver(n.sph, id, payload, now); !errors.Is(err, sphinx.ErrPayloadAuth) {
		t.Fatalf("tampered ACK: %v", err)
	}
	if st := d.ackState(MessageID{2}, now); st == AckDelivered {
		t.Fatal("tampered ACK counted as delivery")
	}

	out = send(14, MessageID{3}, d)
	id, payload, _ = playProvider(t, n, out.packet, func(u []byte) []byte { return u })
	if err := d.deliver(n.sph, id, payload, now); !errors.Is(err, ErrMalformedReply) {
		t.Fatalf("non-zero ACK: %v", err)
	}
}

func TestDemuxBoundAndExpiry(t *testing.T) {
	d := newDemux(2)
	now := time.Unix(3000, 0)
	ent := func(msg byte, ttl time.Duration) *surbEntry {
		return &surbEntry{kind: surbACK, keys: make(sphinx.SURBKeys, 8), msgID: MessageID{msg}, deadline: now.Add(ttl)}
	}
	if err := d.add(sphinx.SURBID{1}, ent(1, time.Second), now); err != nil {
		t.Fatal(err)
	}
	if err := d.add(sphinx.SURBID{1}, ent(9, time.Second), now); err == nil {
		t.Fatal("duplicate SURB id accepted")
	}
	if err := d.add(sphinx.SURBID{2}, ent(2, time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if err := d.add(sphinx.SURBID{3}, ent(3, time.Hour), now); !errors.Is(err, ErrTooManySURBs) {
		t.Fatalf("full table: %v", err)
	}
	later := now.Add(2 * time.Second)
	if err := d.add(sphinx.SURBID{3}, ent(3, time.Hour), later); err != nil {
		t.Fatalf("adding after expiry: %v", err)
	}
	if d.outstanding() != 2 {
		t.Fatalf("%d outstanding", d.outstanding())
	}
	if st := d.ackState(MessageID{1}, later); st != AckExpired {
		t.Fatalf("expired entry state %v", st)
	}
	if st := d.ackState(MessageID{7}, later); st != AckUnknown {
		t.Fatalf("unknown entry state %v", st)
	}
	// An entry past its deadline is not delivered even before it is swept.
	if _, ok := d.take(sphinx.SURBID{2}, now.Add(2*time.Hour)); ok {
		t.Fatal("expired SURB taken")
	}
	if err := d.deliver(nil, sphinx.SURBID{42}, nil, now); !errors.Is(err, ErrUnknownSURB) {
		t.Fatalf("unknown SURB: %v", err)
	}
	d.cancel(sphinx.SURBID{3})
	if d.outstanding() != 0 {
		t.Fatalf("%d outstanding after cancel and take", d.outstanding())
	}
}

func TestIDSetBound(t *testing.T) {
	s := newIDSet[int](3)
	for i := range 5 {
		s.add(i)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if s.has(i) != want {
			t.Errorf("has(%d) = %v", i, !want)
		}
	}
	if len(s.m) != 3 {
		t.Fatalf("set holds %d ids", len(s.m))
	}
}
