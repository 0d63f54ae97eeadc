// Package mixd is the network-facing daemon of a mix node: it receives Sphinx
// packets over authenticated links, strips one layer, holds each packet for
// the delay its sender chose and forwards it to the next layer. It holds no
// long-term private key.
//
// # Synopsis
//
//	mixd -f FILE
//
// # Description
//
// mixd reads the node's configuration (docs/spec/mix-server.md; [Server],
// [PKI], [Logging], [Debug], [Privsep]) and then:
//
//  1. connects to keyd (Privsep.KeydSocket, ipc/keyproto) and loads the
//     node's public keys; the link key's private operations are keyd calls
//     (keyproto.Client.LinkKey), and descriptors are signed by keyd;
//
//  2. loads the Sphinx keys of the current epochs from keyd into locked
//     memory with one replay filter each (sphinxkeys);
//
//  3. binds Server.BindAddresses, or Server.Addresses when there are none
//     (tcp://, tcp4://, tcp6://; QUIC (http://) is not implemented and is
//     skipped with a warning), and advertises Server.Addresses;
//
//  4. takes part in the PKI (pkiclient): posts its descriptor, signed by
//     keyd, for the coming epochs and fetches and verifies the documents
//     with PKI.Nonvoting.PublicKey, retrying with backoff;
//
//  5. once it has a document listing it, starts the pipeline and tells
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
// A Provider's duties (clients, spool, Kaetzchen) are not part of mixd yet:
// a configuration with Server.IsProvider = true is refused.
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
//   - the TCP listeners of Server.BindAddresses / Server.Addresses.
//
// It dials Privsep.KeydSocket (keyd), the directory authority
// (PKI.Nonvoting.Address) and the next layer's nodes.
//
// # Messages accepted from whom
//
// On its listeners, link handshakes from nodes that a current PKI document
// places in the previous layer (layer 0: the Providers; the Providers: the
// last layer), authenticated by the link key of their signed descriptor;
// after the handshake only SendPacket, NoOp and Disconnect. Nothing else is
// served.
//
// # Signals and shutdown
//
// SIGHUP reopens the log file; SIGUSR1 logs the packet counters. The first
// SIGTERM or SIGINT shuts down gracefully, in this order (Close, the
// reverse of construction):
//
//  1. stop posting descriptors (stop advertising for future epochs);
//  2. stop accepting connections and close the incoming links: no new
//     packets;
//  3. let the crypto workers finish what is queued for them;
//  4. stop the scheduler; what it still holds is counted as shutting_down
//     (a disk queue keeps it for the next start instead);
//  5. close the outgoing links, counting what is still in their queues;
//  6. stop the PKI client and key rotation;
//  7. wipe the Sphinx keys and close the replay filters (kept on disk);
//  8. close the keyd connection, log the final counters, close the log.
//
// A second SIGTERM exits at once.
//
// SECURITY: mixd never holds the identity or link private key: keyd signs
// its descriptors and performs the static half of every link handshake.
// Sphinx private keys live only in mlocked, undumpable memory
// (internal/secmem) and are wiped when they expire. Links are admitted only
// for the PKI's previous layer with the exact link key of the node's signed
// descriptor. Every queue is bounded. Nothing that identifies a packet, a
// user or a route is logged above DEBUG; links are logged with peer names at
// INFO. cmd/mixd must not link internal/keyd or internal/keys/memkey
// (internal/boundary).
package mixd
