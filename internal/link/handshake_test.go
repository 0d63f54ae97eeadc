package link

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

func TestHandshakeEstablishes(t *testing.T) {
	for _, network := range []string{"pipe", "tcp"} {
		t.Run(network, func(t *testing.T) {
			e := newEndpoints(t)
			ini, resp := establish(t, network, e)

			if !ini.PeerStatic().Equal(e.rkey.Public()) {
				t.Error("initiator's PeerStatic is not the responder's key")
			}
			if !resp.PeerStatic().Equal(e.ikey.Public()) {
				t.Error("responder's PeerStatic is not the initiator's key")
			}
			if got := resp.PeerAuthBlob(); !bytes.Equal(got, e.icfg.AuthBlob) {
				t.Errorf("responder's PeerAuthBlob = %q, want %q", got, e.icfg.AuthBlob)
			}
			if ini.PeerAuthBlob() != nil {
				t.Error("initiator has a peer auth blob")
			}
			if e.auth.count() != 1 || !e.auth.peer.Equal(e.ikey.Public()) || !bytes.Equal(e.auth.blob, e.icfg.AuthBlob) {
				t.Errorf("Authorize saw %d calls, peer ok %v, blob %q", e.auth.count(), e.auth.peer.Equal(e.ikey.Public()), e.auth.blob)
			}
			if skew := ini.ClockSkew(); skew < -2*time.Second || skew > 2*time.Second {
				t.Errorf("clock skew between two ends on one machine = %v", skew)
			}
			// §4.8: one static X25519 and one static decapsulation per side,
			// and no other use of the private halves.
			for name, k := range map[string]*countingKey{"initiator": e.ikey, "responder": e.rkey} {
				if d, c, o := k.counts(); d != 1 || c != 1 || o != 0 {
					t.Errorf("%s: %d ECDH, %d Decapsulate, %d other calls; want 1, 1, 0", name, d, c, o)
				}
			}
			exchange(t, ini, resp)
			exchange(t, resp, ini)
		})
	}
}

// exchange sends one packet from a to b and checks it arrives intact.
func exchange(t *testing.T, a, b *Session) {
	t.Helper()
	pkt := bytes.Repeat([]byte{0xA5}, testLimits.PacketLength)
	errc := make(chan error, 1)
	go func() { errc <- a.Send(&SendPacket{Packet: pkt}) }()
	cmd, err := b.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Send: %v", err)
	}
	sp, ok := cmd.(*SendPacket)
	if !ok || !bytes.Equal(sp.Packet, pkt) {
		t.Fatalf("received %T, want the packet sent", cmd)
	}
}

func TestWrongResponderKey(t *testing.T) {
	e := newEndpoints(t)
	other := newCountingKey(t)
	e.rcfg.Static = other // the initiator still expects e.rkey
	ic, rc := pipe(t, "tcp")
	i, r := runHandshake(e.icfg, e.rcfg, ic, rc)
	if i.err == nil || r.err == nil {
		t.Fatalf("handshake with the wrong responder key: initiator %v, responder %v", i.err, r.err)
	}
	if !errors.Is(i.err, ErrHandshake) || !errors.Is(r.err, ErrHandshake) {
		t.Errorf("errors do not wrap ErrHandshake: %v / %v", i.err, r.err)
	}
	if !errors.Is(r.err, ErrHandshakeAuth) {
		t.Errorf("responder error %v, want ErrHandshakeAuth", r.err)
	}
	if e.auth.count() != 0 {
		t.Error("Authorize was called for a handshake that failed")
	}
	// The initiator never used its static key on an unauthenticated responder.
	if d, c, _ := e.ikey.counts(); d != 0 || c != 0 {
		t.Errorf("initiator used its static key (%d ECDH, %d Decapsulate) on an impostor", d, c)
	}
}

func TestInitiatorRefused(t *testing.T) {
	e := newEndpoints(t)
	refusal := errors.New("unknown user")
	e.auth.err = refusal
	ic, rc := pipe(t, "pipe")
	i, r := runHandshake(e.icfg, e.rcfg, ic, rc)
	if !errors.Is(i.err, ErrPeerRejected) {
		t.Errorf("initiator: %v, want ErrPeerRejected", i.err)
	}
	if !errors.Is(r.err, ErrPeerRejected) || !errors.Is(r.err, refusal) {
		t.Errorf("responder: %v, want ErrPeerRejected wrapping the policy's error", r.err)
	}
	if i.s != nil || r.s != nil {
		t.Error("a session was returned for a refused initiator")
	}
	// Both connections are closed: a write fails.
	if _, err := rc.Write([]byte{0}); err == nil {
		t.Error("responder's connection still open after refusal")
	}
}

