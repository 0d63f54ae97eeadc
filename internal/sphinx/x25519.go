package sphinx

import curve "github.com/splitmix/splitmix/internal/x25519"

// x25519 computes X25519(scalar, point) of RFC 7748 §5 into dst, which may
// be point (the blinding step works in place). It is internal/x25519's
// ladder: one scalar multiplication and no public key, which
// crypto/ecdh.NewPrivateKey would also compute, a second multiplication the
// blinding would pay on every hop (docs/spec/sphinx.md §2.1). The all-zero
// output of a low-order point is not refused here: Unwrap and NewPacket
// check the secret with isZero.
func x25519(dst, scalar, point *[32]byte) {
	curve.ScalarMult(dst, scalar, point)
}

// PublicKey returns X25519(priv, G), the public half of a Sphinx key
// (docs/spec/sphinx.md §2.1), from internal/x25519's fixed-base tables.
func PublicKey(priv *[32]byte) [32]byte {
	var pub [32]byte
	curve.ScalarBaseMult(&pub, priv)
	return pub
}

// isZero reports whether b is all zero, in constant time: it checks shared
// secrets (RFC 7748 §6.1) as well as padding.
func isZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return acc == 0
}
