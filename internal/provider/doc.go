// Package provider is the Provider side of the client protocol
// (docs/spec/client.md) as a library that mixd's Provider mode drives: it
// authorises client links, rate-limits what clients send, delivers packets
// that end here into users' spools (through spoold), answers SURB-ACKs,
// serves retrieval with the stop-and-wait protocol, and runs the built-in
// Kaetzchen services echo and keyserver. It owns no socket and no key: mixd
// holds the links and the Sphinx keys, spoold the user database and spool.
//
// # Wiring into mixd
//
//   - Client link handshakes: Provider.Authorize is the responder's
//     Authorize callback for client links (authentication blob = user name,
//     docs/spec/client.md §2.3). It applies TrustOnFirstUse and
//     EnableEphemeralClients.
//   - Client sessions: Provider.NewSession after the handshake, Session.Close
//     when the link ends. SendPacket: Session.AllowSend(now), and if true the
//     packet enters the crypto workers like any other (this Provider is hop
//     0). RetrieveMessage: Session.RetrieveMessage, whose Message,
//     MessageACK or MessageEmpty mixd sends back.
//   - Packets that end here: the crypto worker, after the replay check, calls
//     Provider.Deliver with the terminal sphinx.UnwrapResult.
//   - Packets leaving: SURB-ACKs and Kaetzchen replies come out of
//     Config.Send as Outgoing values, which mixd pushes into its scheduler
//     for the SURB's first hop.
//   - Management: SetSendRate, SetSendBurst, StartKaetzchen, StopKaetzchen
//     have the management Backend's signatures; Stats feeds STATS; Services
//     the descriptor's Kaetzchen field; SetDocumentRate follows each new PKI
//     document's SendRatePerMinute.
//
// # Pipeline
//
//	Deliver -> delivery queue (bounded) -> Debug.NumProviderWorkers workers:
//	  Debug.ProviderDelay check, spoold StoreMessage, then the SURB-ACK
//	Deliver -> Kaetzchen queue (bounded) -> Debug.NumKaetzchenWorkers workers:
//	  Debug.KaetzchenDelay check, service, reply through the SURB
//
// A SURB reply for a local user (an ACK or a Kaetzchen reply for one of our
// clients) is spooled as an ACK entry with its SURB id (§8.1). Every packet
// that is not delivered is counted by Reason (Stats).
//
// # Rate limits
//
// Each user has one token bucket (golang.org/x/time/rate), shared by its
// sessions: the rate is the PKI document's SendRatePerMinute unless the
// operator set SEND_RATE, the burst DefaultSendBurst unless SEND_BURST set
// it; either set to 0, or Debug.DisableRateLimit, removes the limit. Changes
// apply to connected users at once. A user's bucket is forgotten when its
// last session closes.
//
// # Ephemeral clients
//
// With EnableEphemeralClients an unknown user is created on first contact
// and purged (user, identity key, spool) once gone: no session for
// EphemeralIdle (one epoch) and an empty spool, or no session for four such
// periods whatever its spool holds. See purge.go.
//
// spoold records which users were created ephemeral, in the same commit as
// the user (AddEphemeralIfAbsent), so they are purged across a restart or a
// crash of mixd: when the Provider starts, its purge loop lists them
// (ListEphemeral, retried at every purge tick while spoold is unreachable)
// and adopts each one it does not already know as an ephemeral user with no
// session, last seen at the adoption. One that reconnects is an ephemeral
// user like any other; one that does not is purged EphemeralIdle (or four
// periods, if its spool is not empty) after the restart. Adopted users count
// toward MaxEphemeralClients and are adopted even beyond it (new ones are
// then refused until enough are purged), up to a hard limit of 16 times the
// larger of it and its default, which only a broken spoold reaches; how
// many were adopted is logged once at NOTICE. Users that the operator added
// (ADD_USER), or that trust on first use created, are never ephemeral.
//
// SECURITY: nothing that names a user, a message or a route is logged above
// DEBUG. Every queue is bounded and never blocks the caller. Link keys are
// compared by spoold in constant time. Payloads are copied out of mixd's
// packet buffers before Deliver returns. A SURB-ACK is sent only after spoold
// confirmed that the message is on stable storage (docs/spec/client.md §7.1).
package provider
