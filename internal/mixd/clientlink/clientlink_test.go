package clientlink

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
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
)

const pktLen = 128

var limits = link.Limits{PacketLength: pktLen, MessagePayloadLength: 32, AckPayloadLength: 48, MaxConsensus: 1024}

// fakeSession allows a fixed number of packets and answers retrievals with
// MessageEmpty, or an error for sequence 99.
type fakeSession struct {
	mu      sync.Mutex
	allow   int
	retrSeq []uint32
	closed  bool
}

func (f *fakeSession) AllowSend(time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.allow == 0 {
		return false
	}
	f.allow--
	return true
}

func (f *fakeSession) RetrieveMessage(_ context.Context, req *link.RetrieveMessage) (link.Command, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retrSeq = append(f.retrSeq, req.Sequence)
	if req.Sequence == 99 {
		return nil, errors.New("spoold down")
	}
	return &link.MessageEmpty{Sequence: req.Sequence}, nil
}

func (f *fakeSession) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

type rig struct {
	sess    *fakeSession
	user    chan string
	got     chan []byte
	drops   drops.Counters
	client  *link.Session
	served  chan error
	openErr error
}

// newRig connects a client link over a pipe and runs Serve on the server
// end with the fake Provider session.
func newRig(t *testing.T, allow int, openErr error) *rig {
	t.Helper()
	r := &rig{sess: &fakeSession{allow: allow}, user: make(chan string, 1), got: make(chan []byte, 8),
		served: make(chan error, 1), openErr: openErr}
	srvKey, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	cliKey, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := packet.NewPool(pktLen, 4)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		Open: func(user []byte) (Session, error) {
			r.user <- string(user)
			if r.openErr != nil {
				return nil, r.openErr
			}
			return r.sess, nil
		},
		Submit: func(buf []byte, received time.Time) {
			if received.IsZero() || len(buf) != pool.BufferLength() {
				t.Error("bad submission")
			}
			r.got <- bytes.Clone(buf[:pktLen])
			pool.Put(buf)
		},
		Consensus: func(epoch uint64) (link.ConsensusCode, []byte) {
			switch {
			case epoch == 5:
				return link.ConsensusOk, []byte("signed document 5")
			case epoch > 5:
				return link.ConsensusNotFound, []byte("must not be sent")
			}
			return link.ConsensusGone, nil
		},
		Pool: pool, Drops: &r.drops,
	}
	a, b := net.Pipe()
	accepted := make(chan *link.Session, 1)
	go func() {
		s, err := link.Accept(context.Background(), b, &link.Config{Static: srvKey, Limits: limits,
			Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil }})
		if err != nil {
			accepted <- nil
			r.served <- err
			return
		}
		accepted <- s
		r.served <- Serve(cfg, s)
		s.Close()
	}()
	r.client, err = link.Initiate(context.Background(), a, &link.Config{Static: cliKey, AuthBlob: []byte("alice"),
		PeerStatic: srvKey.Public(), Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.client.Close() })
	if <-accepted == nil {
		t.Fatal("handshake failed on the server side")
	}
	select {
	case u := <-r.user:
		if u != "alice" {
			t.Fatalf("session opened for %q", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no session opened")
	}
	return r
}

func (r *rig) request(t *testing.T, cmd link.Command) link.Command {
	t.Helper()
	if err := r.client.Send(cmd); err != nil {
		t.Fatal(err)
	}
	_ = r.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, err := r.client.Recv()
	if err != nil {
		t.Fatalf("answer to %v: %v", cmd.ID(), err)
	}
	return reply
}

func (r *rig) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.served:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

func TestSendRetrieveConsensusDisconnect(t *testing.T) {
	r := newRig(t, 1, nil)
	pkt := bytes.Repeat([]byte{3}, pktLen)
	for range 2 { // the second is over the rate limit
		if err := r.client.Send(&link.SendPacket{Packet: pkt}); err != nil {
			t.Fatal(err)
		}
	}
	// Requests are answered in order, so after this answer both packets
	// have been handled.
	if m, ok := r.request(t, &link.RetrieveMessage{Sequence: 7}).(*link.MessageEmpty); !ok || m.Sequence != 7 {
		t.Fatalf("RetrieveMessage answered %#v", m)
	}
	if len(r.got) != 1 || !bytes.Equal(<-r.got, pkt) {
		t.Fatal("want exactly the allowed packet submitted, unchanged")
	}
	if s := r.drops.Snapshot(); s.Received != 2 {
		t.Fatalf("received %d packets, want 2", s.Received)
	}

	for _, tc := range []struct {
		epoch   uint64
		code    link.ConsensusCode
		payload string
	}{{5, link.ConsensusOk, "signed document 5"}, {6, link.ConsensusNotFound, ""}, {4, link.ConsensusGone, ""}} {
		c, ok := r.request(t, &link.GetConsensus{Epoch: tc.epoch}).(*link.Consensus)
		if !ok || c.ErrorCode != tc.code || string(c.Payload) != tc.payload {
			t.Fatalf("GetConsensus{%d} = %#v, want %v %q", tc.epoch, c, tc.code, tc.payload)
		}
	}
	if err := r.client.Send(&link.NoOp{}); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Send(&link.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	if err := r.end(t); err != nil {
		t.Fatalf("Serve after Disconnect: %v", err)
	}
	r.sess.mu.Lock()
	defer r.sess.mu.Unlock()
	if !r.sess.closed {
		t.Fatal("Provider session not closed")
	}
}

func TestForbiddenCommandAndRetrievalFailureEndTheSession(t *testing.T) {
	r := newRig(t, 0, nil)
	if err := r.client.Send(&link.Message{Sequence: 1, Payload: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	if err := r.end(t); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Serve after a Message from the client: %v", err)
	}

	r = newRig(t, 0, nil)
	if err := r.client.Send(&link.RetrieveMessage{Sequence: 99}); err != nil {
		t.Fatal(err)
	}
	if err := r.end(t); err == nil {
		t.Fatal("a failed retrieval did not end the session")
	}
}

func TestRefusedSessionEndsAtOnce(t *testing.T) {
	r := newRig(t, 0, errors.New("purging"))
	if err := r.end(t); err == nil {
		t.Fatal("Serve ran without a Provider session")
	}
}
