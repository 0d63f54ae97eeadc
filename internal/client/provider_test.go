package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/pki"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// fakeProvider plays every Provider of a testNet on one listener per
// Provider, following docs/spec/client.md: it authenticates users (§2.3),
// routes each packet through the whole test network at once (ignoring
// delays), spools messages and SURB replies, answers with SURB-ACKs and
// echo replies (§7, §9.3), serves retrieval by §8.2 and relays the document
// (§3.2). It is the reference the Provider mode of mixd must agree with.
type fakeProvider struct {
	t     *testing.T
	n     *testNet
	users map[string]*keys.LinkPublicKey

	mu     sync.Mutex
	spools map[string][]*fakeEntry
}

type fakeEntry struct {
	ack     bool
	surbID  [16]byte
	payload []byte
}

func (f *fakeProvider) spoolLen(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.spools[user])
}

func (f *fakeProvider) push(user string, e *fakeEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spools[user] = append(f.spools[user], e)
}

// deliver carries a packet from the client's Provider to its end.
func (f *fakeProvider) deliver(first keys.NodeID, pkt []byte) {
	_, res, _ := f.n.route(f.t, first, pkt)
	name := string(bytes.TrimRight(res.Commands.Recipient[:], "\x00"))
	if res.Commands.HasSURBReply {
		f.push(name, &fakeEntry{ack: true, surbID: res.Commands.SURBID, payload: append([]byte{}, res.Payload...)})
		return
	}
	surb, user, err := f.n.sph.DecodeForwardPayload(res.Payload)
	if err != nil {
		f.t.Errorf("forward payload: %v", err)
		return
	}
	hasSURB := surb != nil
	surb = append([]byte{}, surb...)
	var reply []byte
	switch name {
	case "+echo":
		reply = append([]byte{}, user...)
	default:
		if _, ok := f.users[name]; !ok {
			return
		}
		f.push(name, &fakeEntry{payload: append([]byte{}, user...)})
		reply = make([]byte, f.n.doc.Geometry.ForwardPayloadLength)
	}
	if !hasSURB {
		return
	}
	rp, hop, err := f.n.sph.NewPacketFromSURB(surb, reply)
	if err != nil {
		f.t.Errorf("reply: %v", err)
		return
	}
	f.deliver(hop, rp)
}

func (f *fakeProvider) serve(ctx context.Context, ln net.Listener, node *testNode) {
	cfg := &link.Config{
		Static: node.linkKey,
		Limits: linkLimits(f.n.doc.Geometry),
		Authorize: func(_ context.Context, peer *keys.LinkPublicKey, blob []byte) error {
			if k, ok := f.users[string(blob)]; ok && k.Equal(peer) {
				return nil
			}
			return errors.New("unknown user")
		},
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			s, err := link.Accept(ctx, conn, cfg)
			if err != nil {
				return
			}
			defer s.Close()
			f.session(s, node)
		}()
	}
}

// session is one client session; pending implements §8.2.
func (f *fakeProvider) session(s *link.Session, node *testNode) {
	user := string(s.PeerAuthBlob())
	var pending *fakeEntry
	var pendingSeq uint32
	for {
		cmd, err := s.Recv()
		if err != nil {
			return
		}
		switch c := cmd.(type) {
		case *link.SendPacket:
			f.deliver(node.entry.NodeID(), append([]byte{}, c.Packet...))
		case *link.GetConsensus:
			if c.Epoch == f.n.doc.Epoch {
				_ = s.Send(&link.Consensus{ErrorCode: link.ConsensusOk, Payload: f.n.signed})
			} else {
				_ = s.Send(&link.Consensus{ErrorCode: link.ConsensusNotFound})
			}
		case *link.RetrieveMessage:
			f.mu.Lock()
			q := f.spools[user]
			if pending != nil && c.Sequence == pendingSeq+1 {
				for i, e := range q {
					if e == pending {
						q = append(q[:i:i], q[i+1:]...)
						break
					}
				}
				f.spools[user] = q
			}
			pending = nil
			var reply link.Command
			if len(q) == 0 {
				reply = &link.MessageEmpty{Sequence: c.Sequence}
			} else {
				hint := uint8(min(len(q)-1, 255))
				if q[0].ack {
					reply = &link.MessageACK{Sequence: c.Sequence, QueueHint: hint, SURBID: q[0].surbID, Payload: q[0].payload}
				} else {
					reply = &link.Message{Sequence: c.Sequence, QueueHint: hint, Payload: q[0].payload}
				}
				pending, pendingSeq = q[0], c.Sequence
			}
			f.mu.Unlock()
			if err := s.Send(reply); err != nil {
				return
			}
		case *link.Disconnect:
			return
		default:
			f.t.Errorf("client sent %v", cmd.ID())
			return
		}
	}
}

type e2e struct {
	n     *testNet
	f     *fakeProvider
	keys  map[string]*memkey.LinkKey
	ctx   context.Context
	close func()
}

