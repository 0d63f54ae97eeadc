// Package link implements the link protocol of docs/spec/link.md: a
// mutually authenticated, forward-secret handshake with a hybrid
// post-quantum key exchange (X25519 and ML-KEM-768), followed by commands
// sealed one per AEAD frame.
//
// mixd uses it for its links to other nodes and to clients, clients for the
// link to their Provider, and nodes and clients for the link to the
// directory authority. The caller supplies the connected stream, its static
// link key and its policy; the package owns no sockets, no goroutines and no
// files.
//
// The static key is a keys.LinkPrivateKey. Its private halves are used only
// through X25519().ECDH and MLKEM().Decapsulate, each exactly once per
// handshake (docs/spec/link.md §4.8), so mixd can keep them in keyd and the
// directory authority and clients can hold a memkey.LinkKey.
//
// Section numbers (§) in this package's comments refer to docs/spec/link.md;
// docs/bench/link.md has the measured costs.
//
// Use Initiate on the dialling side and Accept on the listening side. Both
// return a Session whose Send may be called from one goroutine while another
// calls Recv.
//
// SECURITY: the responder consults Config.Authorize only after the
// initiator has proved possession of both halves of its static key, and no
// command is delivered before that decision. Nothing that identifies a peer
// is logged by this package (it does not log at all); errors name the step
// that failed, never key material. Frame lengths are checked against Limits
// before a buffer is sized by them.
package link
