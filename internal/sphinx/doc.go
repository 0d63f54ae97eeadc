// Package sphinx implements the packet format of the mix network: Sphinx
// packets (Danezis and Goldberg, IEEE S&P 2009) over X25519, BLAKE2b and
// ChaCha20, with a LIONESS wide-block cipher on the payload, the routing
// commands of a stratified mix network (next hop, recipient, SURB reply,
// delay) and single-use reply blocks. The format is docs/spec/sphinx.md; the
// code cites its sections.
//
// A Sphinx value, built from a validated Geometry (the sizes the PKI
// document publishes), does everything:
//
//   - clients build packets (NewPacket) and SURBs (NewSURB), frame forward
//     payloads (EncodeForwardPayload / DecodeForwardPayload) and decrypt
//     replies (DecryptSURBPayload);
//   - a replier answers through a SURB (NewPacketFromSURB);
//   - a node strips one layer (Unwrap), in place on its packet buffer and
//     without allocating, and gets the packet's replay tag for
//     internal/replay.
//
// SECURITY: Unwrap checks the header MAC before it changes anything and
// before it returns anything derived from the packet; every failure has its
// own sentinel error so a node can count drops by reason without logging
// packet contents. Secrets (shared secrets, derived keys) live on the stack
// and are cleared before Unwrap returns. The package holds no long-term key;
// callers pass the epoch's Sphinx private key to each call.
package sphinx
