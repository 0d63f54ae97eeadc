package incoming

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
	"github.com/splitmix/splitmix/internal/logging"
	"github.com/splitmix/splitmix/internal/mixd/drops"
	"github.com/splitmix/splitmix/internal/mixd/packet"
)

const pktLen = 256

var limits = link.Limits{PacketLength: pktLen, MaxConsensus: 64}

type rig struct {
	srv    *Server
	addr   string
	key    *memkey.LinkKey
	peer   *memkey.LinkKey
	allow  atomic.Pointer[keys.LinkPublicKey]
	got    chan []byte
	drops  drops.Counters
	listen net.Listener
}

func newRig(t *testing.T, maxConns int) *rig {
	t.Helper()
	r := &rig{got: make(chan []byte, 8)}
	var err error
	if r.key, err = memkey.GenerateLinkKey(); err != nil {
		t.Fatal(err)
	}
	if r.peer, err = memkey.GenerateLinkKey(); err != nil {
		t.Fatal(err)
	}
	r.allow.Store(r.peer.Public())
	pool, _ := packet.NewPool(pktLen, 4)
	r.srv, err = New(Config{
		Static: r.key, Limits: limits, HandshakeTimeout: 5 * time.Second, ReauthInterval: time.Hour,
		Authorize: func(k *keys.LinkPublicKey, _ []byte) error {
			if !k.Equal(r.allow.Load()) {
				return errors.New("no")
			}
			return nil
		},
		Deliver: func(buf []byte, at time.Time) {
			if at.IsZero() || len(buf) != pool.BufferLength() {
				panic("bad delivery")
			}
			r.got <- bytes.Clone(buf[:pktLen])
		},
		Pool: pool, Drops: &r.drops, Log: logging.Discard(), MaxConns: maxConns,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.listen, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	r.addr = r.listen.Addr().String()
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(r.listen) }()
	t.Cleanup(func() {
		r.srv.Close()
		if err := <-served; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return r
}

func (r *rig) dial(t *testing.T, key keys.LinkPrivateKey) (*link.Session, error) {
	t.Helper()
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	return link.Initiate(context.Background(), conn, &link.Config{
		Static: key, AuthBlob: []byte("peer"), PeerStatic: r.key.Public(), Limits: limits, HandshakeTimeout: 5 * time.Second,
	})
}

func TestPacketsAreDeliveredAndOtherCommandsCloseTheLink(t *testing.T) {
	r := newRig(t, 0)
	s, err := r.dial(t, r.peer)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := bytes.Repeat([]byte{9}, pktLen)
	if err := s.Send(&link.NoOp{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&link.SendPacket{Packet: want}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-r.got:
		if !bytes.Equal(got, want) {
			t.Fatal("packet changed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("packet not delivered")
	}
	if r.drops.Snapshot().Received != 1 {
		t.Fatal("receipt not counted")
	}
	// A peer link carries no consensus requests: the server hangs up.
	if err := s.Send(&link.GetConsensus{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Recv(); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("link still open after a forbidden command: %v", err)
	}
}

func TestRefusedPeerAndConnectionBound(t *testing.T) {
	r := newRig(t, 1)
	s, err := r.dial(t, r.peer)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for r.srv.Sessions() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("session not registered")
		}
		time.Sleep(2 * time.Millisecond) // polling a condition
	}
	// The one slot is taken: a second connection is closed at once.
	if _, err := r.dial(t, r.peer); err == nil {
		t.Fatal("a connection beyond MaxConns completed a handshake")
	}
	// Revoke the peer: re-authorisation closes its link, and a new
	// handshake with its key is refused.
	other, _ := memkey.GenerateLinkKey()
	r.allow.Store(other.Public())
	if n := r.srv.Reauthorize(); n != 1 {
		t.Fatalf("Reauthorize closed %d", n)
	}
	for r.srv.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("revoked session still registered")
		}
		time.Sleep(2 * time.Millisecond) // polling a condition
	}
	if _, err := r.dial(t, r.peer); !errors.Is(err, link.ErrPeerRejected) {
		t.Fatalf("revoked peer's handshake: %v, want ErrPeerRejected", err)
	}
}
