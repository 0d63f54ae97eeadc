package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The body of every message the load tool sends. The receiver learns from
// it who sent the message, which of the sender's messages it is and when it
// was sent, so that one process with one clock can measure latency:
//
//	magic "SMLD" ‖ version u8 = 1 ‖ reserved u8 = 0 ‖ run u64 ‖
//	sender u32 ‖ sequence u64 ‖ sent_ns i64 ‖ zeros up to the body size
//
// All integers are big-endian. sent_ns is nanoseconds since the run's start
// on the monotonic clock, not wall time, so a clock step during a run does
// not distort a latency. run is a random number per run: a message left in a
// spool by an earlier run is recognised and ignored.
const (
	bodyMagic   = "SMLD"
	bodyVersion = 1
	// BodyHeaderSize is the smallest body: the header without padding.
	BodyHeaderSize = 4 + 1 + 1 + 8 + 4 + 8 + 8
)

// ErrBadBody reports bytes that are not a load tool body.
var ErrBadBody = errors.New("loadgen: not a load message body")

// Body is the decoded header of a load message.
type Body struct {
	Run      uint64
	Sender   uint32
	Sequence uint64
	// Sent is the send time as an offset from the run's start.
	Sent time.Duration
}

// Encode writes b into a body of size bytes (at least BodyHeaderSize).
func (b *Body) Encode(size int) ([]byte, error) {
	if size < BodyHeaderSize {
		return nil, fmt.Errorf("loadgen: body size %d is below the header's %d bytes", size, BodyHeaderSize)
	}
	if b.Sent < 0 {
		return nil, fmt.Errorf("loadgen: negative send time %v", b.Sent)
	}
	out := make([]byte, size)
	copy(out, bodyMagic)
	out[4] = bodyVersion
	binary.BigEndian.PutUint64(out[6:], b.Run)
	binary.BigEndian.PutUint32(out[14:], b.Sender)
	binary.BigEndian.PutUint64(out[18:], b.Sequence)
	binary.BigEndian.PutUint64(out[26:], uint64(b.Sent))
	return out, nil
}

// DecodeBody parses a body. It accepts exactly what Encode writes: the
// magic, version 1, a zero reserved byte, a non-negative send time and zero
// padding. The bytes come from the network (a user's spool), so anything
// else is an error wrapping ErrBadBody, never a panic.
func DecodeBody(p []byte) (Body, error) {
	var b Body
	if len(p) < BodyHeaderSize {
		return b, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrBadBody, len(p), BodyHeaderSize)
	}
	if string(p[:4]) != bodyMagic {
		return b, fmt.Errorf("%w: wrong magic", ErrBadBody)
	}
	if p[4] != bodyVersion || p[5] != 0 {
		return b, fmt.Errorf("%w: version %d, reserved %d", ErrBadBody, p[4], p[5])
	}
	sent := int64(binary.BigEndian.Uint64(p[26:]))
	if sent < 0 {
		return b, fmt.Errorf("%w: negative send time", ErrBadBody)
	}
	for _, c := range p[BodyHeaderSize:] {
		if c != 0 {
			return b, fmt.Errorf("%w: non-zero padding", ErrBadBody)
		}
	}
	b.Run = binary.BigEndian.Uint64(p[6:])
	b.Sender = binary.BigEndian.Uint32(p[14:])
	b.Sequence = binary.BigEndian.Uint64(p[18:])
	b.Sent = time.Duration(sent)
	return b, nil
}
