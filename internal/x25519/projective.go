package x25519

import "filippo.io/edwards25519/field"

// Projective is a u-coordinate as the ratio x/z: the result of a scalar
// multiplication before its field inversion, which costs about a tenth of a
// ladder. A caller with several results converts them together with
// BatchBytes, for one inversion. The zero value is the point at infinity,
// which converts to the all-zero output.
type Projective struct {
	x, z field.Element
}

// Bytes sets *dst to the affine u-coordinate x·z^(p-2) of RFC 7748 §5: 0
// where z is 0 (the result for a low-order point).
func (p *Projective) Bytes(dst *[Size]byte) {
	var zi, u field.Element
	zi.Invert(&p.z) // 0 stays 0
	u.Multiply(&p.x, &zi)
	copy(dst[:], u.Bytes())
}

// maxBatch is how many results BatchBytes converts with one inversion; it
// bounds the scratch arrays, which stay on the stack. A longer batch is
// converted in chunks.
const maxBatch = 8

// BatchBytes sets each dst[i] to the affine u-coordinate of src[i], as
// src[i].Bytes would, with one field inversion for every maxBatch results
// (Montgomery's trick). A zero denominator (a low-order point) gives its
// own result 0 and spoils none of the others. It runs in constant time:
// the zero test selects, it does not branch. src is left unchanged.
//
// dst and src must have the same length; BatchBytes panics otherwise, as a
// call with mismatched slices is a bug in the caller, not bad input.
func BatchBytes(dst [][Size]byte, src []Projective) {
	if len(dst) != len(src) {
		panic("x25519: BatchBytes: dst and src differ in length")
	}
	for len(src) > 0 {
		n := min(len(src), maxBatch)
		batchBytes(dst[:n], src[:n])
		dst, src = dst[n:], src[n:]
	}
}

// batchBytes is BatchBytes for at most maxBatch results.
func batchBytes(dst [][Size]byte, src []Projective) {
	var one, zero field.Element
	one.One()
	var isZero [maxBatch]int
	var z [maxBatch]field.Element      // src[i].z, with 1 for 0
	var prefix [maxBatch]field.Element // z[0]·…·z[i]
	for i := range src {
		isZero[i] = src[i].z.Equal(&zero)
		z[i].Select(&one, &src[i].z, isZero[i]) // a zero would spoil every inverse
		if i == 0 {
			prefix[0].Set(&z[0])
		} else {
			prefix[i].Multiply(&prefix[i-1], &z[i])
		}
	}
	var inv, zi, u field.Element
	inv.Invert(&prefix[len(src)-1]) // 1/(z[0]·…·z[n-1])
	for i := len(src) - 1; i >= 0; i-- {
		if i > 0 {
			zi.Multiply(&inv, &prefix[i-1]) // 1/z[i]
			inv.Multiply(&inv, &z[i])       // 1/(z[0]·…·z[i-1])
		} else {
			zi.Set(&inv)
		}
		u.Multiply(&src[i].x, &zi)
		u.Select(&zero, &u, isZero[i])
		copy(dst[i][:], u.Bytes())
	}
}
