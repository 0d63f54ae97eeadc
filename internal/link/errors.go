package link

import "errors"

// Errors returned by Initiate, Accept, Send and Recv. Handshake failures wrap
// ErrHandshake and, where it applies, a more specific error below and the
// underlying I/O error, so errors.Is works for each of them.
var (
	// ErrHandshake: the handshake failed (docs/spec/link.md §4.7).
	ErrHandshake = errors.New("link: handshake failed")
	// ErrHandshakeTimeout: the handshake did not complete within
	// Config.HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("link: handshake timed out")
	// ErrVersion: the peer speaks another protocol or version (§4.1).
	ErrVersion = errors.New("link: unknown protocol preamble or version")
	// ErrHandshakeAuth: a handshake message did not authenticate: the peer
	// does not hold the expected static key, or the message was tampered
	// with or replayed.
	ErrHandshakeAuth = errors.New("link: handshake message failed authentication")
	// ErrPeerRejected: the responder's authorization policy refused the
	// initiator (§4.6). Both sides report it.
	ErrPeerRejected = errors.New("link: peer rejected by authorization policy")
	// ErrFrameTooLarge: a frame header announced a length above the limits
	// (§5.4). Nothing was allocated for it.
	ErrFrameTooLarge = errors.New("link: frame too large")
	// ErrBadFrame: a transport record did not authenticate or was too short
	// (§5.2).
	ErrBadFrame = errors.New("link: bad frame")
	// ErrBadCommand: a command is malformed or does not fit the limits
	// (§6.1); returned by Recv for received and by Send for outgoing ones.
	ErrBadCommand = errors.New("link: bad command")
	// ErrNonceExhausted: a direction has sealed 2^64-1 records (§5.1).
	ErrNonceExhausted = errors.New("link: nonce space exhausted")
	// ErrClosed: the session was closed locally.
	ErrClosed = errors.New("link: session closed")
	// ErrConfig: the Config or Limits are unusable.
	ErrConfig = errors.New("link: invalid configuration")
)
