package keyd

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
	"github.com/splitmix/splitmix/internal/link"
)

// These tests run link handshakes where one end's static key lives in keyd
// and is used only through the IPC client, as mixd uses it
// (docs/spec/link.md §4.8), against an in-memory end, as a client or the
// authority has. The import of internal/link is test-only: keyd itself
// never links it (internal/boundary).

var testLimits = link.Limits{PacketLength: 2930, MessagePayloadLength: 2000, AckPayloadLength: 2034, MaxConsensus: 1 << 16, MaxDescriptor: 1 << 14}

type handshakeResult struct {
	s   *link.Session
	err error
}

// handshake runs Initiate and Accept over a real TCP loopback connection.
func handshake(t *testing.T, ini, resp *link.Config) (initiator, responder handshakeResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	accepted := make(chan handshakeResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- handshakeResult{err: err}
			return
		}
		s, err := link.Accept(ctx, c, resp)
		accepted <- handshakeResult{s, err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := link.Initiate(ctx, c, ini)
	r := <-accepted
	t.Cleanup(func() {
		for _, x := range []*link.Session{s, r.s} {
			if x != nil {
				x.Close()
			}
		}
	})
	return handshakeResult{s, err}, r
}

func keydLinkKey(t *testing.T) keys.LinkPrivateKey {
	t.Helper()
	c, _ := startKeyd(t, testConfig(t))
	lk, err := c.LinkKey(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

func TestLinkHandshakeKeydBackedEnds(t *testing.T) {
	kd := keydLinkKey(t)
	mem, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("node-or-user")
	for _, tc := range []struct {
		name      string
		ini, resp keys.LinkPrivateKey
	}{
		{"keyd initiator, in-memory responder", kd, mem},
		{"in-memory initiator, keyd responder", mem, kd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sawPeer *keys.LinkPublicKey
			var sawBlob []byte
			resp := &link.Config{Static: tc.resp, Limits: testLimits, Authorize: func(_ context.Context, peer *keys.LinkPublicKey, b []byte) error {
				sawPeer, sawBlob = peer, append([]byte(nil), b...)
				return nil
			}}
			ini := &link.Config{Static: tc.ini, AuthBlob: blob, PeerStatic: tc.resp.Public(), Limits: testLimits}
			i, r := handshake(t, ini, resp)
			if i.err != nil || r.err != nil {
				t.Fatalf("handshake: initiator %v, responder %v", i.err, r.err)
			}
			if !sawPeer.Equal(tc.ini.Public()) || string(sawBlob) != string(blob) {
				t.Fatal("responder did not learn the initiator's key and blob")
			}
			// A command crosses the established session both ways.
			pkt := make([]byte, testLimits.PacketLength)
			pkt[7] = 0x42
			if err := i.s.Send(&link.SendPacket{Packet: pkt}); err != nil {
				t.Fatal(err)
			}
			cmd, err := r.s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if sp, ok := cmd.(*link.SendPacket); !ok || sp.Packet[7] != 0x42 {
				t.Fatalf("responder received %T", cmd)
			}
			if err := r.s.Send(&link.NoOp{}); err != nil {
				t.Fatal(err)
			}
			if cmd, err := i.s.Recv(); err != nil {
				t.Fatal(err)
			} else if _, ok := cmd.(*link.NoOp); !ok {
				t.Fatalf("initiator received %T", cmd)
			}
		})
	}
}

// An initiator that expects another key than the one keyd holds must not
// establish a session with the keyd-backed responder.
func TestLinkHandshakeKeydResponderWrongExpectedKey(t *testing.T) {
	kd := keydLinkKey(t)
	mem, _ := memkey.GenerateLinkKey()
	impostor, _ := memkey.GenerateLinkKey()
	resp := &link.Config{Static: kd, Limits: testLimits, Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil }}
	ini := &link.Config{Static: mem, AuthBlob: []byte("x"), PeerStatic: impostor.Public(), Limits: testLimits, HandshakeTimeout: 5 * time.Second}
	i, r := handshake(t, ini, resp)
	if i.err == nil || r.err == nil {
		t.Fatalf("handshake with the wrong responder key succeeded: initiator %v, responder %v", i.err, r.err)
	}
}

// A keyd-backed responder's Authorize refusal reaches the initiator.
func TestLinkHandshakeKeydResponderRefuses(t *testing.T) {
	kd := keydLinkKey(t)
	mem, _ := memkey.GenerateLinkKey()
	refuse := errors.New("not in the document")
	resp := &link.Config{Static: kd, Limits: testLimits, Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return refuse }}
	ini := &link.Config{Static: mem, AuthBlob: []byte("x"), PeerStatic: kd.Public(), Limits: testLimits}
	i, r := handshake(t, ini, resp)
	if !errors.Is(i.err, link.ErrPeerRejected) || r.err == nil {
		t.Fatalf("initiator %v, responder %v; want ErrPeerRejected and an error", i.err, r.err)
	}
}
