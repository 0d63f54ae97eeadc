package x25519

import "filippo.io/edwards25519/field"

// Size is the length of an X25519 scalar, u-coordinate and output
// (RFC 7748 §5).
const Size = 32

// a24 is (A-2)/4 for Curve25519's A = 486662 (RFC 7748 §5).
const a24 = 121665

// ScalarMult sets *dst to X25519(scalar, point) of RFC 7748 §5. dst may be
// the same array as scalar or point (Sphinx blinds a group element in
// place). A point of small order gives the all-zero output, which
// ScalarMult does not refuse: use Exchange where it must be.
func ScalarMult(dst, scalar, point *[Size]byte) {
	var p Projective
	p.ScalarMult(scalar, point)
	p.Bytes(dst)
}

// ScalarMult sets p to the projective result of X25519(scalar, point): the
// Montgomery ladder of RFC 7748 §5, in constant time (conditional swaps, no
// secret-dependent branch or index). As the RFC requires, the scalar is
// clamped and the most significant bit of point is ignored
// (field.Element.SetBytes drops it); non-canonical u values are accepted
// and reduced.
func (p *Projective) ScalarMult(scalar, point *[Size]byte) *Projective {
	var k [Size]byte
	copy(k[:], scalar[:])
	clamp(&k)

	var x1, x2, z2, x3, z3 field.Element
	if _, err := x1.SetBytes(point[:]); err != nil {
		panic("x25519: field: " + err.Error()) // unreachable: the length is fixed
	}
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
		// z_2 = E * (AA + a24 * E)
		z2.Mult32(&e, a24)
		z2.Add(&z2, &aa)
		z2.Multiply(&z2, &e)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	p.x.Set(&x2)
	p.z.Set(&z2)
	clear(k[:])
	return p
}

// clamp applies decodeScalar25519 of RFC 7748 §5 to k.
func clamp(k *[Size]byte) {
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
}
