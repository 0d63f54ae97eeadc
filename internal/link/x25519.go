package link

import (
	"crypto/rand"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// errLowOrderPoint is the result of an X25519 exchange with a peer value
// that yields the all-zero shared secret (RFC 7748 §6.1): a point of small
// order, which a peer must not be able to force on us (docs/spec/link.md §2).
var errLowOrderPoint = errors.New("X25519: low-order peer point")

// maxEarlyExchanges is how many exchanges newEphemeralKey can compute
// together with the key: the responder's ee and se (§4.4).
const maxEarlyExchanges = 2

// ephemeralKey is one side's X25519 ephemeral key pair, used for one
// handshake only (docs/spec/link.md §4.3, §4.4).
//
// It exists for speed. crypto/ecdh computes an ephemeral public key with
// the general Montgomery ladder, and recomputes it (a second full scalar
// multiplication) whenever a private key is imported; x/crypto's
// curve25519.X25519 goes through that import too. Here the public key is a
// fixed-base multiplication over precomputed tables, each exchange is one
// ladder and nothing else, and the exchanges whose peer value is known when
// the key is drawn share one field inversion with the public key
// (newEphemeralKey). All of it is constant-time. docs/bench/link.md has
// the figures.
type ephemeralKey struct {
	scalar [32]byte // the 32 random bytes of RFC 7748 §5, clamped at each use
	public [32]byte // X25519(scalar, 9)
	// early[i] is X25519(scalar, peers[i]) for the peers given to
	// newEphemeralKey; earlyErr[i] is errLowOrderPoint if it is all zero.
	early    [maxEarlyExchanges][32]byte
	earlyErr [maxEarlyExchanges]error
}

// newEphemeralKey draws a fresh ephemeral key pair and computes its
// exchanges with up to maxEarlyExchanges peer values, sharing one field
// inversion among the public key and all of them (Montgomery's trick: each
// inversion costs a tenth of an X25519 operation).
func newEphemeralKey(peers ...*[32]byte) (*ephemeralKey, error) {
	if len(peers) > maxEarlyExchanges {
		panic("link: too many early X25519 exchanges")
	}
	k := new(ephemeralKey)
	if _, err := rand.Read(k.scalar[:]); err != nil {
		return nil, err
	}
	var x, z [1 + maxEarlyExchanges]field.Element
	baseProjective(&x[0], &z[0], &k.scalar)
	for i, p := range peers {
		ladder(&x[1+i], &z[1+i], &k.scalar, p)
	}
	n := 1 + len(peers)
	affineBatch(x[:n], z[:n])
	copy(k.public[:], x[0].Bytes())
	for i := range peers {
		copy(k.early[i][:], x[1+i].Bytes())
		if allZero(k.early[i][:]) {
			k.earlyErr[i] = errLowOrderPoint
		}
	}
	return k, nil
}

// exchange sets *shared to X25519(k, peer) and rejects the all-zero result,
// as crypto/ecdh does.
func (k *ephemeralKey) exchange(shared *[32]byte, peer *[32]byte) error {
	x25519(shared, &k.scalar, peer)
	if allZero(shared[:]) {
		return errLowOrderPoint
	}
	return nil
}

// wipe erases the private scalar and the shared secrets.
func (k *ephemeralKey) wipe() {
	clear(k.scalar[:])
	for i := range k.early {
		clear(k.early[i][:])
	}
}

// x25519Base sets *out to X25519(scalar, 9), the public key of scalar.
func x25519Base(out, scalar *[32]byte) {
	var x, z field.Element
	baseProjective(&x, &z, scalar)
	z.Invert(&z)
	x.Multiply(&x, &z)
	copy(out[:], x.Bytes())
}

// baseProjective sets (x:z) to the projective u-coordinate of X25519(scalar,
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
// is below 8l > 2^255. TestX25519BaseAgainstECDH checks all this against
// crypto/ecdh.
func baseProjective(x, z *field.Element, scalar *[32]byte) {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar[:])
	if err != nil { // only for an input that is not 32 bytes long
		panic("link: edwards25519: " + err.Error())
	}
	var p edwards25519.Point
	p.ScalarBaseMult(s)
	_, ey, ez, _ := p.ExtendedCoordinates()
	x.Add(ez, ey)
	z.Subtract(ez, ey)
}

// affineBatch sets each x[i] to x[i]/z[i], or to 0 where z[i] is 0 (the
// point at infinity, which RFC 7748's x·z^(p-2) also maps to 0), with one
// inversion for all (Montgomery's trick). It runs in constant time: the
// zero test selects, it does not branch. len(x) = len(z) <= 3.
func affineBatch(x, z []field.Element) {
	var one, zero field.Element
	one.One()
	var isZero [1 + maxEarlyExchanges]int
	var prefix [1 + maxEarlyExchanges]field.Element // z[0]·…·z[i]
	for i := range z {
		isZero[i] = z[i].Equal(&zero)
		z[i].Select(&one, &z[i], isZero[i]) // a zero would spoil every inverse
		if i == 0 {
			prefix[0].Set(&z[0])
		} else {
			prefix[i].Multiply(&prefix[i-1], &z[i])
		}
	}
	var inv, zi field.Element
	inv.Invert(&prefix[len(z)-1]) // 1/(z[0]·…·z[n-1])
	for i := len(z) - 1; i >= 0; i-- {
		if i > 0 {
			zi.Multiply(&inv, &prefix[i-1]) // 1/z[i]
			inv.Multiply(&inv, &z[i])       // 1/(z[0]·…·z[i-1])
		} else {
			zi.Set(&inv)
		}
		x[i].Multiply(&x[i], &zi)
		x[i].Select(&zero, &x[i], isZero[i])
	}
}

// a24 is (A-2)/4 for Curve25519's A = 486662 (RFC 7748 §5).
const a24 = 121665

// x25519 sets *out to X25519(scalar, u) (RFC 7748 §5).
func x25519(out, scalar, u *[32]byte) {
	var x, z field.Element
	ladder(&x, &z, scalar, u)
	z.Invert(&z) // 0 stays 0: a low-order u gives the all-zero output
	x.Multiply(&x, &z)
	copy(out[:], x.Bytes())
}

// ladder sets (outX:outZ) to the projective result of X25519(scalar, u): the
// Montgomery ladder of RFC 7748 §5, in constant time (conditional swaps, no
// secret-dependent branch or index). As the RFC requires, the scalar is
// clamped and the most significant bit of u is ignored
// (field.Element.SetBytes drops it); non-canonical u values are accepted
// and reduced.
func ladder(outX, outZ *field.Element, scalar, u *[32]byte) {
	var k [32]byte
	copy(k[:], scalar[:])
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	var x1, x2, z2, x3, z3 field.Element
	if _, err := x1.SetBytes(u[:]); err != nil { // only for a wrong length
		panic("link: field: " + err.Error())
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
		z2.Mult32(&e, a24)
		z2.Add(&z2, &aa)
		z2.Multiply(&z2, &e)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	outX.Set(&x2)
	outZ.Set(&z2)
	clear(k[:])
}
