package link

import (
	"context"
	"crypto/ecdh"
	"crypto/mlkem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/splitmix/splitmix/internal/keys"
)

// Sizes of the handshake messages (docs/spec/link.md §4.3-§4.6, §8).
const (
	preambleLength = 8
	x25519Length   = 32
	kemCTLength    = mlkem.CiphertextSize768
	kemEKLength    = mlkem.EncapsulationKeySize768
	clockLength    = 8

	msg1Length = preambleLength + x25519Length + (kemCTLength + tagLen) + (kemEKLength + tagLen) + (keys.LinkPublicKeySize + tagLen)
	msg2Length = x25519Length + 2*(kemCTLength+tagLen) + clockLength + tagLen
	msg3Length = 1 + MaxAuthBlobLength + tagLen
	msg4Length = 1 + tagLen
)

// preamble is sent in clear at the start of message 1 and is the Noise
// prologue (§4.1): "SPLXLIN" and the protocol version.
var preamble = [preambleLength]byte{'S', 'P', 'L', 'X', 'L', 'I', 'N', 0x01}

// Verdicts of message 4 (§4.6).
const (
	verdictAccepted = 0x00
	verdictRefused  = 0x01
)

// handshakeConn bounds one handshake in time and turns its failures into
// the package's errors. On failure it closes the connection (§4.7 1).
type handshakeConn struct {
	conn     net.Conn
	parent   context.Context
	ctx      context.Context // carries the handshake deadline, for Authorize
	cancel   context.CancelFunc
	stopWake func() bool
}

// startHandshake applies the deadline: the earlier of the handshake timeout
// and ctx's deadline; cancelling ctx expires the connection's deadline at
// once, which unblocks any read or write.
func startHandshake(ctx context.Context, conn net.Conn, timeout time.Duration) (*handshakeConn, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: setting deadline: %w", ErrHandshake, err)
	}
	h := &handshakeConn{conn: conn, parent: ctx}
	h.ctx, h.cancel = context.WithDeadline(ctx, deadline)
	h.stopWake = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return h, nil
}

// fail closes the connection and returns err classified: a timeout wraps
// ErrHandshakeTimeout, a cancelled context its error, and every failure
// ErrHandshake.
func (h *handshakeConn) fail(step string, err error) error {
	h.stopWake()
	h.cancel()
	_ = h.conn.Close()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if cerr := h.parent.Err(); cerr != nil {
			return fmt.Errorf("%w: %s: %w", ErrHandshake, step, cerr)
		}
		return fmt.Errorf("%w: %w: %s: %w", ErrHandshake, ErrHandshakeTimeout, step, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrHandshake, step, err)
}

// finish clears the deadline after a successful handshake. It fails if ctx
// was cancelled meanwhile.
func (h *handshakeConn) finish() error {
	if !h.stopWake() {
		return h.fail("finishing", h.parent.Err())
	}
	h.cancel()
	// The handshake has succeeded. Clearing the deadline fails only when the
	// connection is already closed (net.Pipe also fails once the peer has
	// closed its end): the session's first Recv or Send then reports that,
	// which is what a peer that hangs up right after the handshake means.
	_ = h.conn.SetDeadline(time.Time{})
	return nil
}

// write writes one whole handshake message.
func (h *handshakeConn) write(msg []byte) error {
	_, err := h.conn.Write(msg)
	return err
}

// parseLinkPublicKey parses a peer's 1216-byte static key and its ML-KEM
// half, once (an ML-KEM parse costs most of an X25519 operation). The
// X25519 half needs no parsing: every 32-byte string is a valid input.
func parseLinkPublicKey(b []byte) (*keys.LinkPublicKey, *mlkem.EncapsulationKey768, error) {
	if len(b) != keys.LinkPublicKeySize {
		return nil, nil, fmt.Errorf("static key of %d bytes", len(b))
	}
	k := new(keys.LinkPublicKey)
	copy(k.X25519[:], b[:keys.LinkX25519Size])
	copy(k.MLKEM[:], b[keys.LinkX25519Size:])
	ek, err := mlkem.NewEncapsulationKey768(k.MLKEM[:])
	if err != nil {
		return nil, nil, fmt.Errorf("static key: ML-KEM-768 half: %w", err)
	}
	return k, ek, nil
}

// mixDH performs one X25519 token (es, se) of §4.2 with our static key and
// mixes the result into the chaining key.
func mixDH(ss *symmetricState, static ecdh.KeyExchanger, peer *ecdh.PublicKey) error {
	shared, err := static.ECDH(peer)
	if err != nil {
		return err
	}
	ss.mixKey(shared)
	clear(shared)
	return nil
}

// mixEarlyDH mixes into the chaining key the i-th exchange that
// newEphemeralKey computed together with e: an X25519 token (es, ee, se)
// of §4.2 whose peer value was known when e was drawn.
func mixEarlyDH(ss *symmetricState, e *ephemeralKey, i int) error {
	if err := e.earlyErr[i]; err != nil {
		return err
	}
	ss.mixKey(e.early[i][:])
	clear(e.early[i][:])
	return nil
}

// mixEphemeralDH performs one X25519 token (the initiator's ee, §4.4) with
// our ephemeral key and mixes the result into the chaining key.
func mixEphemeralDH(ss *symmetricState, e *ephemeralKey, peer *[x25519Length]byte) error {
	err := e.exchange(&ss.dh, peer)
	if err == nil {
		ss.mixKey(ss.dh[:])
	}
	clear(ss.dh[:])
	return err
}

// mixEncaps performs the sender's half of a KEM token (skemR, skemI,
// ekemct): it appends the encrypted ciphertext to msg and mixes the secret.
func mixEncaps(ss *symmetricState, msg []byte, ek *mlkem.EncapsulationKey768) []byte {
	shared, ct := ek.Encapsulate()
	msg = ss.encryptAndHash(msg, ct)
	ss.mixKey(shared)
	clear(shared)
	return msg
}

// mixDecaps performs the receiver's half of a KEM token: it opens the
// ciphertext, decapsulates with dk (ephemeral or static) and mixes the
// secret.
func mixDecaps(ss *symmetricState, sealed []byte, dk interface {
	Decapsulate([]byte) ([]byte, error)
}) error {
	ct, err := ss.open(sealed)
	if err != nil {
		return err
	}
	shared, err := dk.Decapsulate(ct)
	if err != nil {
		return err
	}
	ss.mixKey(shared)
	clear(shared)
	return nil
}