func TestUnexpectedInitiatorKeyIsNotAuthorized(t *testing.T) {
	// The policy, not the link, decides who is welcome: a policy bound to one
	// key refuses another initiator that holds a valid key of its own.
	e := newEndpoints(t)
	expected := newCountingKey(t).Public()
	e.rcfg.Authorize = func(_ context.Context, peer *keys.LinkPublicKey, _ []byte) error {
		if !peer.Equal(expected) {
			return errors.New("not the expected peer")
		}
		return nil
	}
	ic, rc := pipe(t, "pipe")
	i, r := runHandshake(e.icfg, e.rcfg, ic, rc)
	if !errors.Is(i.err, ErrPeerRejected) || !errors.Is(r.err, ErrPeerRejected) {
		t.Fatalf("initiator %v, responder %v; want ErrPeerRejected on both", i.err, r.err)
	}
}

// captureHandshake runs one successful handshake and returns what each side
// wrote, split into handshake messages.
func captureHandshake(t *testing.T, e *endpoints) (msg1, msg2, msg3, msg4 []byte) {
	t.Helper()
	ic, rc := pipe(t, "pipe")
	irec, rrec := &recorder{Conn: ic}, &recorder{Conn: rc}
	i, r := runHandshake(e.icfg, e.rcfg, irec, rrec)
	if i.err != nil || r.err != nil {
		t.Fatalf("handshake: %v / %v", i.err, r.err)
	}
	i.s.Close()
	r.s.Close()
	iw, rw := irec.written(), rrec.written()
	if len(iw) != 2 || len(rw) != 2 {
		t.Fatalf("initiator wrote %d messages, responder %d; want 2 and 2", len(iw), len(rw))
	}
	return iw[0], rw[0], iw[1], rw[1]
}

