package sphinx

import (
	"errors"
	"fmt"
)

// Forward payload flags (docs/spec/sphinx.md §8.2).
const (
	flagNoSURB = 0x00
	flagSURB   = 0x01
)

// ErrForwardPayload reports a malformed forward payload framing (§8.2).
var ErrForwardPayload = errors.New("sphinx: invalid forward payload")

// EncodeForwardPayload frames a forward payload (§8.2): flags, the SURB
// (nil for none; else exactly SURBLength bytes) and msg, zero-padded to
// UserForwardPayloadLength. The result is ForwardPayloadLength bytes, the
// payload NewPacket takes.
func (s *Sphinx) EncodeForwardPayload(surb, msg []byte) ([]byte, error) {
	g := &s.geo
	if surb != nil && len(surb) != g.SURBLength {
		return nil, fmt.Errorf("%w: SURB of %d bytes, want %d", ErrForwardPayload, len(surb), g.SURBLength)
	}
	if len(msg) > g.UserForwardPayloadLength {
		return nil, fmt.Errorf("%w: message of %d bytes, at most %d", ErrForwardPayload, len(msg), g.UserForwardPayloadLength)
	}
	fp := make([]byte, g.ForwardPayloadLength)
	if surb != nil {
		fp[0] = flagSURB
		copy(fp[flagsLength:], surb)
	}
	copy(fp[flagsLength+g.SURBLength:], msg)
	return fp, nil
}

// DecodeForwardPayload splits a forward payload (the terminal hop's
// UnwrapResult.Payload) into its SURB (nil if none) and user payload
// (UserForwardPayloadLength bytes, zero-padded by the sender). Both alias fp.
func (s *Sphinx) DecodeForwardPayload(fp []byte) (surb, msg []byte, err error) {
	g := &s.geo
	if len(fp) != g.ForwardPayloadLength {
		return nil, nil, fmt.Errorf("%w: %d bytes, want %d", ErrForwardPayload, len(fp), g.ForwardPayloadLength)
	}
	if fp[1] != 0 {
		return nil, nil, fmt.Errorf("%w: reserved byte is %#02x", ErrForwardPayload, fp[1])
	}
	region := fp[flagsLength : flagsLength+g.SURBLength]
	switch fp[0] {
	case flagNoSURB:
		if !isZero(region) {
			return nil, nil, fmt.Errorf("%w: no SURB flagged but the SURB area is not zero", ErrForwardPayload)
		}
	case flagSURB:
		surb = region
	default:
		return nil, nil, fmt.Errorf("%w: unknown flags %#02x", ErrForwardPayload, fp[0])
	}
	return surb, fp[flagsLength+g.SURBLength:], nil
}
