package link

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/mlkem"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// Accept runs the responder's side of the handshake (docs/spec/link.md §4)
// on conn. cfg.Authorize decides, after the initiator has proved its key,
// whether it may connect; a refusal is sent to the initiator and returned
// wrapped in ErrPeerRejected. On any failure conn is closed; on success the
// session owns it.
func Accept(ctx context.Context, conn net.Conn, cfg *Config) (*Session, error) {
	if err := cfg.validate(false); err != nil {
		conn.Close()
		return nil, err
	}
	h, err := startHandshake(ctx, conn, cfg.handshakeTimeout())
	if err != nil {
		return nil, err
	}
	r := responderScratch.Get().(*responder)
	defer r.release()
	r.cfg, r.h = cfg, h
	return r.run()
}

// responderScratch keeps responders for reuse, so that a handshake does
// not leave some 5 KiB to the garbage collector each time
// (docs/bench/link.md).
var responderScratch = sync.Pool{New: func() any { return new(responder) }}

// release erases the responder's secrets and returns it to the pool.
func (r *responder) release() {
	r.ss.wipe()
	clear(r.buf[:])
	r.cfg, r.h, r.msg, r.peer = nil, nil, nil, nil
	responderScratch.Put(r)
}

// responder is the responder's handshake state.
type responder struct {
	cfg  *Config
	h    *handshakeConn
	ss   symmetricState
	msg  []byte // buf, or the caller's message in tests
	buf  [msg1Length]byte
	peer *keys.LinkPublicKey
}

func (r *responder) run() (*Session, error) {
	r.msg = r.buf[:]
	if _, err := io.ReadFull(r.h.conn, r.msg[:preambleLength]); err != nil {
		return nil, r.h.fail("reading message 1", err)
	}
	if !bytes.Equal(r.msg[:preambleLength], preamble[:]) {
		return nil, r.h.fail("message 1", ErrVersion)
	}
	if _, err := io.ReadFull(r.h.conn, r.msg[preambleLength:]); err != nil {
		return nil, r.h.fail("reading message 1", err)
	}
	ie, err := r.readMessage1(r.msg)
	if err != nil {
		return nil, r.h.fail("message 1", err)
	}
	if err := r.writeMessage2(ie); err != nil {
		return nil, err
	}
	blob, err := r.readMessage3()
	if err != nil {
		return nil, r.h.fail("message 3", err)
	}

	// Message 4 (§4.6): the verdict on a proven identity.
	authErr := r.cfg.Authorize(r.h.ctx, r.peer, blob)
	verdict := byte(verdictAccepted)
	if authErr != nil {
		verdict = verdictRefused
	}
	msg := r.ss.encryptAndHash(r.msg[:0], []byte{verdict})
	if err := r.h.write(msg); err != nil {
		return nil, r.h.fail("writing message 4", err)
	}
	if authErr != nil {
		return nil, r.h.fail("authorization", fmt.Errorf("%w: %w", ErrPeerRejected, authErr))
	}
	if err := r.h.finish(); err != nil {
		return nil, err
	}
	fromInitiator, toInitiator := r.ss.split()
	s := newSession(r.h.conn, toInitiator, fromInitiator, r.cfg.Limits)
	clear(fromInitiator[:])
	clear(toInitiator[:])
	s.peerStatic = r.peer
	s.peerAuthBlob = blob
	return s, nil
}

// ephemeralPeer is what message 1 tells the responder for message 2.
type ephemeralPeer struct {
	e      [x25519Length]byte         // initiator's X25519 ephemeral (a copy: message 2 reuses the buffer)
	kem    *mlkem.EncapsulationKey768 // initiator's ephemeral ML-KEM key
	static *[x25519Length]byte        // X25519 half of the initiator's static key
	skem   *mlkem.EncapsulationKey768 // ML-KEM half of the initiator's static key
}

