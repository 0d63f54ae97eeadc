package sphinx

import "filippo.io/edwards25519/field"

// x25519 computes X25519(scalar, point) of RFC 7748 §5 into dst: one
// Montgomery-ladder scalar multiplication, constant time in the scalar.
//
// Why not crypto/ecdh: ecdh.NewPrivateKey also computes the public key, a
// second full multiplication that Sphinx never uses (§2.1), and the blinding
// step would pay it on every hop; golang.org/x/crypto/curve25519.X25519 goes
// through crypto/ecdh and allocates. The field arithmetic is
// filippo.io/edwards25519/field, the constant-time implementation the
// standard library itself uses.
func x25519(dst, scalar, point *[32]byte) {
	// Clamp (RFC 7748 §5, decodeScalar25519).
	var k [32]byte
	copy(k[:], scalar[:])
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	// SetBytes ignores the top bit and accepts non-canonical values, as
	// decodeUCoordinate of RFC 7748 §5 requires.
	var x1, x2, z2, x3, z3 field.Element
	x1.SetBytes(point[:])
	x2.One()
	z2.Zero()
	x3.Set(&x1)
	z3.One()

	var a, aa, b, bb, e, c, d, da, cb field.Element
	swap := 0
	for t := 254; t >= 0; t-- {
		kt := int(k[t>>3]>>(t&7)) & 1
		swap ^= kt
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = kt

		a.Add(&x2, &z2)
		aa.Square(&a)
		b.Subtract(&x2, &z2)
		bb.Square(&b)
		e.Subtract(&aa, &bb)
		c.Add(&x3, &z3)
		d.Subtract(&x3, &z3)
		da.Multiply(&d, &a)
		cb.Multiply(&c, &b)
		x3.Add(&da, &cb)
		x3.Square(&x3)
		z3.Subtract(&da, &cb)
		z3.Square(&z3)
		z3.Multiply(&z3, &x1)
		x2.Multiply(&aa, &bb)
		// z_2 = E * (AA + a24 * E), a24 = 121665.
		z2.Mult32(&e, 121665)
		z2.Add(&z2, &aa)
		z2.Multiply(&z2, &e)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	// x_2 * z_2^(p-2); z_2 = 0 (low-order input) gives 0.
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(dst[:], x2.Bytes())
	clear(k[:])
}

// basePoint is the u-coordinate 9 of RFC 7748 §4.1.
var basePoint = [32]byte{9}

// PublicKey returns X25519(priv, G), the public half of a Sphinx key
// (docs/spec/sphinx.md §2.1).
func PublicKey(priv *[32]byte) [32]byte {
	var pub [32]byte
	x25519(&pub, priv, &basePoint)
	return pub
}

// isZero reports whether b is all zero, in constant time.
func isZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return acc == 0
}
