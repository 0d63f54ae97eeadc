// Package client is the mix network client library: it reaches the user's
// Provider over the link protocol, learns the network from the directory
// authority's signed PKI document, sends user messages and Kaetzchen
// requests as Sphinx packets along stratified routes with exponential
// per-hop delays, attaches SURBs for acknowledgements and replies, and
// retrieves the user's spool with the stop-and-wait protocol of
// docs/spec/client.md, which every type and function here cites.
//
// Pieces, each in its own file:
//
//   - names.go: user names, Kaetzchen endpoints, "user@provider" (§1);
//   - document.go: fetching and verifying documents, from the Provider or
//     the authority (§3);
//   - path.go: route selection and delay sampling, pure functions over an
//     injectable random source (§4);
//   - packet.go: forward packets with optional SURBs (§5);
//   - message.go: the user message format (§6);
//   - demux.go: the bounded table of outstanding SURBs and the matching of
//     SURB replies (ACKs and Kaetzchen replies) by SURB id (§5.4, §7);
//   - conn.go: the link session to the Provider, its reconnection and the
//     retrieval sequence numbers (§2, §8);
//   - kaetzchen.go: the echo and keyserver formats (§9);
//   - client.go: Client, tying them together.
//
// SECURITY: the client's link key stays in memory (memkey). Every document
// is verified with the authority's identity key whatever its source, so a
// Provider relaying documents cannot forge one. Paths, delays, SURB ids and
// message ids come from crypto/rand unless a test injects a source. SURB
// decryption keys are cleared when their SURB is answered, cancelled or
// expires. Nothing identifying a message, SURB or peer is logged above DEBUG.
package client
