// Package x25519 is the one X25519 (RFC 7748) implementation of the suite:
// the Montgomery ladder for Diffie-Hellman exchanges and Sphinx blinding,
// a fixed-base multiplication for public keys, and a batch conversion that
// shares one field inversion among several results. internal/sphinx,
// internal/link and keyd's key store use it.
//
// # Why not crypto/ecdh
//
// crypto/ecdh.NewPrivateKey computes the public key, a full second scalar
// multiplication, every time a private scalar is imported, and
// golang.org/x/crypto/curve25519.X25519 goes through it and allocates. The
// Sphinx unwrap multiplies by a per-hop blinding factor whose public key is
// never needed (docs/spec/sphinx.md §2.1), and the link handshake computes
// its ephemeral exchanges from a raw scalar (docs/spec/link.md §4.3, §4.4):
// with crypto/ecdh either would cost twice as much. ScalarMult is one
// ladder and nothing else; ScalarBaseMult uses filippo.io/edwards25519's
// precomputed tables (about half a ladder); Projective and BatchBytes let a
// caller that computes several results at once pay for one inversion
// (Montgomery's trick). docs/bench/sphinx.md and docs/bench/link.md have
// the figures.
//
// The field arithmetic is filippo.io/edwards25519/field, the constant-time
// implementation the standard library itself uses. The results are those
// of crypto/ecdh bit for bit, which the tests and FuzzScalarMult check,
// except that ScalarMult returns the all-zero output for a low-order point
// where crypto/ecdh returns an error: Exchange and IsZero are the check, for
// the callers that must refuse it (RFC 7748 §6.1).
//
// SECURITY: every function runs in time independent of the scalar and of
// the point (conditional swaps and selections, no secret-dependent branch
// or index). The package keeps no state; callers erase their scalars and
// results.
package x25519