func TestHandshakeMessageSizes(t *testing.T) {
	m1, m2, m3, m4 := captureHandshake(t, newEndpoints(t))
	// docs/spec/link.md §8.
	for _, c := range []struct {
		name string
		got  int
		want int
	}{{"message 1", len(m1), 3576}, {"message 2", len(m2), 2264}, {"message 3", len(m3), 81}, {"message 4", len(m4), 17}} {
		if c.got != c.want {
			t.Errorf("%s is %d bytes, spec says %d", c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(m1[:8], []byte("SPLXLIN\x01")) {
		t.Errorf("preamble %q", m1[:8])
	}
}

func TestReplayedHandshake(t *testing.T) {
	e := newEndpoints(t)
	m1, _, m3, _ := captureHandshake(t, e)
	before := e.auth.count()

	// An attacker replays message 1 and then message 3 of the recorded
	// session to a fresh responder with the same key.
	attacker, rc := pipe(t, "pipe")
	done := make(chan error, 1)
	go func() {
		_, err := Accept(context.Background(), rc, e.rcfg)
		done <- err
	}()
	if _, err := attacker.Write(m1); err != nil {
		t.Fatalf("replaying message 1: %v", err)
	}
	reply := make([]byte, msg2Length)
	if _, err := io.ReadFull(attacker, reply); err != nil {
		t.Fatalf("responder did not answer the replayed message 1: %v", err)
	}
	if _, err := attacker.Write(m3); err != nil {
		t.Fatalf("replaying message 3: %v", err)
	}
	err := <-done
	if !errors.Is(err, ErrHandshakeAuth) {
		t.Errorf("replayed handshake: %v, want ErrHandshakeAuth", err)
	}
	if e.auth.count() != before {
		t.Error("Authorize was consulted for a replayed handshake")
	}
	// Nothing more comes out of the responder: no verdict, no session.
	if n, _ := attacker.Read(make([]byte, 1)); n != 0 {
		t.Error("responder sent more after a failed message 3")
	}
}

func TestWrongPreamble(t *testing.T) {
	e := newEndpoints(t)
	m1, _, _, _ := captureHandshake(t, e)
	for _, bad := range [][]byte{
		append([]byte("SPLXLIN\x02"), m1[8:]...), // another version
		[]byte("GET / HTTP/1.1\r\n"),             // another protocol
	} {
		attacker, rc := pipe(t, "pipe")
		done := make(chan error, 1)
		go func() {
			_, err := Accept(context.Background(), rc, e.rcfg)
			done <- err
		}()
		go attacker.Write(bad)
		if err := <-done; !errors.Is(err, ErrVersion) {
			t.Errorf("preamble %q: %v, want ErrVersion", bad[:8], err)
		}
	}
	if d, c, _ := e.rkey.counts(); d != 1 || c != 1 {
		t.Errorf("responder used its static key %d/%d times; only the captured handshake should have", d, c)
	}
}

// TestTruncatedMessage1And2 cuts messages 1 and 2 at every length: the
// receiving side fails without a session, and no command is ever accepted.
func TestTruncatedMessage1And2(t *testing.T) {
	e := newEndpoints(t)
	m1, m2, _, _ := captureHandshake(t, e)
	step := 1
	if testing.Short() {
		step = 97
	}
	for n := 0; n < len(m1); n += step {
		a, rc := net.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := Accept(context.Background(), rc, e.rcfg)
			done <- err
		}()
		a.Write(m1[:n])
		a.Close()
		if err := <-done; !errors.Is(err, ErrHandshake) {
			t.Fatalf("message 1 cut at %d: %v, want ErrHandshake", n, err)
		}
	}
	for n := 0; n < len(m2); n += step {
		ic, b := net.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := Initiate(context.Background(), ic, e.icfg)
			done <- err
		}()
		io.ReadFull(b, make([]byte, msg1Length))
		b.Write(m2[:n])
		b.Close()
		if err := <-done; !errors.Is(err, ErrHandshake) {
			t.Fatalf("message 2 cut at %d: %v, want ErrHandshake", n, err)
		}
	}
}

// cutter forwards between two connections and closes both once limit bytes
// of the message with index msg (0-based, counting messages in both
// directions in protocol order) have passed.
func cutter(t *testing.T, ic, rc net.Conn, msg, limit int) {
	sizes := []int{msg1Length, msg2Length, msg3Length, msg4Length}
	go func() {
		defer ic.Close()
		defer rc.Close()
		for i, size := range sizes {
			from, to := ic, rc
			if i%2 == 1 {
				from, to = rc, ic
			}
			buf := make([]byte, size)
			if _, err := io.ReadFull(from, buf); err != nil {
				return
			}
			if i == msg {
				to.Write(buf[:limit])
				return
			}
			if _, err := to.Write(buf); err != nil {
				return
			}
		}
	}()
}

func TestTruncatedMessage3And4(t *testing.T) {
	e := newEndpoints(t)
	for msg, size := range map[int]int{2: msg3Length, 3: msg4Length} {
		for n := 0; n < size; n++ {
			ic, pi := net.Pipe()
			pr, rc := net.Pipe()
			cutter(t, pi, pr, msg, n)
			i, r := runHandshake(e.icfg, e.rcfg, ic, rc)
			if i.err == nil {
				t.Fatalf("message %d cut at %d: initiator established a session", msg+1, n)
			}
			if msg == 2 && r.err == nil {
				t.Fatalf("message 3 cut at %d: responder established a session", n)
			}
			if r.s != nil {
				r.s.Close()
			}
		}
	}
}

func TestHandshakeTimeout(t *testing.T) {
	e := newEndpoints(t)
	e.rcfg.HandshakeTimeout = 200 * time.Millisecond
	e.icfg.HandshakeTimeout = 200 * time.Millisecond

	// A peer that connects and never speaks.
	_, rc := pipe(t, "tcp")
	within(t, 10*time.Second, "Accept", func() {
		_, err := Accept(context.Background(), rc, e.rcfg)
		if !errors.Is(err, ErrHandshakeTimeout) {
			t.Errorf("Accept: %v, want ErrHandshakeTimeout", err)
		}
	})
	// A responder that reads message 1 and never answers.
	ic, silent := pipe(t, "tcp")
	go io.Copy(io.Discard, silent)
	within(t, 10*time.Second, "Initiate", func() {
		_, err := Initiate(context.Background(), ic, e.icfg)
		if !errors.Is(err, ErrHandshakeTimeout) {
			t.Errorf("Initiate: %v, want ErrHandshakeTimeout", err)
		}
	})
	// A responder whose policy hangs past the deadline.
	e.rcfg.Authorize = func(ctx context.Context, _ *keys.LinkPublicKey, _ []byte) error {
		<-ctx.Done()
		return ctx.Err()
	}
	ic, rc = pipe(t, "tcp")
	within(t, 10*time.Second, "handshake with a hanging policy", func() {
		i, r := runHandshake(e.icfg, e.rcfg, ic, rc)
		if i.err == nil || r.err == nil {
			t.Errorf("hanging policy: initiator %v, responder %v", i.err, r.err)
		}
	})
}

func TestHandshakeCancelled(t *testing.T) {
	e := newEndpoints(t)
	_, rc := pipe(t, "pipe")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Accept(ctx, rc, e.rcfg)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrHandshake) {
			t.Errorf("cancelled Accept: %v, want ErrHandshake wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled Accept did not return")
	}
}

func TestConfigValidation(t *testing.T) {
	e := newEndpoints(t)
	cases := map[string]func(i, r *Config){
		"no static key":          func(i, r *Config) { i.Static = nil },
		"no peer key":            func(i, r *Config) { i.PeerStatic = nil },
		"auth blob too long":     func(i, r *Config) { i.AuthBlob = make([]byte, MaxAuthBlobLength+1) },
		"negative limit":         func(i, r *Config) { i.Limits.PacketLength = -1 },
		"limit above hard limit": func(i, r *Config) { i.Limits.MaxConsensus = maxCommandHardLimit },
		"negative timeout":       func(i, r *Config) { i.HandshakeTimeout = -time.Second },
	}
	for name, mutate := range cases {
		i, r := *e.icfg, *e.rcfg
		mutate(&i, &r)
		ic, _ := net.Pipe()
		if _, err := Initiate(context.Background(), ic, &i); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Initiate: %v, want ErrConfig", name, err)
		}
	}
	r := *e.rcfg
	r.Authorize = nil
	_, rc := net.Pipe()
	if _, err := Accept(context.Background(), rc, &r); !errors.Is(err, ErrConfig) {
		t.Errorf("responder without Authorize: %v, want ErrConfig", err)
	}
}
