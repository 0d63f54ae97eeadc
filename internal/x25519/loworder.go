package x25519

import (
	"crypto/subtle"
	"errors"
)

// ErrLowOrder is Exchange's error for a peer value that yields the all-zero
// shared secret (RFC 7748 §6.1): a point of small order, which a peer must
// not be able to force on us. It is the check crypto/ecdh makes.
var ErrLowOrder = errors.New("X25519: low-order peer point")

// Exchange sets *dst to X25519(scalar, point), as ScalarMult does, and
// returns ErrLowOrder if the result is all zero (*dst is then all zero).
func Exchange(dst, scalar, point *[Size]byte) error {
	ScalarMult(dst, scalar, point)
	if IsZero(dst) {
		return ErrLowOrder
	}
	return nil
}

// IsZero reports whether b is all zero, in time independent of its
// contents (b is a shared secret).
func IsZero(b *[Size]byte) bool {
	var zero [Size]byte
	return subtle.ConstantTimeCompare(b[:], zero[:]) == 1
}
