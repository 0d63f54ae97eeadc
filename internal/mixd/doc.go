// Package mixd is the network-facing daemon of a mix node or a Provider: it
// receives Sphinx packets over authenticated links, strips one layer, holds
// each packet for the delay its sender chose and forwards it to the next
// layer; a Provider also serves its clients and delivers what ends at it.
// It holds no long-term private key.
//
// # Synopsis
//
//	mixd -f FILE
//
// # Description
//
// mixd reads the node's configuration (docs/spec/mix-server.md; [Server],
// [PKI], [Logging], [Management], [Debug], [Privsep], and on a Provider
// [Provider]) and then:
//
//  1. connects to keyd (Privsep.KeydSocket, ipc/keyproto) and loads the
//     node's public keys; the link key's private operations are keyd calls
//     (keyproto.Client.LinkKey), and descriptors are signed by keyd;
//
//  2. loads the Sphinx keys of the current epochs from keyd into locked
//     memory with one replay filter each (sphinxkeys);
//
//  3. on a Provider, connects to spoold (Privsep.SpooldSocket,
//     ipc/spoolproto): the user database and the spool;
//
//  4. binds Server.BindAddresses, or Server.Addresses when there are none
//     (tcp://, tcp4://, tcp6://; QUIC (http://) is not implemented and is
//     skipped with a warning), and advertises Server.Addresses (and on a
//     Provider [Provider] AltAddresses too), then opens the management
//     socket (below);
//
//  5. takes part in the PKI (pkiclient): posts its descriptor, signed by
//     keyd, for the coming epochs (a Provider's with Provider = true and its
//     running Kaetzchen services) and fetches and verifies the documents
//     with PKI.Nonvoting.PublicKey, retrying with backoff;
//
//  6. once it has a document listing it, starts the pipeline and tells
//     systemd it is ready:
//
//     incoming links (previous layer only)
//     -> Debug.NumSphinxWorkers crypto workers (Debug.UnwrapDelay; unwrap;
//     replay filter; routing decision)
//     -> scheduler (the packet's delay; Debug.SchedulerQueueSize,
//     SchedulerMaxBurst, SchedulerSlack, SchedulerExternalMemoryQueue)
//     -> per-peer send queues (Debug.SendSlack)
//     -> outgoing links (next layer; Debug.ConnectTimeout,
//     HandshakeTimeout; re-checked every Debug.ReauthInterval)
//
// Every dropped packet is counted by reason (package drops). The counts are
// logged at NOTICE, as `packet counters: counters="received=N forwarded=N
// reason=N ..."`, every minute when they changed, on SIGUSR1, and at exit.
//
// # Provider mode
//
// With Server.IsProvider, mixd is a Provider (docs/spec/client.md), driving
// internal/provider, and a Provider node runs keyd, spoold and mixd:
//
//   - links: it accepts links from the last mix layer and from its clients,
//     and keeps outgoing links to Layers[0]. An initiator is first checked
//     as a node (its NodeID blob and descriptor link key); failing that, as
//     a client (its blob is a user name and spoold maps it to the link key
//     it proved, or [Provider] TrustOnFirstUse / EnableEphemeralClients
//     create it). Every incoming link uses the client link limits (§2.4);
//   - client sessions (package clientlink): SendPacket is rate-limited per
//     user (the document's SendRatePerMinute, or SEND_RATE / SEND_BURST) and
//     enters the crypto workers as a client packet: the Provider is hop 0,
//     so it must go on to a node of Layers[0]; RetrieveMessage is served
//     stop-and-wait from the spool (§8); GetConsensus relays the signed
//     document mixd holds for the epoch (Ok), or NotFound / Gone (§3.2);
//   - packets from the last layer must end here: after the replay check
//     they go to the Provider's delivery (user messages and SURB replies to
//     spoold, then the SURB-ACK; Kaetzchen requests to echo / keyserver);
//   - SURB-ACKs and Kaetzchen replies enter the scheduler for their first
//     hop, which must be in Layers[0], at receipt + the terminal delay;
//   - with Debug.SendDecoyTraffic, decoy loops (package decoy,
//     docs/spec/decoy.md): at Poisson times (the document's LambdaM, else
//     one per 10 s on average) a packet through one mix per layer to a
//     Provider's echo service, whose SURB returns through the layers to
//     this Provider. The Provider builds it without unwrapping hop 0 and
//     schedules it for its mix of Layers[0] after hop 0's delay, as it
//     does its SURB-ACKs. A loop's reply is consumed before delivery
//     (recipient "+decoy" and a SURB id of a loop in flight); loops not
//     back by their path delays + Debug.DecoySlack count as lost. On a
//     mix the option is ignored, with a NOTICE when the pipeline starts.
//
// Dropped packets are counted by reason in two sets: mixd's (package drops,
// including client_terminal and provider_not_terminal for packets that
// break the stratified route) and the Provider's (provider.Reason).
//
// # The management socket
//
// Unless Management.Disable, mixd serves the operator's management socket
// at Management.Path (default DataDir/management_sock; internal/management,
// docs/management.md; mixctl is its client), also on a mix. It is mode 0600,
// or 0660 with group Privsep.AdminGroup, or taken from systemd socket
// activation. The user commands (ADD_USER, UPDATE_USER, REMOVE_USER,
// SET_USER_IDENTITY, REMOVE_USER_IDENTITY, USER_IDENTITY) are spoold calls;
// SEND_RATE, SEND_BURST, START_KAETZCHEN and STOP_KAETZCHEN go to the
// Provider (an error until the first document started it); on a mix all of
// these answer 502. SHUTDOWN shuts down exactly as SIGTERM does. STATS
// shows the sections drops (received, forwarded, delivered, every drop
// reason), queues (crypto workers, scheduler, send queues, Provider
// queues), links (each outgoing link up or down, incoming node links,
// client sessions), epoch, replay (each Sphinx key's filter), runtime,
// on a Provider provider and provider_drops, and decoy (the decoy loops
// sent, returned, lost, outstanding, skipped by reason and their round-trip
// times; enabled=false where none run); the server adds management.
//
// # User, files and sockets
//
// In production mixd runs as its own user (Privsep.MixdUser, e.g.
// splitmix-mixd), the only uid keyd accepts. It owns:
//
//   - DataDir/replay/epoch-N: the replay filter of epoch N's Sphinx key
//     (mapped MAP_SHARED, survives a crash; deleted when the key expires);
//   - DataDir/scheduler/scheduler-queue.db: the disk-backed scheduler queue
//     when Debug.SchedulerExternalMemoryQueue is set;
//   - the TCP listeners of Server.BindAddresses / Server.Addresses;
//   - the management socket, Management.Path.
//
// It dials Privsep.KeydSocket (keyd), on a Provider Privsep.SpooldSocket
// (spoold), the directory authority (PKI.Nonvoting.Address) and the next
// layer's nodes.
//
// # Messages accepted from whom
//
// On its listeners, link handshakes from nodes that a current PKI document
// places in the previous layer (layer 0: the Providers; the Providers: the
// last layer), authenticated by the link key of their signed descriptor;
// after the handshake only SendPacket, NoOp and Disconnect. On a Provider
// also from its clients (user name blob, link key from spoold), who may send
// SendPacket, RetrieveMessage, GetConsensus, NoOp and Disconnect.
//
// On the management socket, the commands above from its owner (mixd's uid)
// and members of Privsep.AdminGroup, by kernel-reported credentials. Nothing
// else is served.
//
// # Signals and shutdown
//
// SIGHUP reopens the log file; SIGUSR1 logs the packet counters. The first
// SIGTERM or SIGINT, or SHUTDOWN on the management socket, shuts down
// gracefully, in this order (Close, the reverse of construction):
//
//  1. close the management socket; stop posting descriptors (stop
//     advertising for future epochs);
//  2. stop accepting connections and close the incoming links (nodes and
//     clients): no new packets;
//  3. let the crypto workers finish what is queued for them; stop sending
//     decoy loops and forget the ones in flight;
//  4. on a Provider, let its workers finish their spoold calls (bounded),
//     their SURB-ACKs and replies going into the scheduler;
//  5. stop the scheduler; what it still holds is counted as shutting_down
//     (a disk queue keeps it for the next start instead);
//  6. close the outgoing links, counting what is still in their queues;
//  7. stop the PKI client and key rotation;
//  8. wipe the Sphinx keys and close the replay filters (kept on disk);
//  9. close the spoold and keyd connections, log the final counters, close
//     the log.
//
// A second SIGTERM exits at once.
//
// SECURITY: mixd never holds the identity or link private key: keyd signs
// its descriptors and performs the static half of every link handshake.
// Sphinx private keys live only in mlocked, undumpable memory
// (internal/secmem) and are wiped when they expire. Links are admitted only
// for the PKI's previous layer with the exact link key of the node's signed
// descriptor; clients only with the link key spoold holds for their name,
// compared in constant time, and re-checked every Debug.ReauthInterval.
// mixd never opens the user database or the spool: spoold does. Every queue
// is bounded. Nothing that identifies a packet, a user or a route is logged
// above DEBUG; node links are logged with peer names at INFO, client links
// and their addresses only at DEBUG. cmd/mixd must not link internal/keyd or internal/keys/memkey
// (internal/boundary).
package mixd
