// Package keys holds the public halves of a node's keys and the opaque
// interfaces through which code that must not hold private keys (mixd, the
// link layer) uses them.
//
// Nothing in this package holds a private key. In-memory private keys, for
// clients, the directory authority, tests and keyd's own store, live in
// package memkey below this one; mixd reaches its node's private keys only
// through keyd (ipc/keyproto), which implements the same interfaces.
//
// Key kinds (docs/spec/keys.md):
//   - identity key: Ed25519; signs the node's PKI descriptor. NodeID is the
//     BLAKE2b-256 hash of the public key.
//   - link key: hybrid X25519 + ML-KEM-768; the static key of the link
//     handshake (docs/spec/link.md).
//   - Sphinx key: X25519, one per epoch; decrypts Sphinx headers
//     (docs/spec/sphinx.md).
package keys