// readMessage1 processes message 1 (§4.3): e, es, skemR, ekem, s. msg is
// the whole message, preamble included.
func (r *responder) readMessage1(msg []byte) (*ephemeralPeer, error) {
	if len(msg) != msg1Length || !bytes.Equal(msg[:preambleLength], preamble[:]) {
		return nil, ErrVersion
	}
	own := r.cfg.Static.Public()
	if own == nil {
		return nil, ErrConfig
	}
	r.ss.initialize(preamble[:], own)
	rest := msg[preambleLength:]
	r.ss.mixHash(rest[:x25519Length])
	ie := (*[x25519Length]byte)(rest[:x25519Length])
	ieKey, err := ecdh.X25519().NewPublicKey(ie[:])
	if err != nil {
		return nil, fmt.Errorf("e: %w", err)
	}
	rest = rest[x25519Length:]
	if err := mixDH(&r.ss, r.cfg.Static.X25519(), ieKey); err != nil {
		return nil, fmt.Errorf("es: %w", err)
	}
	if err := mixDecaps(&r.ss, rest[:kemCTLength+tagLen], r.cfg.Static.MLKEM()); err != nil {
		return nil, fmt.Errorf("skem: %w", err)
	}
	rest = rest[kemCTLength+tagLen:]
	ekBytes, err := r.ss.open(rest[:kemEKLength+tagLen])
	if err != nil {
		return nil, fmt.Errorf("ekem: %w", err)
	}
	ek, err := mlkem.NewEncapsulationKey768(ekBytes)
	if err != nil {
		return nil, fmt.Errorf("ekem: %w", err)
	}
	rest = rest[kemEKLength+tagLen:]
	sBytes, err := r.ss.open(rest)
	if err != nil {
		return nil, fmt.Errorf("s: %w", err)
	}
	peer, sk, err := parseLinkPublicKey(sBytes)
	if err != nil {
		return nil, fmt.Errorf("s: %w", err)
	}
	r.peer = peer
	return &ephemeralPeer{e: *ie, kem: ek, static: &peer.X25519, skem: sk}, nil
}

// writeMessage2 builds and sends message 2 (§4.4): e, ee, ekemct, se,
// skemI, payload(clock).
func (r *responder) writeMessage2(p *ephemeralPeer) error {
	e, err := newEphemeralKey(&p.e, p.static) // and ee, se with it
	if err != nil {
		return r.h.fail("ephemeral key", err)
	}
	defer e.wipe()
	msg := r.msg[:0]
	msg = append(msg, e.public[:]...)
	r.ss.mixHash(msg)
	if err := mixEarlyDH(&r.ss, e, 0); err != nil {
		return r.h.fail("message 2: ee", err)
	}
	msg = mixEncaps(&r.ss, msg, p.kem)
	if err := mixEarlyDH(&r.ss, e, 1); err != nil {
		return r.h.fail("message 2: se", err)
	}
	msg = mixEncaps(&r.ss, msg, p.skem)
	var clock [clockLength]byte
	binary.BigEndian.PutUint64(clock[:], uint64(time.Now().UnixMilli()))
	msg = r.ss.encryptAndHash(msg, clock[:])
	if err := r.h.write(msg); err != nil {
		return r.h.fail("writing message 2", err)
	}
	return nil
}

// readMessage3 reads and opens message 3 (§4.5) and returns the
// authentication blob.
func (r *responder) readMessage3() ([]byte, error) {
	msg := r.msg[:msg3Length]
	if _, err := io.ReadFull(r.h.conn, msg); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return r.openMessage3(msg)
}

// openMessage3 opens message 3 and returns the authentication blob.
func (r *responder) openMessage3(msg []byte) ([]byte, error) {
	auth, err := r.ss.open(msg)
	if err != nil {
		return nil, err
	}
	return parseAuthBlob(auth)
}

// parseAuthBlob checks the plaintext of message 3 (§4.5), length and
// padding, and returns a copy of the blob.
func parseAuthBlob(auth []byte) ([]byte, error) {
	if len(auth) != 1+MaxAuthBlobLength {
		return nil, fmt.Errorf("authentication field of %d bytes, want %d", len(auth), 1+MaxAuthBlobLength)
	}
	n := int(auth[0])
	if n > MaxAuthBlobLength {
		return nil, fmt.Errorf("authentication blob of %d bytes, at most %d", n, MaxAuthBlobLength)
	}
	if !allZero(auth[1+n:]) {
		return nil, fmt.Errorf("non-zero padding after the authentication blob")
	}
	return append([]byte(nil), auth[1:1+n]...), nil
}
