package link

import (
	"context"
	"crypto/ecdh"
	"crypto/mlkem"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
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
	scratch := initiatorScratch.Get().(*initiatorState)
	defer scratch.release()
	ss := &scratch.ss

	own := cfg.Static.Public()
	if own == nil {
		return nil, h.fail("static key", ErrConfig)
	}
	peer := *cfg.PeerStatic
	peerK, err := peerKeys.get(&peer)
	if err != nil {
		return nil, h.fail("responder key", err)
	}
	e, err := newEphemeralKey(&peer.X25519) // and es with it
	if err != nil {
		return nil, h.fail("ephemeral key", err)
	}
	defer e.wipe()
	kem, err := mlkem.GenerateKey768()
	if err != nil {
		return nil, h.fail("ephemeral KEM key", err)
	}

	// Message 1 (§4.3): e, es, skemR, ekem, s.
	ss.initialize(preamble[:], &peer)
	msg := scratch.buf[:0]
	msg = append(msg, preamble[:]...)
	msg = append(msg, e.public[:]...)
	ss.mixHash(msg[preambleLength:])
	if err := mixEarlyDH(ss, e, 0); err != nil {
		return nil, h.fail("message 1: es", err)
	}
	msg = mixEncaps(ss, msg, peerK)
	msg = ss.encryptAndHash(msg, kem.EncapsulationKey().Bytes())
	n := copy(ss.plain[:], own.X25519[:]) // not own.Bytes(): no allocation
	copy(ss.plain[n:], own.MLKEM[:])
	msg = ss.encryptAndHash(msg, ss.plain[:])
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
	re := (*[x25519Length]byte)(rest[:x25519Length])
	rest = rest[x25519Length:]
	if err := mixEphemeralDH(ss, e, re); err != nil {
		return nil, h.fail("message 2: ee", err)
	}
	// The first authenticated value: proves the responder holds its static
	// key before we use ours (§4.4).
	if err := mixDecaps(ss, rest[:kemCTLength+tagLen], kem); err != nil {
		return nil, h.fail("message 2: ekem", err)
	}
	rest = rest[kemCTLength+tagLen:]
	reKey, err := ecdh.X25519().NewPublicKey(re[:])
	if err != nil {
		return nil, h.fail("message 2: e", err)
	}
	if err := mixDH(ss, cfg.Static.X25519(), reKey); err != nil {
		return nil, h.fail("message 2: se", err)
	}
	if err := mixDecaps(ss, rest[:kemCTLength+tagLen], cfg.Static.MLKEM()); err != nil {
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

// initiatorState is the memory an initiator's handshake works in: the
// symmetric state and the buffer for the largest message. It is reused
// through initiatorScratch, so that a handshake does not leave some 5 KiB
// to the garbage collector each time (docs/bench/link.md).
type initiatorState struct {
	ss  symmetricState
	buf [msg1Length]byte
}

var initiatorScratch = sync.Pool{New: func() any { return new(initiatorState) }}

// release erases the state's secrets and returns it to the pool.
func (s *initiatorState) release() {
	s.ss.wipe()
	clear(s.buf[:])
	initiatorScratch.Put(s)
}
