package client

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// User message layout (docs/spec/client.md §6.1):
//
//	version u8 ‖ reserved u8 ‖ message_id[16] ‖ length u32 ‖ body ‖ zeros
const (
	messageVersion = 1
	// MessageOverhead is the bytes a user message takes besides its body.
	MessageOverhead = 1 + 1 + MessageIDSize + 4
	// MessageIDSize is the length of a message id.
	MessageIDSize = 16
)

// ErrMalformedMessage reports a user payload that is not a valid message of
// §6 (wrong size, version, length or non-zero padding).
var ErrMalformedMessage = errors.New("client: malformed message")

// ErrMessageTooLarge reports a body that does not fit one packet (§6.4).
var ErrMessageTooLarge = errors.New("client: message too large for one packet")

// MessageID names a message to its sender and recipient (§6.2).
type MessageID [MessageIDSize]byte

// String is the id in lower-case hex.
func (id MessageID) String() string { return hex.EncodeToString(id[:]) }

// MaxBody is the largest body that fits a user payload of size bytes.
func MaxBody(size int) int { return size - MessageOverhead }

// EncodeMessage frames body under id into a user payload of exactly size
// bytes (the geometry's UserForwardPayloadLength), per §6.1.
func EncodeMessage(size int, id MessageID, body []byte) ([]byte, error) {
	if size < MessageOverhead {
		return nil, fmt.Errorf("%w: user payload of %d bytes cannot hold a message", ErrMessageTooLarge, size)
	}
	if len(body) > MaxBody(size) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMessageTooLarge, len(body), MaxBody(size))
	}
	b := make([]byte, size)
	b[0] = messageVersion
	copy(b[2:], id[:])
	binary.BigEndian.PutUint32(b[2+MessageIDSize:], uint32(len(body)))
	copy(b[MessageOverhead:], body)
	return b, nil
}

// DecodeMessage parses a user payload of exactly size bytes (§6.3). The body
// is a copy.
func DecodeMessage(size int, payload []byte) (MessageID, []byte, error) {
	var id MessageID
	if len(payload) != size || size < MessageOverhead {
		return id, nil, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedMessage, len(payload), size)
	}
	if payload[0] != messageVersion {
		return id, nil, fmt.Errorf("%w: version %d", ErrMalformedMessage, payload[0])
	}
	if payload[1] != 0 {
		return id, nil, fmt.Errorf("%w: reserved byte not zero", ErrMalformedMessage)
	}
	n := binary.BigEndian.Uint32(payload[2+MessageIDSize:])
	if uint64(n) > uint64(MaxBody(size)) {
		return id, nil, fmt.Errorf("%w: length %d above %d", ErrMalformedMessage, n, MaxBody(size))
	}
	end := MessageOverhead + int(n)
	if !allZero(payload[end:]) {
		return id, nil, fmt.Errorf("%w: non-zero padding", ErrMalformedMessage)
	}
	copy(id[:], payload[2:])
	return id, append([]byte{}, payload[MessageOverhead:end]...), nil
}

// allZero reports whether b is all zero, in time that depends only on len(b).
func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}
