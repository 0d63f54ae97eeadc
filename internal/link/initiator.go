package link

import (
	"context"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// Initiate runs the initiator's side of the handshake (docs/spec/link.md §4)
// on conn, expecting the responder to hold cfg.PeerStatic, and returns the
// established session. It returns only after the responder's verdict
// (§4.6): ErrPeerRejected if its policy refused us. On any failure conn is
// closed; on success the session owns it.
func Initiate(ctx context.Context, conn net.Conn, cfg *Config) (*Session, error) {
	if err := cfg.validate(true); err != nil {
		conn.Close()
		return nil, err
	}
	h, err := startHandshake(ctx, conn, cfg.handshakeTimeout())
	if err != nil {
		return nil, err
	}
	var ss symmetricState
	defer ss.wipe()

	own := cfg.Static.Public()
	if own == nil {
		return nil, h.fail("static key", ErrConfig)
	}
	peer := *cfg.PeerStatic
	peerX, peerK, err := peerKeys.get(&peer)
	if err != nil {
		return nil, h.fail("responder key", err)
	}
	e, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, h.fail("ephemeral key", err)
	}
	kem, err := mlkem.GenerateKey768()
	if err != nil {
		return nil, h.fail("ephemeral KEM key", err)
	}

	// Message 1 (§4.3): e, es, skemR, ekem, s.
	ss.initialize(preamble[:], &peer)
	msg := make([]byte, 0, msg1Length)
	msg = append(msg, preamble[:]...)
	msg = append(msg, e.PublicKey().Bytes()...)
	ss.mixHash(msg[preambleLength:])
	if err := mixDH(&ss, e, peerX); err != nil {
		return nil, h.fail("message 1: es", err)
	}
	msg = mixEncaps(&ss, msg, peerK)
	msg = ss.encryptAndHash(msg, kem.EncapsulationKey().Bytes())
	msg = ss.encryptAndHash(msg, own.Bytes())
	sent := time.Now()
	if err := h.write(msg); err != nil {
		return nil, h.fail("writing message 1", err)
	}

	// Message 2 (§4.4): e, ee, ekemct, se, skemI, payload(clock).
	msg = msg[:msg2Length]
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil, h.fail("reading message 2", err)
	}
	received := time.Now()
	rest := msg
	ss.mixHash(rest[:x25519Length])
	re, err := ecdh.X25519().NewPublicKey(rest[:x25519Length])
	if err != nil {
		return nil, h.fail("message 2: e", err)
	}
	rest = rest[x25519Length:]
	if err := mixDH(&ss, e, re); err != nil {
		return nil, h.fail("message 2: ee", err)
	}
	// The first authenticated value: proves the responder holds its static
	// key before we use ours (§4.4).
	if err := mixDecaps(&ss, rest[:kemCTLength+tagLen], kem); err != nil {
		return nil, h.fail("message 2: ekem", err)
	}
	rest = rest[kemCTLength+tagLen:]
	if err := mixDH(&ss, cfg.Static.X25519(), re); err != nil {
		return nil, h.fail("message 2: se", err)
	}
	if err := mixDecaps(&ss, rest[:kemCTLength+tagLen], cfg.Static.MLKEM()); err != nil {
		return nil, h.fail("message 2: skem", err)
	}
	rest = rest[kemCTLength+tagLen:]
	clock, err := ss.open(rest)
	if err != nil {
		return nil, h.fail("message 2: payload", err)
	}
	skew := clockSkew(binary.BigEndian.Uint64(clock), sent, received)

	// Message 3 (§4.5): payload(auth blob).
	var auth [1 + MaxAuthBlobLength]byte
	auth[0] = byte(len(cfg.AuthBlob))
	copy(auth[1:], cfg.AuthBlob)
	msg = ss.encryptAndHash(msg[:0], auth[:])
	if err := h.write(msg); err != nil {
		return nil, h.fail("writing message 3", err)
	}

	// Message 4 (§4.6): payload(verdict).
	msg = msg[:msg4Length]
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil, h.fail("reading message 4", err)
	}
	verdict, err := ss.open(msg)
	if err != nil {
		return nil, h.fail("message 4", err)
	}
	switch verdict[0] {
	case verdictAccepted:
	case verdictRefused:
		return nil, h.fail("message 4", ErrPeerRejected)
	default:
		return nil, h.fail("message 4", fmt.Errorf("unknown verdict %#x", verdict[0]))
	}
	if err := h.finish(); err != nil {
		return nil, err
	}
	toResponder, toInitiator := ss.split()
	s := newSession(conn, toResponder, toInitiator, cfg.Limits)
	clear(toResponder[:])
	clear(toInitiator[:])
	s.peerStatic = &peer
	s.clockSkew = skew
	return s, nil
}

// clockSkew estimates how far the responder's clock (milliseconds since the
// Unix epoch) was ahead of ours, taking it as read half-way between sending
// message 1 and receiving message 2 (§4.4).
func clockSkew(peerMillis uint64, sent, received time.Time) time.Duration {
	if peerMillis > 1<<62 { // nonsense; do not overflow
		return 0
	}
	mid := sent.Add(received.Sub(sent) / 2)
	return time.UnixMilli(int64(peerMillis)).Sub(mid)
}