func newE2E(t *testing.T) *e2e {
	ctx, cancel := context.WithCancel(context.Background())
	var lns []net.Listener
	addrs := map[string]string{}
	for _, name := range []string{"alpha", "beta"} {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs[name] = ln.Addr().String()
	}
	n := newTestNet(t, 3, 2, []string{"alpha", "beta"}, addrs, pki.Parameters{Mu: 0.1, MuMaxDelay: 50})
	e := &e2e{n: n, keys: map[string]*memkey.LinkKey{}, ctx: ctx}
	e.f = &fakeProvider{t: t, n: n, users: map[string]*keys.LinkPublicKey{}, spools: map[string][]*fakeEntry{}}
	for _, u := range []string{"alice", "bob", "carol"} {
		k, err := memkey.GenerateLinkKey()
		if err != nil {
			t.Fatal(err)
		}
		e.keys[u] = k
		e.f.users[u] = k.Public()
	}
	for i, ln := range lns {
		go e.f.serve(ctx, ln, n.provider[i])
	}
	e.close = func() {
		cancel()
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Cleanup(e.close)
	return e
}

func (e *e2e) client(t *testing.T, user, provider string) *Client {
	c, err := New(Config{
		User: user, LinkKey: e.keys[user], Provider: provider,
		AuthorityKey: e.n.authPub, Document: e.n.signed,
		PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEndToEndWithFakeProvider(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := e.client(t, "alice", "alpha")
	bob := e.client(t, "bob", "alpha")
	if err := alice.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if alice.Document().Epoch != e.n.doc.Epoch {
		t.Fatal("wrong document")
	}

	// A message with a SURB-ACK, delivered and acknowledged.
	id, err := alice.Send(ctx, "bob@alpha", []byte("hello bob"), WithACK())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitDelivered(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st := alice.AckState(id); st != AckDelivered {
		t.Fatalf("ack state %v", st)
	}
	// A message to another Provider's user, acknowledged through alpha.
	id2, err := alice.Send(ctx, "carol@beta", []byte("hi carol"), WithACK())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitDelivered(ctx, id2); err != nil {
		t.Fatal(err)
	}

	// Bob retrieves, then the spool is empty and the message removed.
	m, err := bob.Retrieve(ctx)
	if err != nil || m == nil || m.ID != id || string(m.Body) != "hello bob" {
		t.Fatalf("bob got %+v, %v", m, err)
	}
	if e.f.spoolLen("bob") != 1 {
		t.Fatal("message removed before the client acknowledged it")
	}
	if m, err := bob.Retrieve(ctx); err != nil || m != nil {
		t.Fatalf("second retrieve: %+v, %v", m, err)
	}
	if e.f.spoolLen("bob") != 0 {
		t.Fatal("acknowledged message still spooled")
	}

	// Ping the echo service at beta.
	rtt, err := alice.Ping(ctx, "beta", "+echo")
	if err != nil || rtt <= 0 {
		t.Fatalf("ping: %v, %v", rtt, err)
	}
	if _, err := alice.Ping(ctx, "beta", "+nosuch"); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("ping of an unadvertised endpoint: %v", err)
	}
	if _, err := alice.Send(ctx, "bob@nowhere", []byte("x")); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("send to an unknown Provider: %v", err)
	}
	if _, err := alice.Send(ctx, "bob@alpha", make([]byte, 5000)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversize message: %v", err)
	}
}

// TestRedeliveryAfterReconnect: a message delivered but not acknowledged
// when the session breaks comes again in the next session (§8.4) and the
// client discards the duplicate.
func TestRedeliveryAfterReconnect(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := e.client(t, "alice", "alpha")
	bob := e.client(t, "bob", "alpha")
	for _, body := range []string{"one", "two"} {
		if _, err := alice.Send(ctx, "bob@alpha", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	// Send returns once the packet is written on alice's link; the fake
	// Provider routes and spools it afterwards, on that session's
	// goroutine. Both must be in bob's spool before he retrieves.
	ipctest.Eventually(t, 20*time.Second, "both messages in bob's spool", func() bool { return e.f.spoolLen("bob") == 2 })
	m, err := bob.Retrieve(ctx)
	if err != nil || m == nil || string(m.Body) != "one" {
		t.Fatalf("first: %+v %v", m, err)
	}
	bob.conn.reset(false) // the link breaks before the ack
	m, err = bob.Retrieve(ctx)
	if err != nil || m == nil || string(m.Body) != "two" {
		t.Fatalf("after reconnect: %+v %v (the duplicate of one must be skipped)", m, err)
	}
	if m, err := bob.Retrieve(ctx); err != nil || m != nil {
		t.Fatalf("drain: %+v %v", m, err)
	}
	if n := e.f.spoolLen("bob"); n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

func TestDocumentFromProvider(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := e.client(t, "alice", "alpha")
	n, err := alice.fetchFromProvider(ctx, e.n.doc.Epoch)
	if err != nil || !bytes.Equal(n.signed, e.n.signed) {
		t.Fatalf("relayed document: %v", err)
	}
	if _, err := alice.fetchFromProvider(ctx, e.n.doc.Epoch+1); err == nil {
		t.Fatal("NotFound not reported")
	}
	// A document signed by someone else is refused (§3.3).
	other := newTestNet(t, 3, 1, []string{"alpha"}, nil, pki.Parameters{})
	if _, err := alice.newNetwork(other.signed, other.doc.Epoch, false); err == nil {
		t.Fatal("document of another authority accepted")
	}
}

func TestWrongKeyRejected(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.keys["alice"], _ = memkey.GenerateLinkKey()
	alice := e.client(t, "alice", "alpha")
	if err := alice.Connect(ctx); !errors.Is(err, link.ErrPeerRejected) {
		t.Fatalf("connect with an unregistered key: %v", err)
	}
}
