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
	srv *Server
	// clients are admitted as Client when their blob is "client"; their
	// sessions are echoed back by serveClient.
	client     *memkey.LinkKey
	clientOK   atomic.Bool
	clientDone chan error
	addr       string
	key        *memkey.LinkKey
	peer       *memkey.LinkKey
	allow      atomic.Pointer[keys.LinkPublicKey]
	got        chan []byte
	// recheck, when set, replaces the default re-check (Authorize again).
	recheck atomic.Pointer[func(kind Kind) bool]
	drops   drops.Counters
	listen  net.Listener
}

func newRig(t *testing.T, maxConns int) *rig {
	t.Helper()
	return newRigClients(t, maxConns, false)
}

func newRigClients(t *testing.T, maxConns int, provider bool) *rig {
	t.Helper()
	r := &rig{got: make(chan []byte, 8), clientDone: make(chan error, 4)}
	r.clientOK.Store(true)
	var err error
	if r.key, err = memkey.GenerateLinkKey(); err != nil {
		t.Fatal(err)
	}
	if r.peer, err = memkey.GenerateLinkKey(); err != nil {
		t.Fatal(err)
	}
	if r.client, err = memkey.GenerateLinkKey(); err != nil {
		t.Fatal(err)
	}
	r.allow.Store(r.peer.Public())
	pool, _ := packet.NewPool(pktLen, 4)
	var serveClient func(*link.Session) error
	if provider {
		// Echo NoOp back, end on Disconnect.
		serveClient = func(sess *link.Session) error {
			for {
				cmd, err := sess.Recv()
				if err != nil {
					r.clientDone <- err
					return err
				}
				if _, bye := cmd.(*link.Disconnect); bye {
					r.clientDone <- nil
					return nil
				}
				if err := sess.Send(&link.NoOp{}); err != nil {
					r.clientDone <- err
					return err
				}
			}
		}
	}
	authorize := func(_ context.Context, k *keys.LinkPublicKey, blob []byte) (Kind, error) {
		if string(blob) == "client" {
			if !r.clientOK.Load() || !k.Equal(r.client.Public()) {
				return Client, errors.New("unknown client")
			}
			return Client, nil
		}
		if !k.Equal(r.allow.Load()) {
			return Node, errors.New("no")
		}
		return Node, nil
	}
	r.srv, err = New(Config{
		Static: r.key, Limits: limits, HandshakeTimeout: 5 * time.Second, ReauthInterval: time.Hour,
		Authorize: authorize,
		Recheck: func(ctx context.Context, kind Kind, k *keys.LinkPublicKey, blob []byte) bool {
			if f := r.recheck.Load(); f != nil {
				return (*f)(kind)
			}
			got, err := authorize(ctx, k, blob)
			return err == nil && got == kind
		},
		ServeClient: serveClient,
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
	return r.dialAs(t, key, "peer")
}

func (r *rig) dialAs(t *testing.T, key keys.LinkPrivateKey, blob string) (*link.Session, error) {
	t.Helper()
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	return link.Initiate(context.Background(), conn, &link.Config{
		Static: key, AuthBlob: []byte(blob), PeerStatic: r.key.Public(), Limits: limits, HandshakeTimeout: 5 * time.Second,
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
	if full, busy := r.srv.Refused(); full != 1 || busy != 0 {
		t.Fatalf("Refused() = %d full, %d busy; want 1, 0", full, busy)
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

// TestReauthorizeInParallel: re-authorisation re-checks several links at
// once, each exactly once, and closes exactly those refused. Every re-check
// waits until all of them are in flight, which one at a time never are.
func TestReauthorizeInParallel(t *testing.T) {
	const links, refused = 6, 2
	r := newRig(t, 0)
	for range links {
		s, err := r.dial(t, r.peer)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
	}
	waitCounts(t, r.srv, links, 0)
	var calls atomic.Int32
	var serial atomic.Bool
	arrived, all := make(chan struct{}, links), make(chan struct{})
	go func() {
		for range links {
			<-arrived
		}
		close(all)
	}()
	recheck := func(Kind) bool {
		n := calls.Add(1)
		arrived <- struct{}{}
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			serial.Store(true)
		}
		return n > refused
	}
	r.recheck.Store(&recheck)
	if closed := r.srv.Reauthorize(); closed != refused {
		t.Fatalf("Reauthorize closed %d links, want %d", closed, refused)
	}
	if serial.Load() {
		t.Fatalf("the %d re-checks were never all in flight at once", links)
	}
	if n := calls.Load(); n != links {
		t.Fatalf("%d re-checks for %d links", n, links)
	}
	waitCounts(t, r.srv, links-refused, 0)
}

func waitCounts(t *testing.T, srv *Server, nodes, clients int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, c := srv.Counts()
		if n == nodes && c == clients {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("links: %d nodes, %d clients; want %d, %d", n, c, nodes, clients)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition
	}
}

// TestClientLinksGoToServeClient: on a Provider, a link admitted as Client
// is run by ServeClient (not the packet loop), counted apart from node
// links, and closed by re-authorisation once the client is no longer valid.
func TestClientLinksGoToServeClient(t *testing.T) {
	r := newRigClients(t, 0, true)
	c, err := r.dialAs(t, r.client, "client")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A command only ServeClient answers.
	if err := c.Send(&link.GetConsensus{Epoch: 3}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if cmd, err := c.Recv(); err != nil || cmd.ID() != link.IDNoOp {
		t.Fatalf("client session answered %v, %v; want ServeClient's NoOp", cmd, err)
	}
	n, err := r.dial(t, r.peer)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	waitCounts(t, r.srv, 1, 1)

	r.clientOK.Store(false)
	if closed := r.srv.Reauthorize(); closed != 1 {
		t.Fatalf("Reauthorize closed %d links, want the client's", closed)
	}
	select {
	case <-r.clientDone:
	case <-time.After(10 * time.Second):
		t.Fatal("ServeClient did not end after the client was refused")
	}
	waitCounts(t, r.srv, 1, 0)
	if _, err := r.dialAs(t, r.client, "client"); !errors.Is(err, link.ErrPeerRejected) {
		t.Fatalf("refused client's handshake: %v", err)
	}
}

// TestMixRefusesClients: without ServeClient a Client verdict is a refusal.
func TestMixRefusesClients(t *testing.T) {
	r := newRig(t, 0)
	if _, err := r.dialAs(t, r.client, "client"); !errors.Is(err, link.ErrPeerRejected) {
		t.Fatalf("client at a mix: %v, want ErrPeerRejected", err)
	}
}
