// Package keystore is keyd's key store: the node's identity key, link key
// and per-epoch Sphinx keys, on disk in keyd's key directory and in locked
// memory, behind the keys.Oracle interface and keyd's signing policy. keyd
// serves it over its socket (ipc/keyproto); tests use it in process.
//
// # Files
//
// All in the key directory ([Privsep] KeyDir), which must not be accessible
// by group or others (0700; Open and Generate refuse otherwise). Files are
// 0600, written to a temporary name, fsynced and then hard-linked to their
// final name, so a key file is either complete or absent and is never
// overwritten.
//
//	identity.key        32 bytes: the Ed25519 seed (RFC 8032 §5.1.5)
//	link.key            96 bytes: X25519 scalar ‖ ML-KEM-768 seed d ‖ z
//	                    (docs/spec/keys.md §1.2)
//	sphinx/<epoch>.key  32 bytes: the X25519 scalar of that epoch's Sphinx
//	                    key, <epoch> in decimal without leading zeros
//
// A Sphinx key file is made the first time its epoch is asked for and
// erased (overwritten with zeroes, fsynced, unlinked) once its epoch is
// before current-1: at Open and by Sweep, which keyd runs at every epoch
// boundary. Overwriting is best effort: on copy-on-write or
// wear-levelled storage the old blocks may survive; encrypt the volume.
//
// # Identity key from the configuration
//
// Debug.IdentityKey, when set, is the identity key and identity.key is
// neither read nor written. It is the 32-byte Ed25519 seed, or the 64-byte
// Go form seed ‖ public key (whose public half must match the seed), in hex
// or base64 (keys.DecodeKeyText). The configuration text itself stays in the
// configuration's memory, which keyd cannot wipe: keep the key in the
// key directory instead when that matters.
//
// # Policy
//
// SignDescriptor signs only a descriptor (docs/spec/pki.md) that parses in
// canonical form and: is named with this node's Server.Identifier; carries
// this node's identity and link public keys and its Provider flag; is for an
// epoch in [current, current+2] by keyd's own clock (the next descriptor is
// posted during the current epoch, and two epochs of slack absorb clock skew
// between mixd and the authority); and whose every MixKeys entry is the
// public half of a Sphinx key this store generated for that epoch.
// SphinxKeys serves epochs in [current-1, current+3]: the previous epoch
// for packets still in flight, and up to the last key a descriptor for
// current+1 announces. Refusals wrap keys.ErrRefused; malformed requests
// keys.ErrMalformed.
//
// # Memory
//
// Seeds and scalars live in a secmem arena (mlock, MADV_DONTDUMP,
// MADV_WIPEONFORK, wiped on Close); the identity key is kept there in Go's
// 64-byte form seed ‖ public. What remains on the Go heap or stack, not
// wiped, protected only by PR_SET_DUMPABLE=0 and RLIMIT_CORE=0
// (daemon.Harden):
//
//   - the ML-KEM-768 decapsulation key (crypto/mlkem.DecapsulationKey768,
//     which holds the seed and the expanded secret vector): Go offers no
//     decapsulation from a caller-held seed, and re-expanding per operation
//     would litter the heap with one copy per handshake instead of one;
//   - transient copies made during each operation. Ed25519 signing: Go's
//     crypto/ed25519 keys its cache of expanded keys by a weak pointer to
//     the key slice, which cannot point into the arena, so each signature
//     copies the 64-byte key to the heap (wiped right after) and Go caches
//     the expanded scalar and prefix until that copy is collected. keyd
//     signs about once per epoch. X25519 (internal/x25519, the suite's
//     one implementation) copies the scalar onto its stack and erases it;
//   - while a key file is read or written, nothing: file I/O goes straight
//     to and from the arena;
//   - Sphinx private keys returned by SphinxKeys: they are copied into the
//     returned keys.SphinxKey values, which the caller owns. Served over
//     the socket, they are encoded into the reply frame by package ipc and
//     those heap copies stay until collected; mixd's client wipes the
//     copies it decodes and keeps the keys in its own locked memory.
package keystore
