package x25519

import (
	"filippo.io/edwards25519"
)

// ScalarBaseMult sets *dst to X25519(scalar, 9), the public key of scalar
// (RFC 7748 §6.1), with a fixed-base multiplication over precomputed tables
// (about half the cost of ScalarMult).
func ScalarBaseMult(dst, scalar *[Size]byte) {
	var p Projective
	p.ScalarBaseMult(scalar)
	p.Bytes(dst)
}

// ScalarBaseMult sets p to the projective u-coordinate of X25519(scalar,
// 9).
//
// X25519's scalar is the clamped 255-bit integer c of RFC 7748 §5, not a
// value mod the group order l. The base point (u = 9) has order l, so
// c·B = (c mod l)·B, and that is what edwards25519's SetBytesWithClamping
// and ScalarBaseMult compute, on the birationally equivalent twisted
// Edwards curve (RFC 7748 §4.1), with a constant-time table lookup. The
// Montgomery u-coordinate of an Edwards point (X:Y:Z) is
// u = (1+y)/(1-y) = (Z+Y)/(Z-Y). c·B is never the identity (where Z = Y):
// c is below 2^255 and a multiple of 8, and no common multiple of 8 and l
// is below 8l > 2^255. TestScalarBaseMultMatchesECDH checks all this
// against crypto/ecdh.
func (p *Projective) ScalarBaseMult(scalar *[Size]byte) *Projective {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar[:])
	if err != nil {
		panic("x25519: edwards25519: " + err.Error()) // unreachable: the length is fixed
	}
	var e edwards25519.Point
	e.ScalarBaseMult(s)
	_, ey, ez, _ := e.ExtendedCoordinates()
	p.x.Add(ez, ey)
	p.z.Subtract(ez, ey)
	return p
}
