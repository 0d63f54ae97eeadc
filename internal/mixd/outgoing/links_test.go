package outgoing_test

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
	"github.com/splitmix/splitmix/internal/mixd/incoming"
	"github.com/splitmix/splitmix/internal/mixd/outgoing"
	"github.com/splitmix/splitmix/internal/mixd/packet"
	"github.com/splitmix/splitmix/internal/mixd/route"
	"github.com/splitmix/splitmix/internal/pki"
)

const pktLen = 512

var limits = link.Limits{PacketLength: pktLen, MessagePayloadLength: 100, AckPayloadLength: 100}

// receiver is an incoming server that admits exactly one (id, key) pair.
type receiver struct {
	srv     *incoming.Server
	addr    string
	key     *memkey.LinkKey
	allowed atomic.Pointer[keys.LinkPublicKey]
	allowID keys.NodeID
	got     chan []byte
	drops   drops.Counters
}

func newReceiver(t *testing.T, allowID keys.NodeID, allowKey *keys.LinkPublicKey) *receiver {
	t.Helper()
	key, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := packet.NewPool(pktLen, 8)
	r := &receiver{key: key, allowID: allowID, got: make(chan []byte, 16)}
	r.allowed.Store(allowKey)
	r.srv, err = incoming.New(incoming.Config{
		Static: key, Limits: limits, HandshakeTimeout: 5 * time.Second, ReauthInterval: time.Hour,
		Authorize: func(_ context.Context, peer *keys.LinkPublicKey, blob []byte) (incoming.Kind, error) {
			if !bytes.Equal(blob, allowID[:]) || !peer.Equal(r.allowed.Load()) {
				return incoming.Node, errors.New("not allowed")
			}
			return incoming.Node, nil
		},
		Deliver: func(buf []byte, _ time.Time) { r.got <- append([]byte(nil), buf[:pktLen]...); pool.Put(buf) },
		Pool:    pool, Drops: &r.drops, Log: logging.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) peer(id keys.NodeID, key *keys.LinkPublicKey) route.Peer {
	return route.Peer{ID: id, Name: "receiver", LinkKey: key, Addresses: map[string][]string{pki.TransportTCP: {r.addr}}}
}

type sender struct {
	links *outgoing.Links
	pool  *packet.Pool
	drops *drops.Counters
	id    keys.NodeID
	key   *memkey.LinkKey
}

func newSender(t *testing.T, slack time.Duration) *sender {
	t.Helper()
	key, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	s := &sender{key: key, drops: &drops.Counters{}}
	s.id[0] = 0x5E
	s.pool, _ = packet.NewPool(pktLen, 8)
	s.links, err = outgoing.New(outgoing.Config{
		Static: key, Self: s.id, Limits: limits, ConnectTimeout: time.Second, HandshakeTimeout: 5 * time.Second,
		SendSlack: slack, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Pool: s.pool, Drops: s.drops, Log: logging.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.links.Close)
	return s
}

func (s *sender) send(next keys.NodeID, fill byte) {
	b := s.pool.Get()
	for i := range b[:pktLen] {
		b[i] = fill
	}
	s.pool.SetNextHop(b, &next)
	s.links.Send(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, not synchronising
	}
}

func TestPacketCrossesTheLink(t *testing.T) {
	s := newSender(t, time.Second)
	r := newReceiver(t, s.id, s.key.Public())
	var rid keys.NodeID
	rid[0] = 0xBB
	s.send(rid, 1) // no link yet: dropped
	if s.drops.Snapshot().Dropped[drops.LinkDown] != 1 {
		t.Fatal("a packet for an unknown peer was not counted as LinkDown")
	}
	s.links.Reconcile(map[keys.NodeID]route.Peer{rid: r.peer(rid, r.key.Public())})
	waitFor(t, "the link", func() bool { return s.links.Up(rid) })
	s.send(rid, 7)
	select {
	case got := <-r.got:
		if !bytes.Equal(got, bytes.Repeat([]byte{7}, pktLen)) {
			t.Fatal("packet changed on the way")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("packet never arrived")
	}
	waitFor(t, "the forwarded count", func() bool { return s.drops.Snapshot().Forwarded == 1 })
	if total, up := s.links.Peers(); total != 1 || up != 1 {
		t.Fatalf("peers %d up %d", total, up)
	}
	if st := s.links.States(); len(st) != 1 || st[0].Name != "receiver" || !st[0].Up || st[0].Capacity != outgoing.DefaultQueueLen {
		t.Fatalf("States = %+v", st)
	}

	// Revoking the sender closes its link at the next re-authorisation,
	// and the redials are refused.
	other, _ := memkey.GenerateLinkKey()
	r.allowed.Store(other.Public())
	if n := r.srv.Reauthorize(); n != 1 {
		t.Fatalf("Reauthorize closed %d links", n)
	}
	waitFor(t, "the link to go down", func() bool { return !s.links.Up(rid) })

	// Leaving the next layer stops the link.
	s.links.Reconcile(nil)
	if total, _ := s.links.Peers(); total != 0 {
		t.Fatal("link kept after the peer left")
	}
}

func TestWrongResponderKeyIsRefused(t *testing.T) {
	s := newSender(t, time.Second)
	r := newReceiver(t, s.id, s.key.Public())
	impostor, _ := memkey.GenerateLinkKey() // the document says this key; the receiver holds another
	var rid keys.NodeID
	rid[0] = 0xCC
	s.links.Reconcile(map[keys.NodeID]route.Peer{rid: r.peer(rid, impostor.Public())})
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if s.links.Up(rid) {
			t.Fatal("link up to a responder holding another key")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r.srv.Sessions() != 0 {
		t.Fatal("the receiver has a session")
	}
}

func TestUnknownInitiatorIsRefused(t *testing.T) {
	s := newSender(t, time.Second)
	stranger, _ := memkey.GenerateLinkKey()
	r := newReceiver(t, s.id, stranger.Public()) // admits s.id only with another key
	var rid keys.NodeID
	s.links.Reconcile(map[keys.NodeID]route.Peer{rid: r.peer(rid, r.key.Public())})
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if s.links.Up(rid) || r.srv.Sessions() != 0 {
			t.Fatal("a refused initiator got a link")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSendSlackDropsLatePackets(t *testing.T) {
	s := newSender(t, time.Nanosecond) // everything is late
	r := newReceiver(t, s.id, s.key.Public())
	var rid keys.NodeID
	s.links.Reconcile(map[keys.NodeID]route.Peer{rid: r.peer(rid, r.key.Public())})
	waitFor(t, "the link", func() bool { return s.links.Up(rid) })
	s.send(rid, 3)
	waitFor(t, "the late drop", func() bool { return s.drops.Snapshot().Dropped[drops.SendTooLate] == 1 })
	if s.drops.Snapshot().Forwarded != 0 {
		t.Fatal("a late packet was sent")
	}
}

func TestBadBufferAndConfig(t *testing.T) {
	s := newSender(t, time.Second)
	s.links.Send(make([]byte, 5))
	if s.drops.Snapshot().Dropped[drops.BadSize] != 1 {
		t.Fatal("a malformed buffer was not counted")
	}
	if _, err := outgoing.New(outgoing.Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	if _, err := incoming.New(incoming.Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	s.links.Close()
	s.links.Close()
}
