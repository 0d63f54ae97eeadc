// Package authority is the non-voting directory authority (cmd/dirauth): the
// single party every node and client trusts to say which nodes make up the
// network in an epoch. Its protocol is docs/spec/dirauth.md; the objects it
// signs are internal/pki's.
//
// # What it does
//
// It listens on TCP (Authority.Addresses) for link sessions
// (internal/link). On each new connection it first sends its link
// certificate in clear (§2): its link public key and an expiry, signed by
// its identity key, so that a party configured with only the identity key
// (a node's PKI.Nonvoting.PublicKey) knows which link key to expect. Dial
// is that party's side. Then:
//
//   - a node (authentication blob = its NodeID) posts its signed descriptor
//     for the current epoch or one of the next two (PostDescriptor). The
//     authority accepts it only from a node on its allow-list ([[Mixes]],
//     [[Providers]]), under that node's name and role, signed by that node's
//     identity key; it answers Ok, Invalid, Conflict or Forbidden (§4);
//   - anyone (nodes, and clients with an empty blob) asks for the document
//     of an epoch (GetConsensus) and gets it, or NotFound (not yet: ask
//     again) or Gone (§6.3).
//
// For each epoch it signs one document (pki.Document) listing the nodes
// that posted for it, the mixes dealt over Authority.Layers layers in a way
// that keeps each mix in its previous layer where balance allows (§7), with
// the Sphinx geometry and traffic parameters of its configuration. The
// document for epoch e+1 is made when 3/4 of epoch e has passed; when
// there is no document for the current epoch (a new network, or the
// authority was down) it is made as soon as every allowed node has posted,
// or BootstrapGrace after the minimum (MinNodesPerLayer per layer,
// MinProviders) was met (§6).
//
// # User, files, sockets
//
// It runs as its own unprivileged user (the examples use "dirauth"), with
// no privileges beyond binding its TCP ports. Files:
//
//	Authority.KeyDir (default DataDir/keys, mode 0700)
//	    identity.key   Ed25519 seed, 32 bytes, 0600
//	    link.key       link key seed (memkey), 0600
//	Authority.DataDir/dirauth.db   bbolt: accepted descriptors and signed
//	                               documents, so a restart serves the same bytes
//	Logging.File                   the log (default standard error)
//
// `dirauth -f FILE -g` generates the keys (refusing to overwrite) and
// prints the identity public key as the nodes' [PKI.Nonvoting] PublicKey.
// SIGTERM or SIGINT stops accepting, ends the sessions and exits; SIGHUP
// reopens the log file.
//
// # SECURITY
//
// The authority is the network's root of trust: whoever holds identity.key
// decides the topology. It holds its private keys in memory (it has no
// keyd: it runs apart from any mix) and should run on its own host or at
// least its own user. It parses only bounded input from the network: the
// link layer bounds every command (Limits), descriptors are decoded
// strictly and verified before they are stored, at most
// Authority.MaxConnections sessions run at once, each for at most 64
// commands and IdleTimeout between them. Nothing a client sends is logged
// above DEBUG; accepted and refused descriptors are logged at INFO with the
// node's id, which is public. It never signs anything but its own documents
// and link certificates, each under its own domain-separation context.
package authority
