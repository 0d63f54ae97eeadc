package keystore

import "github.com/splitmix/splitmix/internal/x25519"

// basePoint is X25519's base point, u = 9 (RFC 7748 §4.1).
var basePoint = [x25519.Size]byte{9}

// publicX25519 sets *dst to the public key of the X25519 scalar in *priv.
//
// It runs the Montgomery ladder against the base point rather than
// x25519.ScalarBaseMult: the ladder keeps its copy of the scalar on the
// stack and erases it, where the fixed-base path reduces the scalar into a
// heap-allocated edwards25519.Scalar that is never wiped. keyd derives a
// public key once per key loaded, so the ladder's extra cost is nothing
// against keeping secrets out of unlocked heap memory (see the package
// documentation).
func publicX25519(dst, priv *[x25519.Size]byte) {
	x25519.ScalarMult(dst, priv, &basePoint)
}
